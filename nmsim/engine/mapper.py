"""The mapper: DRAM-level tile sizes and loop order of one GEMM under the on-chip capacities.

The output is blocked into Mb×Nb tiles; K passes through the array in chunks of ``kb`` compacted
rows (one fold's rows; fewer when a sparse layer runs the dense layer's schedule). Three loop orders
decide which operand is re-read from DRAM:

=====  =========================================  =====================================  ==========================
order  name                                       DRAM bytes                             on-chip footprint
=====  =========================================  =====================================  ==========================
0      output-stationary (K innermost)            A·⌈N/Nb⌉ + W·⌈M/Mb⌉ + O                A Mb×kb′, W kb×Nb, psum Mb×Nb
1      weight-block-stationary (M innermost)      A·⌈N/Nb⌉ + W + O                       A 1×kb′, W K′×Nb, psum 1×Nb
2      activation-block-stationary (N innermost)  A + W·⌈M/Mb⌉ + O                       A Mb×K, W kb×1, psum Mb×1
=====  =========================================  =====================================  ==========================

(kb′: the activation columns a chunk of kb compacted rows needs, ``kb·K/K′``; W bytes include the
metadata.) Each footprint is charged to the on-chip level holding that operand; operands that share
a level share its usable capacity, less what resident tensors reserve. Candidate tile sizes per dim
(:func:`tile_candidates`): ``⌈D/j⌉`` for j = 1…12 and for every j = ⌈D/2^i⌉ — the smallest tile for
each count of tiles, so a size is never tried that a smaller one with as few tiles dominates; at
most 32 per dim, not only powers of two. DRAM bytes fall as a tile grows, so for each Mb only the
largest feasible Nb is evaluated; feasibility is monotone in both, so that Nb is found by two
pointers and the whole search is O(candidates) capacity checks per loop order (≤ 3 × 64).

Objective (``objective``): 0 latency (cycles, ties → energy), 1 energy (pJ, ties → cycles), 2 EDP
(cycles × pJ, ties → cycles); remaining ties keep the first candidate in the fixed enumeration order
(order 0, 1, 2; ascending Mb, then Nb), so the choice is deterministic. The energy compared here is
the part the tiling changes: DRAM transfers, the on-chip fills and drains they cause, and static
power over the cycles.
"""

from __future__ import annotations

import numpy as np

from nmsim.engine.folds import ceil_div
from nmsim.engine.jit import jit

MAX_CANDIDATES = 32


@jit
def tile_candidates(dim: int) -> np.ndarray:
    """Ascending tile sizes tried for a GEMM dim of ``dim`` (≤ :data:`MAX_CANDIDATES` of them)."""
    buf = np.empty(80, dtype=np.int64)
    count = 0
    for j in range(1, 13):
        if j > dim:
            break
        buf[count] = ceil_div(dim, j)
        count += 1
    b = 1
    while b < dim and count < 80:
        buf[count] = ceil_div(dim, ceil_div(dim, b))
        count += 1
        b *= 2
    srt = np.sort(buf[:count])
    vals = np.empty(count, dtype=np.int64)
    u = 0
    for i in range(count):
        if u == 0 or srt[i] != vals[u - 1]:
            vals[u] = srt[i]
            u += 1
    vals = vals[:u]
    if vals.shape[0] > MAX_CANDIDATES:  # keep the smallest sizes (the j ≤ 12 ones are the largest)
        keep = np.empty(MAX_CANDIDATES, dtype=np.int64)
        keep[: MAX_CANDIDATES - 12] = vals[: MAX_CANDIDATES - 12]
        keep[MAX_CANDIDATES - 12 :] = vals[vals.shape[0] - 12 :]
        return keep
    return vals


@jit
def _add(slot: int, need: float, n0: float, n1: float, n2: float) -> tuple[float, float, float]:
    if slot == 0:
        return n0 + need, n1, n2
    if slot == 1:
        return n0, n1 + need, n2
    return n0, n1, n2 + need


