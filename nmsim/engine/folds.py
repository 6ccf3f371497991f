"""Folding a GEMM onto an R×C systolic array, and its compute cycles, per dataflow.

Each dataflow maps two GEMM dims onto the array and streams the third:

=========  ===========  ===========  ===========
dataflow   rows (Sr)    cols (Sc)    streamed (T)
=========  ===========  ===========  ===========
os         M            N            K
ws         K            N            M
is         K            M            N
=========  ===========  ===========  ===========

(K is the compacted reduction length K′ for a sparse layer.) A fold is one R×C tile of Sr×Sc.

``compat`` reproduces SCALE-Sim v3 to the cycle: folds run one after another, each
``T + R + C − 2`` cycles (os) or ``2R + C + T − 2`` (ws, is: R cycles to preload the stationary
tile), total ``folds × per_fold − 1``.

The realistic mode double-buffers the stationary operand (ws/is) or the accumulators (os): the next
fold's tile loads while the current one computes, so folds issue back to back every
``max(T, R)`` cycles and the array's fill/drain skew ``R + C − 2`` is paid once, not per fold:
``total = preload + waves × max(T, R) + R + C − 2 − 1 + mux_extra`` (preload = R for ws/is, 0 for os),
where ``waves = ⌈folds / cores⌉`` when several arrays share the folds. With one fold and T ≥ R both
modes agree.
"""

from __future__ import annotations

from nmsim.engine.jit import jit

OS, WS, IS = 0, 1, 2
DATAFLOW_CODES: dict[str, int] = {"os": OS, "ws": WS, "is": IS}


@jit
def ceil_div(a: int, b: int) -> int:
    """⌈a / b⌉ for non-negative integers."""
    return -(-a // b)


@jit
def spatial_dims(dataflow: int, m: int, n: int, k: int) -> tuple[int, int, int]:
    """(Sr, Sc, T) — the dims mapped to array rows, array columns, and streamed in time."""
    if dataflow == OS:
        return m, n, k
    if dataflow == WS:
        return k, n, m
    return k, m, n


@jit
def compute_cycles(
    dataflow: int,
    rows: int,
    cols: int,
    cores: int,
    m: int,
    n: int,
    k: int,
    repeat: int,
    compat: bool,
    mux_extra: int,
) -> tuple[int, int, int]:
    """(folds, waves, cycles) for ``repeat`` independent m×k by k×n GEMMs, no memory stalls (cycles)."""
    sr, sc, t = spatial_dims(dataflow, m, n, k)
    folds = ceil_div(sr, rows) * ceil_div(sc, cols) * repeat
    waves = ceil_div(folds, cores)
    preload = 0 if dataflow == OS else rows
    skew = rows + cols - 2
    if compat:
        return folds, waves, waves * (preload + t + skew) - 1
    return folds, waves, preload + waves * max(t, rows) + skew - 1 + mux_extra


@jit
def mapping_efficiency(dataflow: int, rows: int, cols: int, m: int, n: int, k: int) -> float:
    """Fraction of the PEs that the folds actually map work to (SCALE-Sim's 'mapping efficiency')."""
    sr, sc, _ = spatial_dims(dataflow, m, n, k)
    return (sr * sc) / (ceil_div(sr, rows) * rows * ceil_div(sc, cols) * cols)
