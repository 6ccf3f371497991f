"""The mapper: tile sizes and loop order of one GEMM at every on-chip level, under their capacities.

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
metadata. A resident operand — A with ``a_resident``, W with ``w_resident`` (an activation such as
attention's k or v) — moves no DRAM bytes and takes no footprint: the planner reserves its bytes.) Each footprint is charged to the on-chip level holding that operand; operands that share
a level share its usable capacity, less what resident tensors reserve. Candidate tile sizes per dim
(:func:`tile_candidates`): ``⌈D/j⌉`` for j = 1…12 and for every j = ⌈D/2^i⌉ — the smallest tile for
each count of tiles, so a size is never tried that a smaller one with as few tiles dominates; at
most 32 per dim, not only powers of two. DRAM bytes fall as a tile grows, so for each Mb only the
largest feasible Nb is evaluated; feasibility is monotone in both, so that Nb is found by two
pointers and the whole search is O(candidates) capacity checks per loop order (≤ 3 × 64).

Objective (``objective``): 0 latency (cycles, ties → energy), 1 energy (pJ, ties → cycles), 2 EDP
(cycles × pJ, ties → cycles); remaining ties keep the first candidate in the fixed enumeration order
(order 0, 1, 2; ascending Mb, then Nb), so the choice is deterministic. The energy compared here is
the part the tiling changes: DRAM transfers, the on-chip fills and drains they cause, the fills of
inner levels and static power over the cycles.

Two on-chip levels (an operand's chain, :meth:`nmsim.schemas.hardware.MemoryConfig.chain_of`): the
table above is the outer (DRAM-level) tiling; each outer tile — a sub-GEMM Mb×Nb×K (order 0), M×Nb
(1) or Mb×N (2) — is tiled again in the same three orders under the inner levels' capacities
(operands without an inner level take no room there). The bytes moved outer → inner are the
table's with the outer tiles counted exactly (:func:`inner_fills`, :func:`nested_blocks`); they
load the outer level's read port and the inner level's write port (:func:`port_time`) and cost
read + write energy. :func:`search` is exhaustive over outer × inner candidates with an exact
bound (docs/model.md, "How the joint search is bounded"); with one on-chip level per operand it is
the one-level loop above, unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from nmsim.engine.folds import ceil_div
from nmsim.engine.jit import jit
from nmsim.engine.layout import LEVEL_SLOTS, MAP

MAX_CANDIDATES = 32
# Compile-time indices into the mapper's parameter vector (numba freezes module-level ints).
_M, _N, _K, _KC, _KB, _KBD = MAP["m"], MAP["n"], MAP["k"], MAP["kc"], MAP["kb"], MAP["kbd"]
_EB, _AB, _META, _ARES, _ORES = (
    MAP["elem_bytes"],
    MAP["acc_bytes"],
    MAP["meta_bits"],
    MAP["a_resident"],
    MAP["o_resident"],
)
_OBJ, _REP, _PORTS, _WRES = MAP["objective"], MAP["repeat"], MAP["ports"], MAP["w_resident"]
_LA, _LW, _LO, _LA_IN, _LW_IN, _LO_IN = (
    MAP["la"],
    MAP["lw"],
    MAP["lo"],
    MAP["la_in"],
    MAP["lw_in"],
    MAP["lo_in"],
)
_WORK, _FIXED, _PORT0, _PRO, _EPI, _BPC = (
    MAP["work"],
    MAP["fixed"],
    MAP["port0"],
    MAP["prologue"],
    MAP["epilogue"],
    MAP["bytes_per_cycle"],
)
_EDR, _EDW, _EFA, _EFW, _EDO = (
    MAP["e_dram_rd"],
    MAP["e_dram_wr"],
    MAP["e_fill_a"],
    MAP["e_fill_w"],
    MAP["e_drain_o"],
)
_EIA, _EIW, _STATIC = MAP["e_inner_a"], MAP["e_inner_w"], MAP["static_pj_per_cycle"]
_CAP, _NFP = MAP["cap_0"], MAP["fill_ports"]
_FPB, _FPA, _FPW, _FPS = MAP["fp_base_0"], MAP["fp_a_0"], MAP["fp_w_0"], MAP["fp_scale_0"]


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
def _fits(fa: float, fw: float, fo: float, la: int, lw: int, lo: int, cap: np.ndarray, strict: bool) -> bool:
    """Do footprints (bytes) of activations, weights, outputs fit their levels' free capacity ``cap``
    (indexed by level slot)? Operands sharing a slot add up. An operand with no level (slot -1) fits
    only with a zero footprint when ``strict`` (the DRAM-level tile); otherwise it takes no room
    there (an inner level: that operand streams from its outer level)."""
    if strict and ((la < 0 and fa > 0) or (lw < 0 and fw > 0) or (lo < 0 and fo > 0)):
        return False
    for s in (la, lw, lo):
        if s < 0:
            continue
        need = 0.0  # summed in operand order (activations, weights, outputs)
        if la == s:
            need += float(fa)
        if lw == s:
            need += float(fw)
        if lo == s:
            need += float(fo)
        if need > cap[s]:
            return False
    return True


@jit
def _tile_fits(
    order: int, mb: int, nb: int, k: int, kc: int, kb: int, kbd: int, elem_bytes: int, acc_bytes: int,
    meta_bits: int, a_resident: bool, la: int, lw: int, lo: int, cap: np.ndarray, strict: bool,
    w_resident: bool = False,
) -> bool:  # fmt: skip
    """Does an Mb×Nb tile in loop ``order`` fit ``cap``? Its on-chip bytes (activations, weights with
    metadata, partial sums) are the table's in the module docstring; a resident operand (activation
    or second operand) takes none: its bytes are the planner's reservation."""
    wcol = 8 * elem_bytes + meta_bits  # bits per compacted weight, metadata included
    if order == 0:
        fa = 0 if a_resident else mb * kbd * elem_bytes
        fw = 0 if w_resident else ceil_div(kb * nb * wcol, 8)
        return _fits(fa, fw, mb * nb * acc_bytes, la, lw, lo, cap, strict)
    if order == 1:  # the weight block K′×Nb stays, M streams row by row
        fa = 0 if a_resident else kbd * elem_bytes
        fw = 0 if w_resident else ceil_div(kc * nb * wcol, 8)
        return _fits(fa, fw, nb * acc_bytes, la, lw, lo, cap, strict)
    fa = 0 if a_resident else mb * k * elem_bytes  # the activation block Mb×K stays
    fw = 0 if w_resident else ceil_div(kb * wcol, 8)
    return _fits(fa, fw, mb * acc_bytes, la, lw, lo, cap, strict)


