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

Many-core chips (GPUs) add two things a GEMM library does. Each wave of tiles pays
``tile_overhead`` cycles outside its K loop (prologue: the first operand slab; epilogue: the
accumulators to memory), which weighs most when K is short. And when the output tiles do not fill the
cores, the reduction is split into ``s ≤ split_k`` pieces (split-K): ``s × tiles`` tiles, each streaming
``⌈T/s⌉``, plus one more tile epilogue to reduce the partial tiles; the cheapest ``s`` is taken.
"""

from __future__ import annotations

import math

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
    tile_folds: int = 1,
    efficiency: float = 1.0,
    tile_overhead: float = 0.0,
    split_k: int = 1,
) -> tuple[int, int, int, int]:
    """(folds, waves, work, fixed) cycles for ``repeat`` m×k by k×n GEMMs, no memory stalls.

    ``k`` counts reduction steps (K′ divided by the MACs a PE does per cycle). ``work`` is the part
    that scales with the folds — divided by ``efficiency``, the achieved fraction of peak — and
    ``fixed`` the fill/drain/preload latency plus the waves' tile overheads; compute = work + fixed. Several arrays take
    tiles of ``tile_folds`` folds each, in waves (the last one partly idle); each wave pays
    ``tile_overhead`` cycles, and up to ``split_k`` pieces of K fill cores the tiles leave idle.
    """
    sr, sc, t = spatial_dims(dataflow, m, n, k)
    folds = ceil_div(sr, rows) * ceil_div(sc, cols) * repeat
    preload = 0 if dataflow == OS else rows
    skew = rows + cols - 2
    if compat:
        waves = ceil_div(folds, cores)
        return folds, waves, waves * (preload + t + skew) - 1, 0
    tiles = ceil_div(folds, tile_folds)
    waves = ceil_div(tiles, cores)
    work = math.ceil(waves * tile_folds * max(t, rows) / efficiency)
    per_tile = waves * tile_overhead  # prologue + epilogue of every wave: fixed latency, not fold work
    for s in range(2, split_k + 1):
        if tiles * s > cores or ceil_div(t, s) < rows:
            break
        w = math.ceil(tile_folds * max(ceil_div(t, s), rows) / efficiency)  # one wave of s·tiles
        if w + 2.0 * tile_overhead < work + per_tile:  # plus one epilogue reducing the partial tiles
            work, per_tile, waves = w, 2.0 * tile_overhead, 1
    return folds, waves, work, math.ceil(preload + skew - 1 + mux_extra + per_tile)


@jit
def mapping_efficiency(dataflow: int, rows: int, cols: int, m: int, n: int, k: int) -> float:
    """Fraction of the PEs that the folds actually map work to (SCALE-Sim's 'mapping efficiency')."""
    sr, sc, _ = spatial_dims(dataflow, m, n, k)
    return (sr * sc) / (ceil_div(sr, rows) * rows * ceil_div(sc, cols) * cols)
