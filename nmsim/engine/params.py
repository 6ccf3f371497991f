"""A hardware config flattened into the engine's hardware vector (see :mod:`nmsim.engine.layout`)."""

from __future__ import annotations

import math

import numpy as np

from nmsim.dtypes import BYTES_PER_ELEMENT
from nmsim.engine.energy import scale_factor
from nmsim.engine.folds import DATAFLOW_CODES
from nmsim.engine.layout import HW_FIELDS, LEVEL_SLOTS, pack
from nmsim.engine.layout import MAX_CHAIN as LAYOUT_MAX_CHAIN
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import (
    MAX_CHAIN,
    MAX_ON_CHIP_LEVELS,
    EnergyEntry,
    HardwareConfig,
    LevelEnergy,
    MemoryLevel,
)

_CACHE: dict[tuple[int, str], tuple[HardwareConfig, np.ndarray]] = {}
_OPERAND_FIELDS = (("activations", "lvl_act"), ("weights", "lvl_w"), ("outputs", "lvl_out"))
assert MAX_CHAIN == LAYOUT_MAX_CHAIN and MAX_ON_CHIP_LEVELS == LEVEL_SLOTS


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


def _flatten(hw: HardwareConfig, dt: str) -> np.ndarray:
    if dt not in hw.energy.mac:
        have = ", ".join(hw.energy.mac)
        raise NmsimInputError("dtype", f"hardware '{hw.name}' has MAC energy only for: {have}", dt)
    en, mem, arr = hw.energy, hw.memory, hw.array

    def scaled(entry: EnergyEntry | LevelEnergy, kind: str) -> float:
        return entry.pj * scale_factor(kind, entry.node_nm, en.node_nm, en.scaling)

    def per_byte(level: MemoryLevel, entry: LevelEnergy, kind: str) -> float:
        return level.per_byte(entry) * scale_factor(kind, entry.node_nm, en.node_nm, en.scaling)

    clock_hz = arr.clock_ghz * 1e9
    values: dict[str, float] = {
        "dataflow": DATAFLOW_CODES[arr.dataflow],
        "rows": arr.rows,
        "cols": arr.cols,
        "cores": arr.cores,
        "clock_hz": clock_hz,
        "elem_bytes": BYTES_PER_ELEMENT[dt],
        "acc_bytes": math.ceil(hw.pe.accumulator_bits / 8),
        "weights_per_pe": hw.pe.weights_per_pe,
        "mux_extra": hw.sparse.mux_extra_cycles,
        "k_per_pe": arr.k_per_pe.get(dt, 1),  # type: ignore[call-overload]
        "efficiency": arr.efficiency.get(dt, 1.0),  # type: ignore[call-overload]
        "sparse_efficiency": hw.sparse.efficiency.get(dt, arr.efficiency.get(dt, 1.0)),  # type: ignore[call-overload]
        "tile_folds": arr.tile_folds,
        "overhead_cycles": arr.launch_overhead_us * 1e-6 * clock_hz,
        "sparse_overhead_cycles": hw.sparse.extra_overhead_us * 1e-6 * clock_hz,
        "tile_overhead_cycles": arr.tile_overhead_cycles,
        "split_k": arr.split_k,
        "meta_bits_per_cycle": hw.sparse.metadata_bits_per_cycle or 0.0,
        "fallback": 1.0 if hw.sparse.fallback == "auto" else 0.0,
        "e_mac": scaled(en.mac[dt], "logic"),  # type: ignore[index]
        "e_mux": scaled(en.mux_select, "logic"),
        "e_metadata_bit": scaled(en.metadata_per_bit, "sram"),
        "e_register": sum(
            scaled(e, "sram")
            for e in (hw.pe.weight_read_energy, hw.pe.psum_read_energy, hw.pe.psum_write_energy)
            if e is not None
        ),
        "static_w": en.static.watts,
    }
    chip = mem.levels[:-1]
    assert len(chip) <= LEVEL_SLOTS  # guaranteed by MemoryConfig
    for slot, level in enumerate(chip):
        copies = arr.cores if level.per_core else 1  # a per-core level: each core's ports, side by side
        values[f"cap_{slot}"] = level.usable_bytes  # one core's tile must fit one core's capacity
        values[f"rd_bw_{slot}"] = (level.read_bytes_per_cycle or 0.0) * copies
        values[f"wr_bw_{slot}"] = (level.write_bytes_per_cycle or 0.0) * copies
        values[f"e_rd_{slot}"] = per_byte(level, level.read_energy, "sram")
        values[f"e_wr_{slot}"] = per_byte(level, level.write_energy, "sram")
    for operand, name in _OPERAND_FIELDS:
        values[name] = mem.level_of(operand)
        values[f"{name}_in"] = mem.inner_level_of(operand)
    dram = mem.dram
    values["dram_bytes_per_cycle"] = mem.dram_bandwidth_gbps * 1e9 / clock_hz
    values["e_dram_read"] = per_byte(dram, dram.read_energy, "dram")
    values["e_dram_write"] = per_byte(dram, dram.write_energy, "dram")
    return pack(HW_FIELDS, values)
