"""A hardware config flattened into the plain numbers the engine takes, for one data type."""

from __future__ import annotations

from typing import NamedTuple

from nmsim.dtypes import ACCUMULATOR_BYTES, BYTES_PER_ELEMENT
from nmsim.engine.energy import EnergyCoefficients, scale_factor
from nmsim.engine.folds import DATAFLOW_CODES
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import EnergyEntry, HardwareConfig, SramBuffer


class HwParams(NamedTuple):
    """Engine view of a hardware config (cycles, bytes, pJ)."""

    dataflow: int
    rows: int
    cols: int
    cores: int
    clock_hz: float
    elem_bytes: int
    acc_bytes: int
    cap_ifmap: float  # usable bytes per buffer (half when double-buffered)
    cap_filter: float
    cap_ofmap: float
    dram_bytes_per_cycle: float
    mux_extra: int
    energy: EnergyCoefficients


def _usable(buf: SramBuffer, double_buffered: bool) -> float:
    size = buf.size_kb * 1024.0
    return size / 2.0 if double_buffered else size


_CACHE: dict[tuple[int, str], tuple[HardwareConfig, HwParams]] = {}


def hw_params(hw: HardwareConfig, dtype: str | None = None) -> HwParams:
    """Flatten ``hw`` for ``dtype`` (default: the config's ``default_dtype``); memoised per config object."""
    dt = dtype or hw.default_dtype
    key = (id(hw), dt)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is hw:
        return hit[1]
    params = _flatten(hw, dt)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (hw, params)
    return params


def _flatten(hw: HardwareConfig, dt: str) -> HwParams:
    if dt not in hw.energy.mac:
        have = ", ".join(hw.energy.mac)
        raise NmsimInputError("dtype", f"hardware '{hw.name}' has MAC energy only for: {have}", dt)
    en, mem = hw.energy, hw.memory

    def scaled(entry: EnergyEntry, kind: str) -> float:
        return entry.pj * scale_factor(kind, entry.node_nm, en.node_nm, en.scaling)

    def per_byte(entry: EnergyEntry, buf: SramBuffer) -> float:
        return scaled(entry, "sram") / buf.word_bytes

    coeffs = EnergyCoefficients(
        mac=scaled(en.mac[dt], "logic"),  # type: ignore[index]
        mux=scaled(en.mux_select, "logic"),
        metadata_bit=scaled(en.metadata_per_bit, "sram"),
        ifmap_read_byte=per_byte(en.ifmap.read, mem.ifmap),
        ifmap_write_byte=per_byte(en.ifmap.write, mem.ifmap),
        filter_read_byte=per_byte(en.filter.read, mem.filter),
        filter_write_byte=per_byte(en.filter.write, mem.filter),
        ofmap_read_byte=per_byte(en.ofmap.read, mem.ofmap),
        ofmap_write_byte=per_byte(en.ofmap.write, mem.ofmap),
        dram_byte=scaled(en.dram_per_byte, "dram"),
        static_w=en.static.watts,
    )
    clock_hz = hw.array.clock_ghz * 1e9
    return HwParams(
        dataflow=DATAFLOW_CODES[hw.array.dataflow],
        rows=hw.array.rows,
        cols=hw.array.cols,
        cores=hw.array.cores,
        clock_hz=clock_hz,
        elem_bytes=BYTES_PER_ELEMENT[dt],
        acc_bytes=ACCUMULATOR_BYTES[dt],
        cap_ifmap=_usable(mem.ifmap, mem.double_buffered),
        cap_filter=_usable(mem.filter, mem.double_buffered),
        cap_ofmap=_usable(mem.ofmap, mem.double_buffered),
        dram_bytes_per_cycle=mem.dram_bandwidth_gbps * 1e9 / clock_hz,
        mux_extra=hw.sparse.mux_extra_cycles,
        energy=coeffs,
    )