@jit
def every_tile_fits(p: np.ndarray) -> bool:
    """True when every candidate of every loop order, at every level, fits the free capacities in
    ``p`` (:data:`~nmsim.engine.layout.MAP_FIELDS`): the largest tiles (Mb = M, Nb = N, the
    largest candidates) do, and feasibility is monotone in the tile dims. Then :func:`search`'s
    answer does not depend on how much smaller the capacities could have been."""
    m, n, k, kc, kb, kbd = int(p[_M]), int(p[_N]), int(p[_K]), int(p[_KC]), int(p[_KB]), int(p[_KBD])
    eb, ab, meta, a_res, w_res = int(p[_EB]), int(p[_AB]), int(p[_META]), p[_ARES] != 0.0, p[_WRES] != 0.0
    cap = p[_CAP : _CAP + LEVEL_SLOTS]
    inner = p[_LA_IN] >= 0 or p[_LW_IN] >= 0 or p[_LO_IN] >= 0
    for order in range(3):
        mb = 1 if order == 1 else m
        nb = 1 if order == 2 else n
        if not _tile_fits(
            order,
            mb,
            nb,
            k,
            kc,
            kb,
            kbd,
            eb,
            ab,
            meta,
            a_res,
            int(p[_LA]),
            int(p[_LW]),
            int(p[_LO]),
            cap,
            True,
            w_res,
        ):
            return False
        if inner and not _tile_fits(
            order, mb, nb, k, kc, kb, kbd, eb, ab, meta, False, int(p[_LA_IN]), int(p[_LW_IN]), int(p[_LO_IN]),
            cap, False,
        ):  # fmt: skip
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
def wins(objective: int, c: float, e: float, idx: int, bc: float, be: float, bidx: int) -> bool:
    """Does candidate (``c`` cycles, ``e`` pJ, enumeration index ``idx``) beat the best so far:
    :func:`better`, or equal on both with an earlier index (the fixed tie-break)?"""
    return better(objective, c, e, bc, be) or (c == bc and e == be and idx < bidx)