@jit
def _fits(
    fa: float, fw: float, fo: float, la: int, lw: int, lo: int, cap: tuple[float, float, float]
) -> bool:
    """Do footprints (bytes) of activations, weights, outputs fit their levels' free capacity ``cap``?

    An operand with no on-chip level (slot -1) fits only with a zero footprint.
    """
    if (la < 0 and fa > 0) or (lw < 0 and fw > 0) or (lo < 0 and fo > 0):
        return False
    n0, n1, n2 = 0.0, 0.0, 0.0
    if la >= 0:
        n0, n1, n2 = _add(la, float(fa), n0, n1, n2)
    if lw >= 0:
        n0, n1, n2 = _add(lw, float(fw), n0, n1, n2)
    if lo >= 0:
        n0, n1, n2 = _add(lo, float(fo), n0, n1, n2)
    return n0 <= cap[0] and n1 <= cap[1] and n2 <= cap[2]


@jit
def _tile_fits(
    order: int, mb: int, nb: int, k: int, kc: int, kb: int, kbd: int, elem_bytes: int, acc_bytes: int,
    meta_bits: int, a_resident: bool, la: int, lw: int, lo: int, cap: tuple[float, float, float],
) -> bool:  # fmt: skip
    """Does an Mb×Nb tile in loop ``order`` fit ``cap``? Its on-chip bytes (activations, weights with
    metadata, partial sums) are the table's in the module docstring; a resident activation operand
    takes none."""
    wcol = 8 * elem_bytes + meta_bits  # bits per compacted weight, metadata included
    if order == 0:
        fa = 0 if a_resident else mb * kbd * elem_bytes
        return _fits(fa, ceil_div(kb * nb * wcol, 8), mb * nb * acc_bytes, la, lw, lo, cap)
    if order == 1:  # the weight block K′×Nb stays, M streams row by row
        fa = 0 if a_resident else kbd * elem_bytes
        return _fits(fa, ceil_div(kc * nb * wcol, 8), nb * acc_bytes, la, lw, lo, cap)
    fa = 0 if a_resident else mb * k * elem_bytes  # the activation block Mb×K stays
    return _fits(fa, ceil_div(kb * wcol, 8), mb * acc_bytes, la, lw, lo, cap)


@jit
def every_tile_fits(
    m: int, n: int, k: int, kc: int, kb: int, kbd: int, elem_bytes: int, acc_bytes: int, meta_bits: int,
    a_resident: bool, la: int, lw: int, lo: int, cap: tuple[float, float, float],
) -> bool:  # fmt: skip
    """True when every candidate of every loop order fits ``cap``: the largest tiles (Mb = M, Nb = N,
    the largest candidates) do, and feasibility is monotone in the tile dims. Then :func:`search`'s
    answer does not depend on how much smaller ``cap`` could have been."""
    for order in range(3):
        mb = 1 if order == 1 else m
        nb = 1 if order == 2 else n
        if not _tile_fits(
            order, mb, nb, k, kc, kb, kbd, elem_bytes, acc_bytes, meta_bits, a_resident, la, lw, lo, cap
        ):
            return False
    return True


@jit
def better(objective: int, c: float, e: float, bc: float, be: float) -> bool:
    """Is (cycles ``c``, energy ``e``) strictly better than the best so far on ``objective``?"""
    if objective == 1:
        return e < be or (e == be and c < bc)
    if objective == 2:
        return c * e < bc * be or (c * e == bc * be and c < bc)
    return c < bc or (c == bc and e < be)


