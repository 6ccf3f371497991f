"""Per-block nonzero statistics of real weight / mask arrays (numpy + numba; no torch).

Layout. nmsim's GEMM convention is activations ``M×K`` · weights ``K×N``: an N:M group is ``m``
consecutive elements along K, i.e. *down each column* of a ``K×N`` weight matrix (``layout="kn"``,
``axis=0``). A PyTorch ``Linear`` weight is ``[out, in] = N×K`` and its groups run along each row
(``layout="nk"``, ``axis=1``). Either layout is read without a copy when the array is C- or
F-contiguous (an F-ordered ``K×N`` array is a C-ordered ``N×K`` one seen through a transpose).

Tail. When K is not a multiple of ``block``, every column ends in a *tail block* of ``K mod block``
elements. It is counted like any other block, with its own nonzero count (at most ``K mod block``):
the histogram then has ``N·⌈K/block⌉`` blocks, and :attr:`BlockStats.tail` says how long the tail is.

Tiles. For load-imbalance modelling, a tile is ``tile_k`` consecutive blocks (along K) × ``tile_n``
columns (along N); tiles are aligned at block 0 / column 0 and the edge tiles keep whatever blocks
and columns remain. ``tile_max_histogram[i]`` counts the tiles whose fullest block holds ``i``
nonzeros: a density-bound-block array that time-unrolls each tile by its worst block pays that
maximum, not the mean.

Counts are kept as uint8 when ``block < 256`` (int64 otherwise); histograms are int64.

Nonzero test: ``x != 0`` (``-0.0`` is zero, NaN is nonzero), applied to the raw bits of bool,
(u)int8/16/32/64 and float16/32/64 arrays, so every dtype runs through the same integer kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from nmsim.engine.jit import jit, jit_parallel, prange
from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import MaskStats

Layout = Literal["kn", "nk"]

# Raw-bit views: itemsize → (unsigned view dtype, bits that make the value nonzero) per dtype kind.
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _nonzero_bits(dtype: np.dtype) -> int:
    """The mask of bits whose being set makes a value nonzero (floats: all but the sign bit)."""
    bits = 8 * dtype.itemsize
    if dtype.kind == "f":
        return (1 << (bits - 1)) - 1
    return (1 << bits) - 1


# --------------------------------------------------------------------------------------------------
# Kernels. Both take the unsigned bit view ``x`` and the nonzero-bit mask ``nzbits`` of x's dtype.
# --------------------------------------------------------------------------------------------------


@jit
def _bin(vals, count, m, hist):  # pragma: no cover
    """``hist[v] += #{i < count : vals[i] == v}`` for v = 0..m, as m+1 vectorised compare-and-sum passes
    (a scatter ``hist[vals[i]] += 1`` would serialise on repeated bins, the common case for N:M)."""
    for v in range(m + 1):
        s = 0
        for i in range(count):
            s += vals[i] == v
        hist[v] += s


@jit
def _kn_tile_rows(x, nzbits, m, tile_k, tile_n, tr0, tr1, counts, tmax, hist, thist):  # pragma: no cover
    """Groups run down the columns of C-ordered ``x`` (K×N): tile rows ``tr0 ≤ tr < tr1``.

    ``counts`` (N) and ``tmax`` (tiles along N) are scratch; ``hist``/``thist`` (m+1) accumulate.
    Each block row is summed row by row into ``counts`` (contiguous, vectorised), then binned.
    """
    k_len, n_len = x.shape
    nb = (k_len + m - 1) // m
    ntn = (n_len + tile_n - 1) // tile_n
    for tr in range(tr0, tr1):
        b0 = tr * tile_k
        b1 = min(b0 + tile_k, nb)
        for t in range(ntn):
            tmax[t] = 0
        for b in range(b0, b1):
            r0 = b * m
            r1 = min(r0 + m, k_len)
            for j in range(n_len):
                counts[j] = 0
            for r in range(r0, r1):
                row = x[r]
                for j in range(n_len):
                    counts[j] += (row[j] & nzbits) != 0
            _bin(counts, n_len, m, hist)
            if tile_n == 1:
                for j in range(n_len):
                    tmax[j] = max(tmax[j], counts[j])
            else:
                for t in range(ntn):
                    j0 = t * tile_n
                    j1 = min(j0 + tile_n, n_len)
                    mx = tmax[t]
                    for j in range(j0, j1):
                        mx = max(mx, counts[j])
                    tmax[t] = mx
        _bin(tmax, ntn, m, thist)


@jit
def _bytesum32(w):  # pragma: no cover
    """Sum of the four bytes of a uint32 whose bytes are each 0 or 1."""
    v = (w & np.uint32(0x00FF00FF)) + ((w >> np.uint32(8)) & np.uint32(0x00FF00FF))
    return (v & np.uint32(0xFFFF)) + (v >> np.uint32(16))


@jit
def _bytesum64(w):  # pragma: no cover
    """Sum of the eight bytes of a uint64 whose bytes are each 0 or 1."""
    v = (w & np.uint64(0x00FF00FF00FF00FF)) + ((w >> np.uint64(8)) & np.uint64(0x00FF00FF00FF00FF))
    v = (v & np.uint64(0x0000FFFF0000FFFF)) + ((v >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF))
    return (v & np.uint64(0xFFFFFFFF)) + (v >> np.uint64(32))


@jit
def _block_sums(flags, k_len, m, bc):  # pragma: no cover
    """``bc[b]`` = sum of the 0/1 bytes ``flags[b·m : (b+1)·m]`` (tail block included).

    For m ∈ {1, 2, 4} or a multiple of 8, full blocks are summed a machine word at a time, by adding
    neighbouring byte fields in place (SWAR, no carries: each byte is 0 or 1), which vectorises.
    """
    nfull = k_len // m
    if m == 1:
        for b in range(nfull):
            bc[b] = flags[b]
    elif m == 2:
        w2 = flags[: 2 * nfull].view(np.uint16)
        for b in range(nfull):
            bc[b] = (w2[b] & np.uint16(0xFF)) + (w2[b] >> np.uint16(8))
    elif m == 4:
        w4 = flags[: 4 * nfull].view(np.uint32)
        for b in range(nfull):
            bc[b] = _bytesum32(w4[b])
    elif m % 8 == 0:
        w8 = flags[: m * nfull].view(np.uint64)
        q = m // 8
        if q == 1:
            for b in range(nfull):
                bc[b] = _bytesum64(w8[b])
        else:
            for b in range(nfull):
                s = np.uint64(0)
                for i in range(b * q, b * q + q):
                    s += _bytesum64(w8[i])
                bc[b] = s
    else:
        for b in range(nfull):
            s = 0
            for r in range(b * m, b * m + m):
                s += flags[r]
            bc[b] = s
    if nfull * m < k_len:
        s = 0
        for r in range(nfull * m, k_len):
            s += flags[r]
        bc[nfull] = s


@jit
def _nk_tile_cols(x, nzbits, m, tile_k, tile_n, tc0, tc1, flags, bc, tmax, hist, thist):  # pragma: no cover
    """Groups run along the rows of C-ordered ``x`` (N×K): tile columns ``tc0 ≤ tc < tc1``.

    ``flags`` (K), ``bc`` (blocks per row) and ``tmax`` (tiles along K) are scratch. Each row's
    nonzero flags are found in one vectorised pass, summed per block, then binned.
    """
    n_len, k_len = x.shape
    nb = (k_len + m - 1) // m
    ntk = (nb + tile_k - 1) // tile_k
    for tc in range(tc0, tc1):
        j0 = tc * tile_n
        j1 = min(j0 + tile_n, n_len)
        for t in range(ntk):
            tmax[t] = 0
        for j in range(j0, j1):
            row = x[j]
            for r in range(k_len):
                flags[r] = (row[r] & nzbits) != 0
            _block_sums(flags, k_len, m, bc)
            _bin(bc, nb, m, hist)
            if tile_k == 1:
                for b in range(nb):
                    tmax[b] = max(tmax[b], bc[b])
            else:
                for t in range(ntk):
                    b0 = t * tile_k
                    b1 = min(b0 + tile_k, nb)
                    mx = tmax[t]
                    for b in range(b0, b1):
                        mx = max(mx, bc[b])
                    tmax[t] = mx
        _bin(tmax, ntk, m, thist)


@jit
def _kn_serial(x, nzbits, m, tile_k, tile_n, count_dtype_probe):  # pragma: no cover
    k_len, n_len = x.shape
    nb = (k_len + m - 1) // m
    ntr = (nb + tile_k - 1) // tile_k
    ntn = (n_len + tile_n - 1) // tile_n
    counts = np.zeros(n_len, dtype=count_dtype_probe.dtype)
    tmax = np.zeros(ntn, dtype=count_dtype_probe.dtype)
    hist = np.zeros(m + 1, dtype=np.int64)
    thist = np.zeros(m + 1, dtype=np.int64)
    _kn_tile_rows(x, nzbits, m, tile_k, tile_n, 0, ntr, counts, tmax, hist, thist)
    return hist, thist


@jit
def _nk_serial(x, nzbits, m, tile_k, tile_n, count_dtype_probe):  # pragma: no cover
    n_len, k_len = x.shape
    nb = (k_len + m - 1) // m
    ntk = (nb + tile_k - 1) // tile_k
    ntc = (n_len + tile_n - 1) // tile_n
    flags = np.zeros(k_len, dtype=np.uint8)
    bc = np.zeros(nb, dtype=count_dtype_probe.dtype)
    tmax = np.zeros(ntk, dtype=count_dtype_probe.dtype)
    hist = np.zeros(m + 1, dtype=np.int64)
    thist = np.zeros(m + 1, dtype=np.int64)
    _nk_tile_cols(x, nzbits, m, tile_k, tile_n, 0, ntc, flags, bc, tmax, hist, thist)
    return hist, thist


@jit_parallel
def _kn_parallel(x, nzbits, m, tile_k, tile_n, chunks, count_dtype_probe):  # pragma: no cover
    k_len, n_len = x.shape
    nb = (k_len + m - 1) // m
    ntr = (nb + tile_k - 1) // tile_k
    ntn = (n_len + tile_n - 1) // tile_n
    hists = np.zeros((chunks, m + 1), dtype=np.int64)
    thists = np.zeros((chunks, m + 1), dtype=np.int64)
    for c in prange(chunks):
        counts = np.zeros(n_len, dtype=count_dtype_probe.dtype)
        tmax = np.zeros(ntn, dtype=count_dtype_probe.dtype)
        tr0 = c * ntr // chunks
        tr1 = (c + 1) * ntr // chunks
        _kn_tile_rows(x, nzbits, m, tile_k, tile_n, tr0, tr1, counts, tmax, hists[c], thists[c])
    return hists.sum(axis=0), thists.sum(axis=0)


@jit_parallel
def _nk_parallel(x, nzbits, m, tile_k, tile_n, chunks, count_dtype_probe):  # pragma: no cover
    n_len, k_len = x.shape
    nb = (k_len + m - 1) // m
    ntk = (nb + tile_k - 1) // tile_k
    ntc = (n_len + tile_n - 1) // tile_n
    hists = np.zeros((chunks, m + 1), dtype=np.int64)
    thists = np.zeros((chunks, m + 1), dtype=np.int64)
    for c in prange(chunks):
        flags = np.zeros(k_len, dtype=np.uint8)
        bc = np.zeros(nb, dtype=count_dtype_probe.dtype)
        tmax = np.zeros(ntk, dtype=count_dtype_probe.dtype)
        tc0 = c * ntc // chunks
        tc1 = (c + 1) * ntc // chunks
        _nk_tile_cols(x, nzbits, m, tile_k, tile_n, tc0, tc1, flags, bc, tmax, hists[c], thists[c])
    return hists.sum(axis=0), thists.sum(axis=0)


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BlockStats:
    """Nonzero statistics of one weight matrix, in GEMM terms (K = reduction, N = output columns).

    ``histogram[i]``: blocks (``block`` consecutive K-elements of one column; the tail block
    included) holding ``i`` nonzeros. ``tile_max_histogram[i]``: tiles of ``tile_k`` blocks ×
    ``tile_n`` columns whose fullest block holds ``i`` nonzeros. Both have ``block + 1`` entries.
    """

    block: int
    k: int
    n: int
    tile_k: int
    tile_n: int
    histogram: np.ndarray
    tile_max_histogram: np.ndarray

    @property
    def tail(self) -> int:
        """Length of each column's last, short block (0 when ``block`` divides K)."""
        return self.k % self.block

    @property
    def blocks(self) -> int:
        """Number of blocks, ``N·⌈K/block⌉``."""
        return int(self.histogram.sum())

    @property
    def tiles(self) -> int:
        """Number of tiles, ``⌈⌈K/block⌉/tile_k⌉·⌈N/tile_n⌉``."""
        return int(self.tile_max_histogram.sum())

    @property
    def nonzeros(self) -> int:
        """Total nonzero weights (exact, tail included)."""
        return int(np.dot(np.arange(self.block + 1), self.histogram))

    @property
    def density(self) -> float:
        """Fraction of nonzero weights over the K×N elements (exact, tail included)."""
        return self.nonzeros / (self.k * self.n)

    @property
    def max_nonzeros(self) -> int:
        """Nonzeros in the fullest block: the matrix is exactly ``max_nonzeros:block`` (tail aside)."""
        return int(np.flatnonzero(self.histogram)[-1])

    def to_mask_stats(self) -> MaskStats:
        """The trace schema's ``MaskStats(block, histogram)`` (see :func:`to_mask_stats`)."""
        return to_mask_stats(self)


