"""A hardware config flattened into the engine's hardware vector (see :mod:`nmsim.engine.layout`)."""

from __future__ import annotations

import numpy as np

from nmsim.dtypes import ACCUMULATOR_BYTES, BYTES_PER_ELEMENT
from nmsim.engine.energy import scale_factor
from nmsim.engine.folds import DATAFLOW_CODES
from nmsim.engine.layout import HW, HW_LEN
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import EnergyEntry, HardwareConfig, SramBuffer

_CACHE: dict[tuple[int, str], tuple[HardwareConfig, np.ndarray]] = {}


def hw_vector(hw: HardwareConfig, dtype: str | None = None) -> np.ndarray:
    """Flatten ``hw`` for ``dtype`` (default: its ``default_dtype``); memoised per config object.

    The returned array is shared: treat it as read-only.
    """
    dt = dtype or hw.default_dtype
    key = (id(hw), dt)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is hw:
        return hit[1]
    vec = _flatten(hw, dt)
    vec.setflags(write=False)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (hw, vec)
    return vec


def _usable(buf: SramBuffer, double_buffered: bool) -> float:
    size = buf.size_kb * 1024.0
    return size / 2.0 if double_buffered else size


def _flatten(hw: HardwareConfig, dt: str) -> np.ndarray:
    if dt not in hw.energy.mac:
        have = ", ".join(hw.energy.mac)
        raise NmsimInputError("dtype", f"hardware '{hw.name}' has MAC energy only for: {have}", dt)
    en, mem, arr = hw.energy, hw.memory, hw.array

    def scaled(entry: EnergyEntry, kind: str) -> float:
        return entry.pj * scale_factor(kind, entry.node_nm, en.node_nm, en.scaling)

    def per_byte(entry: EnergyEntry, buf: SramBuffer) -> float:
        return scaled(entry, "sram") / buf.word_bytes

    clock_hz = arr.clock_ghz * 1e9
    values = {
        "dataflow": DATAFLOW_CODES[arr.dataflow],
        "rows": arr.rows,
        "cols": arr.cols,
        "cores": arr.cores,
        "clock_hz": clock_hz,
        "elem_bytes": BYTES_PER_ELEMENT[dt],
        "acc_bytes": ACCUMULATOR_BYTES[dt],
        "cap_ifmap": _usable(mem.ifmap, mem.double_buffered),
        "cap_filter": _usable(mem.filter, mem.double_buffered),
        "cap_ofmap": _usable(mem.ofmap, mem.double_buffered),
        "dram_bytes_per_cycle": mem.dram_bandwidth_gbps * 1e9 / clock_hz,
        "mux_extra": hw.sparse.mux_extra_cycles,
        "k_per_pe": arr.k_per_pe.get(dt, 1),  # type: ignore[call-overload]
        "efficiency": arr.efficiency.get(dt, 1.0),  # type: ignore[call-overload]
        "sparse_efficiency": hw.sparse.efficiency.get(dt, arr.efficiency.get(dt, 1.0)),  # type: ignore[call-overload]
        "tile_folds": arr.tile_folds,
        "overhead_cycles": arr.launch_overhead_us * 1e-6 * clock_hz,
        "sparse_overhead_cycles": hw.sparse.extra_overhead_us * 1e-6 * clock_hz,
        "tile_overhead_cycles": arr.tile_overhead_cycles,
        "split_k": arr.split_k,
        "e_mac": scaled(en.mac[dt], "logic"),  # type: ignore[index]
        "e_mux": scaled(en.mux_select, "logic"),
        "e_metadata_bit": scaled(en.metadata_per_bit, "sram"),
        "e_ifmap_read": per_byte(en.ifmap.read, mem.ifmap),
        "e_ifmap_write": per_byte(en.ifmap.write, mem.ifmap),
        "e_filter_read": per_byte(en.filter.read, mem.filter),
        "e_filter_write": per_byte(en.filter.write, mem.filter),
        "e_ofmap_read": per_byte(en.ofmap.read, mem.ofmap),
        "e_ofmap_write": per_byte(en.ofmap.write, mem.ofmap),
        "e_dram": scaled(en.dram_per_byte, "dram"),
        "static_w": en.static.watts,
    }
    vec = np.zeros(HW_LEN, dtype=np.float64)
    for name, value in values.items():
        vec[HW[name]] = value
    return vec