@jit
def search(
    m: int,
    n: int,
    k: int,
    kc: int,
    kb: int,
    kbd: int,
    elem_bytes: int,
    acc_bytes: int,
    meta_bits: int,
    la: int,
    lw: int,
    lo: int,
    cap: tuple[float, float, float],
    a_resident: bool,
    o_resident: bool,
    objective: int,
    repeat: int,
    cm: np.ndarray,
    cn: np.ndarray,
    compute: int,
    prologue: int,
    epilogue: int,
    bytes_per_cycle: float,
    e_dram_rd: float,
    e_dram_wr: float,
    e_fill_a: float,
    e_fill_w: float,
    e_drain_o: float,
    static_pj_per_cycle: float,
) -> tuple[int, int, int, int, int, int]:
    """Best (order, Mb, Nb, A bytes, W bytes, O bytes) of DRAM traffic for one of ``repeat`` GEMM copies.

    ``kb``: compacted K rows per array pass, ``kbd`` the activation columns they need; ``cap``: free bytes of each on-chip level; ``la``/``lw``/
    ``lo``: the level slot of each operand (-1: none); ``cm``/``cn``: :func:`tile_candidates` of M and N. ``compute`` cycles, ``prologue``/``epilogue``
    exposed bytes and the bandwidth turn DRAM bytes into stall cycles for the latency objective.
    """
    a = 0 if a_resident else m * k * elem_bytes
    w = kc * n * elem_bytes + ceil_div(kc * n * meta_bits, 8)
    o = 0 if o_resident else m * n * elem_bytes
    # worst case (nothing blocks): every tile of one element re-reads both operands
    best_o, best_mb, best_nb = 0, 1, 1
    best_a, best_w = a * n, w * m
    r = repeat
    bc, be = _cost((best_a + best_w + o) * r, best_a * r, best_w * r, o * r, compute, prologue, epilogue, bytes_per_cycle,
                   e_dram_rd, e_dram_wr, e_fill_a, e_fill_w, e_drain_o, static_pj_per_cycle)  # fmt: skip
    for order in range(3):
        outer = cm if order != 1 else cn
        j = cn.shape[0] - 1  # order 0: the largest feasible Nb only falls as Mb grows (two pointers)
        for i in range(outer.shape[0]):
            x = outer[i]
            if order == 0:
                while j >= 0 and not _tile_fits(
                    0, x, cn[j], k, kc, kb, kbd, elem_bytes, acc_bytes, meta_bits, a_resident, la, lw, lo, cap
                ):
                    j -= 1
                if j < 0:
                    break
                mb, nb = x, cn[j]
                ta = a * ceil_div(n, nb)
                tw = w * ceil_div(m, mb)
            elif order == 1:  # x = Nb; the weight block K′×Nb stays, M streams row by row
                if not _tile_fits(
                    1, 1, x, k, kc, kb, kbd, elem_bytes, acc_bytes, meta_bits, a_resident, la, lw, lo, cap
                ):
                    break
                mb, nb = 1, x
                ta = a * ceil_div(n, nb)
                tw = w
            else:  # x = Mb; the activation block Mb×K stays, N streams column by column
                if not _tile_fits(
                    2, x, 1, k, kc, kb, kbd, elem_bytes, acc_bytes, meta_bits, a_resident, la, lw, lo, cap
                ):
                    break
                mb, nb = x, 1
                ta = a
                tw = w * ceil_div(m, mb)
            c, e = _cost((ta + tw + o) * r, ta * r, tw * r, o * r, compute, prologue, epilogue, bytes_per_cycle,
                         e_dram_rd, e_dram_wr, e_fill_a, e_fill_w, e_drain_o, static_pj_per_cycle)  # fmt: skip
            if better(objective, c, e, bc, be):
                bc, be = c, e
                best_o, best_mb, best_nb, best_a, best_w = order, mb, nb, ta, tw
    return best_o, best_mb, best_nb, best_a, best_w, o


@jit
def stall_cycles(dram_bytes: int, prologue: int, epilogue: int, compute: int, bytes_per_cycle: float) -> int:
    """Cycles the array waits for DRAM, with double buffering: the first stationary tile (prologue)
    and the last accumulator drain (epilogue) are exposed; the rest stalls by what its transfer time
    exceeds ``compute``."""
    prologue = min(prologue, dram_bytes)
    epilogue = min(epilogue, dram_bytes - prologue)
    steady = dram_bytes - prologue - epilogue
    exposed = -(-prologue // bytes_per_cycle) + -(-epilogue // bytes_per_cycle)
    return int(exposed + max(0.0, -(-steady // bytes_per_cycle) - compute))


@jit
def _cost(
    dram: int,
    ta: int,
    tw: int,
    to: int,
    compute: int,
    prologue: int,
    epilogue: int,
    bytes_per_cycle: float,
    e_dram_rd: float,
    e_dram_wr: float,
    e_fill_a: float,
    e_fill_w: float,
    e_drain_o: float,
    static_pj_per_cycle: float,
) -> tuple[float, float]:
    """(cycles, tiling-dependent pJ) of one candidate."""
    cycles = compute + stall_cycles(dram, prologue, epilogue, compute, bytes_per_cycle)
    energy = (
        float(ta + tw) * e_dram_rd
        + float(to) * e_dram_wr
        + float(ta) * e_fill_a
        + float(tw) * e_fill_w
        + float(to) * e_drain_o
        + static_pj_per_cycle * cycles
    )
    return float(cycles), energy