def to_mask_stats(stats: BlockStats | np.ndarray, block: int | None = None) -> MaskStats:
    """A block histogram (a :class:`BlockStats`, or an array of ``block + 1`` counts) → ``MaskStats``.

    With a tail block the trace's ``MaskStats.density`` (which assumes full blocks) reads slightly
    low; :attr:`BlockStats.density` is exact.
    """
    if isinstance(stats, BlockStats):
        hist, block = stats.histogram, stats.block
    else:
        hist = np.asarray(stats)
        if block is None:
            block = len(hist) - 1
    return MaskStats(block=int(block), histogram=[int(c) for c in hist])


def _resolve_layout(layout: str | None, axis: int | None) -> Layout:
    by_axis: dict[int, Layout] = {0: "kn", -2: "kn", 1: "nk", -1: "nk"}
    if axis is not None and axis not in by_axis:
        raise NmsimInputError("axis", "the axis N:M groups run along: 0 (K×N weights) or 1 ([out, in])", axis)
    if layout is not None and layout not in ("kn", "nk"):
        raise NmsimInputError("layout", "'kn' (GEMM weights K×N) or 'nk' (PyTorch Linear [out, in])", layout)
    from_axis = by_axis[axis] if axis is not None else None
    if layout is not None and from_axis is not None and layout != from_axis:
        raise NmsimInputError("axis", f"contradicts layout={layout!r}", axis)
    return layout or from_axis or "kn"  # type: ignore[return-value]


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise NmsimInputError(name, "a positive integer", value)
    return int(value)