@jit
def nested_blocks(d: int, outer: int, inner: int) -> int:
    """Inner tiles of size ``inner`` when a dim of ``d`` is cut into outer tiles of ``outer``, each
    cut into inner tiles (the last of each partial): ``⌊d/outer⌋·⌈outer/inner⌉ + ⌈(d mod outer)/inner⌉``."""
    return (d // outer) * ceil_div(outer, inner) + ceil_div(d % outer, inner)


@jit
def inner_fills(
    p: np.ndarray, q: int, mb2: int, nb2: int, bm: int, bn: int, a_full: int, w_full: int
) -> tuple[int, int]:
    """(activation, weight) bytes one GEMM copy moves from the outer on-chip levels into the inner
    ones when every outer tile (``bm`` rows of M × ``bn`` columns of N, the whole K) is tiled in
    loop order ``q`` with ``mb2``×``nb2`` tiles. An operand with no inner level moves nothing."""
    fa, fw = 0, 0
    if p[_LA_IN] >= 0:
        reuse = nested_blocks(int(p[_N]), bn, nb2) if q != 2 else ceil_div(int(p[_N]), bn)
        fa = a_full * reuse
    if p[_LW_IN] >= 0:
        reuse = nested_blocks(int(p[_M]), bm, mb2) if q != 1 else ceil_div(int(p[_M]), bm)
        fw = w_full * reuse
    return fa, fw


@jit
def port_time(p: np.ndarray, fa: int, fw: int) -> float:
    """Cycles (unrounded) the busiest on-chip port (or the metadata path) needs for ``repeat`` copies
    when ``fa``/``fw`` activation/weight bytes per copy also move outer → inner level: a level's read
    port carries the array's reads and the fills it feeds inward, its write port the fills into it
    and the outputs written into it (the ``fp_*`` entries of ``p``). 0 in compat mode."""
    port = p[_PORT0]
    if fa == 0 and fw == 0:
        return port
    for i in range(int(p[_NFP])):
        t = (p[_FPB + i] + p[_FPA + i] * fa + p[_FPW + i] * fw) * p[_FPS + i]
        if t > port:
            port = t
    return port


@jit
def _frontier(
    p: np.ndarray, cm: np.ndarray, cn: np.ndarray, la: int, lw: int, lo: int, a_resident: bool, strict: bool,
    w_resident: bool = False,
) -> tuple[np.ndarray, int, int]:  # fmt: skip
    """The tiles that fit the levels in slots ``la``/``lw``/``lo`` (``strict``: the DRAM-level tile,
    see :func:`_fits`), as the largest fitting candidate per row (feasibility is monotone in each
    tile dim): (for each M candidate i, the largest N candidate index that fits in order 0, -1 from
    the first M that fits none; the largest N index of order 1; the largest M index of order 2;
    -1: none fits). Two pointers: O(candidates) capacity checks."""
    k, kc, kb, kbd = int(p[_K]), int(p[_KC]), int(p[_KB]), int(p[_KBD])
    eb, ab, meta = int(p[_EB]), int(p[_AB]), int(p[_META])
    cap = p[_CAP : _CAP + LEVEL_SLOTS]
    f0 = np.full(cm.shape[0], -1, dtype=np.int64)
    j = cn.shape[0] - 1
    for i in range(cm.shape[0]):
        while j >= 0 and not _tile_fits(
            0, cm[i], cn[j], k, kc, kb, kbd, eb, ab, meta, a_resident, la, lw, lo, cap, strict, w_resident
        ):
            j -= 1
        if j < 0:
            break
        f0[i] = j
    f1 = -1
    while f1 + 1 < cn.shape[0] and _tile_fits(
        1, 1, cn[f1 + 1], k, kc, kb, kbd, eb, ab, meta, a_resident, la, lw, lo, cap, strict, w_resident
    ):
        f1 += 1
    f2 = -1
    while f2 + 1 < cm.shape[0] and _tile_fits(
        2, cm[f2 + 1], 1, k, kc, kb, kbd, eb, ab, meta, a_resident, la, lw, lo, cap, strict, w_resident
    ):
        f2 += 1
    return f0, f1, f2


@jit
def _outer_count(order: int, cm: np.ndarray, f1: int, f2: int) -> int:
    """How many rows of candidates loop ``order`` has (order 0: one per M candidate, cut at the
    first -1 of its frontier; 1: the fitting N candidates; 2: the fitting M candidates)."""
    if order == 0:
        return cm.shape[0]
    return f1 + 1 if order == 1 else f2 + 1


@jit
def _outer_tile(
    order: int, i: int, jj: int, m: int, n: int, cm: np.ndarray, cn: np.ndarray, a: int, w: int
) -> tuple[int, int, int, int, int, int]:
    """Outer tile ``i`` (order 0: Mb = cm[i], Nb = cn[jj]; 1: Nb = cn[i]; 2: Mb = cm[i]) as (rows of
    M, columns of N it spans — the whole dim for the streamed one —, the last M and N candidate
    index an inner tile may take, DRAM bytes of A and W): the module docstring's table."""
    if order == 0:
        mb, nb = cm[i], cn[jj]
        return mb, nb, i, jj, a * ceil_div(n, nb), w * ceil_div(m, mb)
    if order == 1:  # the weight block K′×Nb stays, M streams row by row
        nb = cn[i]
        return m, nb, cm.shape[0] - 1, i, a * ceil_div(n, nb), w
    mb = cm[i]  # the activation block Mb×K stays, N streams column by column
    return mb, n, i, cn.shape[0] - 1, a, w * ceil_div(m, mb)


@jit
def _fill_energy(p: np.ndarray, fa: int, fw: int) -> float:
    """pJ of moving ``fa``/``fw`` bytes per copy from the outer levels into the inner ones."""
    r = int(p[_REP])
    return float(fa * r) * p[_EIA] + float(fw * r) * p[_EIW]


@jit
def _inner_bound_table(
    p: np.ndarray, cm: np.ndarray, cn: np.ndarray, f0: np.ndarray, f1: int, f2: int, a_full: int, w_full: int
) -> tuple[np.ndarray, np.ndarray]:
    """For :func:`_inner_bound`: (compute cycles, ascending; the least fill pJ among the inner
    tilings with at most that compute) over the inner frontier, with fills
    counted without the outer blocking (``A·⌈N/nb⌉``, ``W·⌈M/mb⌉``: never more than the nested
    count, :func:`nested_blocks`), so the table serves every outer tile."""
    m, n = int(p[_M]), int(p[_N])
    has_a, has_w = p[_LA_IN] >= 0, p[_LW_IN] >= 0
    cs = np.empty(cm.shape[0] + 2)
    es = np.empty(cm.shape[0] + 2)
    count = 0
    for q in range(3):
        top = cm.shape[0] if q == 0 else 1
        for i in range(top):
            if q == 0:
                if f0[i] < 0:
                    break
                mb2, nb2 = cm[i], cn[f0[i]]
            elif q == 1:
                if f1 < 0:
                    break
                mb2, nb2 = m, cn[f1]  # weights once per outer M block: at least once
            else:
                if f2 < 0:
                    break
                mb2, nb2 = cm[f2], n  # activations at least once
            fa = a_full * ceil_div(n, nb2) if has_a else 0
            fw = w_full * ceil_div(m, mb2) if has_w else 0
            cs[count] = max(int(p[_WORK]), math.ceil(port_time(p, fa, fw))) + int(p[_FIXED])
            es[count] = _fill_energy(p, fa, fw)
            count += 1
    order = np.argsort(cs[:count], kind="mergesort")
    c_sorted = cs[:count][order]
    e_min = es[:count][order]
    for i in range(1, count):
        e_min[i] = min(e_min[i], e_min[i - 1])
    return c_sorted, e_min


@jit
def _inner_bound(
    p: np.ndarray, ta: int, tw: int, to: int, c_sorted: np.ndarray, e_min: np.ndarray
) -> tuple[float, float]:
    """A lower bound (cycles, pJ) on every inner tiling of an outer tile with DRAM bytes ``ta``/``tw``/
    ``to``: the fewest cycles any inner tiling can have (from the least compute), and with them, on
    the latency objective, the least fill energy among the tilings that reach those cycles (those
    whose compute stays under the DRAM steady-state time or the least compute: lexicographically
    no better than any tiling); on the energy and EDP objectives the least fill energy of all (no
    better than any tiling in either component)."""
    r = int(p[_REP])
    dram = (ta + tw + to) * r
    cmin = int(c_sorted[0])
    cycles = cmin + stall_cycles(dram, int(p[_PRO]), int(p[_EPI]), cmin, p[_BPC])
    steady = steady_cycles(dram, int(p[_PRO]), int(p[_EPI]), p[_BPC])
    limit = max(float(cmin), steady) if p[_OBJ] == 0 else math.inf
    i = 0
    while i + 1 < c_sorted.shape[0] and c_sorted[i + 1] <= limit:
        i += 1
    return float(cycles), _energy(p, ta, tw, to, e_min[i], cycles)


@jit
def _inner_search(
    p: np.ndarray, cm: np.ndarray, cn: np.ndarray, f0: np.ndarray, f1: int, f2: int, im: int, jn: int,
    bm: int, bn: int, ta: int, tw: int, o: int, bc: float, be: float, a_full: int, w_full: int,
    idx: int, bidx: int,
) -> tuple[bool, float, float, int, int, int, int, int, int]:  # fmt: skip
    """Best inner tiling of the outer tiles ``bm``×``bn`` (M/N candidates up to ``cm[im]``,
    ``cn[jn]``; the frontier ``f0``/``f1``/``f2`` of :func:`_frontier` for the inner levels) that beats (``bc``,
    ``be``) on the objective: (found, cycles, pJ, order, mb2, nb2, activation fill bytes, weight fill
    bytes, its index). With no feasible inner tile the worst one (1×1) is charged. Fills never grow
    with a tile dim, so for each Mb only the largest fitting Nb is tried, as at the outer level.
    ``idx``: the outer tile's place in the enumeration, ``bidx`` the best's (ties: the earlier wins)."""
    objective = int(p[_OBJ])
    found = False
    rc, re, rq, rmb, rnb, rfa, rfw, ridx = bc, be, 0, 1, 1, 0, 0, bidx
    if f0[0] < 0:  # nothing fits the inner levels: every element is refetched (the worst tiling)
        fa, fw = inner_fills(p, 0, 1, 1, bm, bn, a_full, w_full)
        c, e = _cost(p, ta, tw, o, fa, fw)
        if wins(objective, c, e, idx * 256, rc, re, ridx):
            return True, c, e, 0, 1, 1, fa, fw, idx * 256
        return False, rc, re, rq, rmb, rnb, rfa, rfw, ridx
    for q in range(3):
        top = im if q != 1 else min(f1, jn)
        if q == 2:
            top = min(f2, im)
        for i in range(top + 1):
            if q == 0:
                j = min(f0[i], jn)
                if j < 0:
                    break
                mb2, nb2 = cm[i], cn[j]
            elif q == 1:
                mb2, nb2 = 1, cn[i]
            else:
                mb2, nb2 = cm[i], 1
            fa, fw = inner_fills(p, q, mb2, nb2, bm, bn, a_full, w_full)
            c, e = _cost(p, ta, tw, o, fa, fw)
            cidx = idx * 256 + q * 64 + i
            if wins(objective, c, e, cidx, rc, re, ridx):
                found = True
                rc, re, rq, rmb, rnb, rfa, rfw, ridx = c, e, q, mb2, nb2, fa, fw, cidx
    return found, rc, re, rq, rmb, rnb, rfa, rfw, ridx


@jit
def search(
    p: np.ndarray, cm: np.ndarray, cn: np.ndarray
) -> tuple[int, int, int, int, int, int, int, int, int, int, int]:
    """Best mapping of one of ``repeat`` GEMM copies: (order, Mb, Nb, A, W, O DRAM bytes, inner order,
    inner Mb, inner Nb, A, W bytes moved outer → inner level); inner order -1 when no operand has an
    inner level.

    ``p``: :data:`~nmsim.engine.layout.MAP_FIELDS`; ``cm``/``cn``: :func:`tile_candidates` of M and N.
    Exhaustive over the outer × inner candidates in a fixed order (outer: order 0, 1, 2, ascending
    Mb, descending Nb; inner likewise), with an exact bound: an outer tile is expanded only when a
    lower bound of its cost over every inner tiling beats the best so far, and the descending Nb
    scan stops at the first that does not (its DRAM bytes, hence its bound, only grow as Nb shrinks).
    The bound: :func:`_inner_bound` (from the inner frontier's compute cycles and fill energies);
    when no inner tile fits at all, the fewest fills any inner tiling could have (the outer tile
    itself as the inner tile).
    """
    m, n, k, kc = int(p[_M]), int(p[_N]), int(p[_K]), int(p[_KC])
    eb, meta, a_resident, o_resident = int(p[_EB]), int(p[_META]), p[_ARES] != 0.0, p[_ORES] != 0.0
    objective = int(p[_OBJ])
    la, lw, lo = int(p[_LA]), int(p[_LW]), int(p[_LO])
    has_inner = p[_LA_IN] >= 0 or p[_LW_IN] >= 0 or p[_LO_IN] >= 0
    a = 0 if a_resident else m * k * eb
    w_full = kc * n * eb + ceil_div(kc * n * meta, 8)
    w = 0 if p[_WRES] != 0.0 else w_full
    o = 0 if o_resident else m * n * eb
    a_full = m * k * eb
    # worst case (nothing blocks): every tile of one element re-reads both operands, at every level
    best_o, best_mb, best_nb = 0, 1, 1
    best_a, best_w = a * n, w * m
    bq, bmb2, bnb2 = (0, 1, 1) if has_inner else (-1, 0, 0)
    bfa, bfw = inner_fills(p, 0, 1, 1, 1, 1, a_full, w_full) if has_inner else (0, 0)
    bc, be = _cost(p, best_a, best_w, o, bfa, bfw)
    w_resident = p[_WRES] != 0.0
    # the DRAM-level tiles that fit
    g0, g1, g2 = _frontier(p, cm, cn, la, lw, lo, a_resident, True, w_resident)
    if not has_inner:  # one level: the bound is the cost; for each Mb only the largest Nb can win
        for order in range(3):
            for i in range(_outer_count(order, cm, g1, g2)):
                if order == 0 and g0[i] < 0:
                    break
                mb, nb, im, jn, ta, tw = _outer_tile(order, i, g0[i] if order == 0 else 0, m, n, cm, cn, a, w)
                c, e = _cost(p, ta, tw, o, 0, 0)
                if better(objective, c, e, bc, be):
                    bc, be = c, e
                    best_o, best_mb, best_nb, best_a, best_w = order, mb, nb, ta, tw
        return _reported(best_o, best_mb, best_nb, best_a, best_w, o, bq, bmb2, bnb2, bfa, bfw)
    f0, f1, f2 = _frontier(p, cm, cn, int(p[_LA_IN]), int(p[_LW_IN]), int(p[_LO_IN]), False, False)
    tight = f0[0] >= 0
    c_sorted, e_min = p, p  # placeholders (no allocation) unless the latency bound is used
    if tight:
        c_sorted, e_min = _inner_bound_table(p, cm, cn, f0, f1, f2, a_full, w_full)
    bidx = -1  # the worst case is first in the enumeration: ties keep it
    # The most promising outer tile is expanded first, so that the full enumeration prunes against
    # a good incumbent. Ties are broken by enumeration index: the answer does not depend on the
    # visiting order.
    sel_c, sel_e, sel_idx = math.inf, math.inf, -1
    sel_o, sel_i, sel_jj = 0, 0, 0
    jn_all = cn.shape[0] - 1
    # phase 0: bound the largest outer tile of each (order, Mb); 1: expand the best of them; 2: all
    for phase in range(3):
        if phase == 1 and sel_idx < 0:
            continue
        for order in range(3):
            if phase == 1 and order != sel_o:
                continue
            for i in range(_outer_count(order, cm, g1, g2)):
                if order == 0 and g0[i] < 0:
                    break
                if phase == 1 and i != sel_i:
                    continue
                # order 0 scans Nb downwards from the largest that fits; 1 and 2 have one candidate
                jj = sel_jj if phase == 1 else (g0[i] if order == 0 else 0)
                while jj >= 0:
                    idx = order * 4096 + i * 64 + (jn_all - jj)
                    mb, nb, im, jn, ta, tw = _outer_tile(order, i, jj, m, n, cm, cn, a, w)
                    if tight:
                        c, e = _inner_bound(p, ta, tw, o, c_sorted, e_min)
                    else:  # fewest inner fills: the outer tile itself as the inner tile
                        lfa, lfw = inner_fills(p, 0, mb, nb, mb, nb, a_full, w_full)
                        c, e = _cost(p, ta, tw, o, lfa, lfw)
                    if phase == 0:
                        if wins(objective, c, e, idx, sel_c, sel_e, sel_idx):
                            sel_c, sel_e, sel_idx, sel_o, sel_i, sel_jj = c, e, idx, order, i, jj
                        break
                    if not wins(objective, c, e, idx * 256, bc, be, bidx):
                        break  # nor will any smaller Nb (more DRAM bytes, a bound at least as high)
                    ok, c, e, q, mb2, nb2, fa, fw, cidx = _inner_search(
                        p, cm, cn, f0, f1, f2, im, jn, mb, nb, ta, tw, o, bc, be, a_full, w_full, idx, bidx
                    )
                    if ok:
                        bc, be, bidx = c, e, cidx
                        best_o, best_mb, best_nb, best_a, best_w = order, mb, nb, ta, tw
                        bq, bmb2, bnb2, bfa, bfw = q, mb2, nb2, fa, fw
                    jj = jj - 1 if order == 0 and phase == 2 else -1
    return _reported(best_o, best_mb, best_nb, best_a, best_w, o, bq, bmb2, bnb2, bfa, bfw)


@jit
def _reported(
    order: int, mb: int, nb: int, ta: int, tw: int, o: int, q: int, mb2: int, nb2: int, fa: int, fw: int
) -> tuple[int, int, int, int, int, int, int, int, int, int, int]:
    """:func:`search`'s answer, with the streamed dim of orders 1 and 2 reported as 1 (row by row /
    column by column), as the module docstring's table."""
    if order == 1:
        mb = 1
    elif order == 2:
        nb = 1
    return order, mb, nb, ta, tw, o, q, mb2, nb2, fa, fw


@jit
def steady_cycles(dram_bytes: int, prologue: int, epilogue: int, bytes_per_cycle: float) -> float:
    """Cycles the DRAM transfers that overlap compute take (all but the exposed prologue/epilogue)."""
    prologue = min(prologue, dram_bytes)
    epilogue = min(epilogue, dram_bytes - prologue)
    return -(-(dram_bytes - prologue - epilogue) // bytes_per_cycle)


@jit
def stall_cycles(dram_bytes: int, prologue: int, epilogue: int, compute: int, bytes_per_cycle: float) -> int:
    """Cycles the array waits for DRAM, with double buffering: the first stationary tile (prologue)
    and the last accumulator drain (epilogue) are exposed; the rest stalls by what its transfer time
    exceeds ``compute``."""
    prologue = min(prologue, dram_bytes)
    epilogue = min(epilogue, dram_bytes - prologue)
    exposed = -(-prologue // bytes_per_cycle) + -(-epilogue // bytes_per_cycle)
    steady = steady_cycles(dram_bytes, prologue, epilogue, bytes_per_cycle)
    return int(exposed + max(0.0, steady - compute))


@jit
def _energy(p: np.ndarray, ta: int, tw: int, to: int, fill_pj: float, cycles: int) -> float:
    """Tiling-dependent pJ: DRAM transfers, the on-chip fills and drains they cause, the inner-level
    fills (``fill_pj``) and static power over ``cycles``."""
    r = int(p[_REP])
    return (
        float(ta * r + tw * r) * p[_EDR]
        + float(to * r) * p[_EDW]
        + float(ta * r) * p[_EFA]
        + float(tw * r) * p[_EFW]
        + float(to * r) * p[_EDO]
        + fill_pj
        + p[_STATIC] * cycles
    )


@jit
def _cost(p: np.ndarray, ta: int, tw: int, to: int, fa: int, fw: int) -> tuple[float, float]:
    """(cycles, tiling-dependent pJ) of one candidate: ``ta``/``tw``/``to`` DRAM bytes and ``fa``/``fw``
    bytes moved outer → inner level, per GEMM copy."""
    dram = (ta + tw + to) * int(p[_REP])
    compute = max(int(p[_WORK]), math.ceil(port_time(p, fa, fw))) + int(p[_FIXED])
    cycles = compute + stall_cycles(dram, int(p[_PRO]), int(p[_EPI]), compute, p[_BPC])
    return float(cycles), _energy(p, ta, tw, to, _fill_energy(p, fa, fw), cycles)
