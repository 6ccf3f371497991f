"""Before the engine runs: the largest counts a GEMM could produce on a config, checked against
:data:`~nmsim.limits.MAX_COUNT`, so that no cycle, MAC or byte count overflows int64 or loses
exactness in the engine's float64 results.

The schemas bound each field alone (:mod:`nmsim.limits`); this module bounds their products. The
upper bounds follow the engine's model (``docs/model.md``) with every choice at its worst: the
dataflow that folds the most, a 4-byte element, the most metadata, the lowest efficiency, every byte of
DRAM traffic exposed as stall cycles. They hold for any dataflow and mode, so a sweep over those never
needs a new check. Vectorised over layers with numpy (float64: the bounds are compared with 2**51, far
below where float64 stops being exact enough to decide).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from nmsim.errors import NmsimInputError
from nmsim.limits import MAX_COUNT, MAX_DIM, MAX_REPEAT, check_int, check_product
from nmsim.schemas.hardware import HardwareConfig

_WORST_ELEM_BYTES = 4  # fp32 elements and accumulators
_WORST_META_BITS = 12  # ceil(log2 MAX_M_IN_NM), unless the config states more


Num = TypeVar("Num", float, np.ndarray)


def _cdiv(a: Num, b: float) -> Num:
    return -(-a // b)  # ⌈a / b⌉ for floats and arrays alike


def _max(a: Num, b: Num | float) -> Num:
    return np.maximum(a, b) if isinstance(a, np.ndarray) else max(a, b)  # type: ignore[return-value]


def worst_counts(hw: HardwareConfig, m: Num, n: Num, k: Num, repeat: Num) -> tuple[Num, Num]:
    """Upper bounds of (cycles, bytes) for GEMMs ``m×k · k×n`` × ``repeat`` on ``hw`` (any dataflow, mode).

    Takes floats or float arrays (one GEMM per element). Bytes covers DRAM traffic and SRAM accesses (the
    largest of either); cycles covers compute (fold work at the lowest efficiency plus fixed latency)
    and stalls (all DRAM traffic at the DRAM rate). Both are nondecreasing in each of m, n, k and
    repeat, so the bound of the largest of each bounds every GEMM of a trace.
    """
    arr, sp = hw.array, hw.sparse
    rows, cols, cores, tf = float(arr.rows), float(arr.cols), float(arr.cores), float(arr.tile_folds)
    eff = min([*arr.efficiency.values(), *sp.efficiency.values(), 1.0])
    work = m * 0.0
    for sr, sc, t in ((m, n, k), (k, n, m), (k, m, n)):  # os, ws, is
        folds = _cdiv(sr, rows) * _cdiv(sc, cols) * repeat
        waves = _cdiv(_cdiv(folds, tf), cores)
        # compat pays the fill/drain skew on every wave: count it per wave
        per_wave = tf * (_max(t, rows) + 2 * rows + cols) / eff + arr.tile_overhead_cycles
        work = _max(work, waves * per_wave)
    clock_hz = arr.clock_ghz * 1e9
    overhead_us = arr.launch_overhead_us + sp.extra_overhead_us
    fixed = 2 * rows + cols + sp.mux_extra_cycles + overhead_us * 1e-6 * clock_hz
    eb = _WORST_ELEM_BYTES
    meta = max(_WORST_META_BITS, sp.metadata_bits_per_value or 0)
    weights = k * n * eb + _cdiv(k * n * meta, 8)
    dram = (m * k * eb * n + weights * m + m * n * eb) * repeat
    sram = (m * k * eb * n + k * n * eb * m + 2 * m * n * eb * k + m * n * eb) * repeat
    bytes_per_cycle = _dram_gbps(hw) * 1e9 / clock_hz
    stall = dram / bytes_per_cycle + 2
    return work + fixed + stall + 1, _max(dram, sram)


def _dram_gbps(hw: HardwareConfig) -> float:
    """The slowest off-chip bandwidth of ``hw`` (GB/s): what bounds stall cycles."""
    return float(hw.memory.dram_bandwidth_gbps)


def check_dims(m: object, n: object, k: object, repeat: object = 1) -> None:
    """Each dimension in range and m·n·k·repeat ≤ :data:`MAX_MACS` (one error line naming the field)."""
    for name, v in (("m", m), ("n", n), ("k", k)):
        check_int(name, v, 1, MAX_DIM)
    check_int("repeat", repeat, 1, MAX_REPEAT)
    check_product({"m": m, "n": n, "k": k, "repeat": repeat})  # type: ignore[dict-item]


def check_layers(hw: HardwareConfig, shapes: Iterable[tuple[str, int, int, int, int]]) -> None:
    """Refuse the first GEMM ``(name, m, n, k, repeat)`` whose worst-case counts on ``hw`` exceed
    :data:`MAX_COUNT`; the message names the layer, the config and the bound."""
    items = list(shapes)
    if not items:
        return
    hull = [float(max(s[i] for s in items)) for i in range(1, 5)]  # the largest m, n, k, repeat
    cycles_max, bytes_max = worst_counts(hw, *hull)
    if cycles_max <= MAX_COUNT and bytes_max <= MAX_COUNT:
        return  # the bounds grow with every dimension: no GEMM of the list can exceed them
    cols = np.array([s[1:] for s in items], dtype=np.float64)
    cycles, nbytes = worst_counts(hw, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3])
    bad = np.flatnonzero((cycles > MAX_COUNT) | (nbytes > MAX_COUNT) | ~np.isfinite(cycles))
    if bad.size:
        i = int(bad[0])
        name, m, n, k, repeat = items[i]
        what = "cycles" if not cycles[i] <= MAX_COUNT else "bytes"
        worst = cycles[i] if what == "cycles" else nbytes[i]
        raise NmsimInputError(
            f"layer '{name}' (m={m}, n={n}, k={k}, repeat={repeat}) on '{hw.name}'",
            f"could count up to {worst:.3g} {what}; nmsim counts at most 2**51 (MAX_COUNT): "
            "a smaller GEMM, a larger or faster array, or more DRAM bandwidth",
        )


def check_gemm(hw: HardwareConfig, m: int, n: int, k: int, repeat: int = 1, name: str = "gemm") -> None:
    """:func:`check_dims` then :func:`check_layers` for one GEMM."""
    if not isinstance(hw, HardwareConfig):
        raise NmsimInputError("hw", "a HardwareConfig, e.g. nmsim.load_hardware('vegeta')", type(hw).__name__)
    check_dims(m, n, k, repeat)
    check_layers(hw, [(name, m, n, k, repeat)])