def block_stats(
    weights: np.ndarray,
    block: int,
    *,
    layout: Layout | None = None,
    axis: int | None = None,
    tile_k: int = 1,
    tile_n: int = 1,
    parallel: bool = False,
) -> BlockStats:
    """Per-block nonzero histogram and per-tile maxima of a weight or mask matrix.

    ``weights``: 2-D array (1-D: one column of K elements) of bool, (u)int8–64 or float16–64;
    ``block``: the group size ``m``; ``layout``: ``"kn"`` (default; GEMM ``K×N``, groups down each
    column) or ``"nk"`` (PyTorch ``[out, in]``, groups along each row) — or equivalently ``axis``,
    the axis the groups run along (0 or 1). ``tile_k``/``tile_n``: tile size in blocks × columns
    (default 1×1, where the tile-max histogram equals the block histogram). ``parallel``: use all
    numba threads (``NUMBA_NUM_THREADS``); the serial path runs on one core.
    """
    block = _positive("block", block)
    tile_k = _positive("tile_k", tile_k)
    tile_n = _positive("tile_n", tile_n)
    lay = _resolve_layout(layout, axis)
    arr = np.asarray(weights)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1) if lay == "kn" else arr.reshape(1, -1)
    if arr.ndim != 2 or arr.size == 0:
        raise NmsimInputError("weights", "a non-empty 2-D (or 1-D) array", getattr(arr, "shape", None))
    if arr.dtype.kind not in "biuf" or arr.dtype.itemsize not in _UNSIGNED:
        raise NmsimInputError("weights", "dtype bool, (u)int8-64 or float16-64", str(arr.dtype))
    k_len, n_len = arr.shape if lay == "kn" else arr.shape[::-1]

    # Run on the C-ordered view whose rows are either K (groups down the columns) or N (along the rows).
    gemm_kn = arr if lay == "kn" else arr.T  # logical K×N view
    if gemm_kn.flags.c_contiguous:
        x, groups_along_rows = gemm_kn, False
    elif gemm_kn.T.flags.c_contiguous:
        x, groups_along_rows = gemm_kn.T, True
    else:
        x, groups_along_rows = np.ascontiguousarray(gemm_kn), False
    nzbits_py = _nonzero_bits(arr.dtype)
    bits = x.view(_UNSIGNED[arr.dtype.itemsize])
    nzbits = bits.dtype.type(nzbits_py)
    probe = np.zeros(1, dtype=np.uint8 if block < 256 else np.int64)

    if parallel:
        import numba

        threads = max(1, numba.get_num_threads())
        units = (k_len + block - 1) // block
        units = (units + tile_k - 1) // tile_k if not groups_along_rows else (n_len + tile_n - 1) // tile_n
        chunks = max(1, min(units, 4 * threads))
        fn = _nk_parallel if groups_along_rows else _kn_parallel
        hist, thist = fn(bits, nzbits, block, tile_k, tile_n, chunks, probe)
    else:
        fn = _nk_serial if groups_along_rows else _kn_serial
        hist, thist = fn(bits, nzbits, block, tile_k, tile_n, probe)
    return BlockStats(
        block=block,
        k=int(k_len),
        n=int(n_len),
        tile_k=tile_k,
        tile_n=tile_n,
        histogram=np.asarray(hist, dtype=np.int64),
        tile_max_histogram=np.asarray(thist, dtype=np.int64),
    )


def mask_stats(
    weights: np.ndarray, block: int, *, layout: Layout | None = None, axis: int | None = None
) -> MaskStats:
    """Shortcut: :func:`block_stats` → the trace schema's ``MaskStats``."""
    return to_mask_stats(block_stats(weights, block, layout=layout, axis=axis))
