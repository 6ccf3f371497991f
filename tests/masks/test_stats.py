"""Mask statistics (nmsim.masks): block histograms and tile maxima against independent references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nmsim.errors import NmsimInputError
from nmsim.masks import BlockStats, block_stats, mask_stats, to_mask_stats
from nmsim.schemas.trace import MaskStats
from nmsim.sparsity import max_nonzeros_per_block


def ref_block_counts(kn: np.ndarray, m: int) -> np.ndarray:
    """Nonzeros per block (⌈K/m⌉ × N) by numpy's reduceat: blocks start at 0, m, 2m, … (tail short)."""
    nz = (np.asarray(kn) != 0).astype(np.int64)
    return np.add.reduceat(nz, np.arange(0, nz.shape[0], m), axis=0)


def ref_hist(kn: np.ndarray, m: int) -> np.ndarray:
    return np.bincount(ref_block_counts(kn, m).ravel(), minlength=m + 1)


def brute_tile_max_hist(kn: np.ndarray, m: int, tile_k: int, tile_n: int) -> np.ndarray:
    """Tile maxima by plain Python loops over every element."""
    k_len, n_len = kn.shape
    nb = -(-k_len // m)
    out = [0] * (m + 1)
    for t0 in range(0, nb, tile_k):
        for j0 in range(0, n_len, tile_n):
            best = 0
            for b in range(t0, min(t0 + tile_k, nb)):
                for j in range(j0, min(j0 + tile_n, n_len)):
                    count = sum(1 for r in range(b * m, min(b * m + m, k_len)) if kn[r, j] != 0)
                    best = max(best, count)
            out[best] += 1
    return np.array(out)


def nm_mask(k: int, n: int, keep: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """A hand-built keep:m mask: each column's every group of m holds exactly ``keep`` ones."""
    cols = []
    for _ in range(n):
        col = []
        for _ in range(k // m):
            group = [1] * keep + [0] * (m - keep)
            rng.shuffle(group)
            col += group
        cols.append(col)
    return np.array(cols, dtype=bool).T


# ---------------------------------------------------------------------------------------------- histograms


@settings(max_examples=60, deadline=None)
@given(
    mask=arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 12))),
    m=st.integers(1, 9),
    tile_k=st.integers(1, 4),
    tile_n=st.integers(1, 4),
)
def test_random_masks_match_numpy_reference(mask: np.ndarray, m: int, tile_k: int, tile_n: int) -> None:
    expected = ref_hist(mask, m)
    tiles = brute_tile_max_hist(mask, m, tile_k, tile_n)
    for arr, layout in ((mask, "kn"), (np.ascontiguousarray(mask.T), "nk")):
        s = block_stats(arr, m, layout=layout, tile_k=tile_k, tile_n=tile_n)
        assert s.histogram.tolist() == expected.tolist()
        assert s.tile_max_histogram.tolist() == tiles.tolist()
        assert (s.k, s.n, s.block) == (*mask.shape, m)
        assert s.nonzeros == int(mask.sum())


@settings(max_examples=25, deadline=None)
@given(
    weights=arrays(
        np.float32,
        st.tuples(st.integers(1, 70), st.integers(1, 9)),
        elements=st.sampled_from([0.0, -0.0, 1.5, -2.0, 1e-40]),
    ),
    m=st.sampled_from([2, 4, 8, 16, 3]),
)
def test_float_weights_match_reference(weights: np.ndarray, m: int) -> None:
    # 1e-40 is a float32 subnormal: nonzero. -0.0 is zero.
    assert block_stats(weights, m).histogram.tolist() == ref_hist(weights, m).tolist()


@pytest.mark.parametrize(("keep", "m"), [(2, 4), (1, 4), (1, 8), (2, 8), (4, 8), (1, 2), (3, 16), (8, 32)])
def test_hand_built_nm_masks_concentrate_at_n(keep: int, m: int) -> None:
    rng = np.random.default_rng(keep * 100 + m)
    k, n = 4 * m, 13
    mask = nm_mask(k, n, keep, m, rng)
    s = block_stats(mask, m)
    expected = [0] * (m + 1)
    expected[keep] = n * k // m
    assert s.histogram.tolist() == expected
    assert s.max_nonzeros == keep
    assert s.density == pytest.approx(keep / m)
    assert s.tail == 0
    # the torch layout of the same weights gives the same statistics
    assert block_stats(np.ascontiguousarray(mask.T), m, axis=1).histogram.tolist() == expected


@pytest.mark.parametrize(("keep", "m", "block"), [(2, 8, 4), (1, 8, 4), (2, 4, 8), (1, 4, 2), (4, 8, 4)])
def test_measured_block_never_exceeds_the_pattern_bound(keep: int, m: int, block: int) -> None:
    """A keep:m mask read at another block size stays within nmsim.sparsity's worst case."""
    rng = np.random.default_rng(7)
    mask = nm_mask(8 * m, 64, keep, m, rng)
    s = block_stats(mask, block)
    assert s.max_nonzeros <= max_nonzeros_per_block(keep, m, block)


def test_all_zero_and_dense() -> None:
    assert block_stats(np.zeros((8, 3), np.int8), 4).histogram.tolist() == [6, 0, 0, 0, 0]
    assert block_stats(np.ones((8, 3), np.float16), 4).histogram.tolist() == [0, 0, 0, 0, 6]


def test_tail_block_counts_its_own_nonzeros() -> None:
    # K = 10, block 4: blocks rows 0-3, 4-7 and the tail 8-9 (2 elements).
    col = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1, 1], dtype=bool)
    mask = np.stack([col, np.zeros(10, bool), np.ones(10, bool)], axis=1)  # K×N = 10×3
    s = block_stats(mask, 4, tile_k=2, tile_n=3)
    # column 0: 2, 3, 2 (tail); column 1: 0, 0, 0; column 2: 4, 4, 2 (tail)
    assert s.histogram.tolist() == [3, 0, 3, 1, 2]
    assert s.tail == 2 and s.blocks == 9
    assert s.nonzeros == int(mask.sum()) and s.density == pytest.approx(mask.mean())
    # tiles: blocks 0-1 × cols 0-2 → max 4; tail block × cols 0-2 → max 2
    assert s.tile_max_histogram.tolist() == [0, 0, 1, 0, 1]
    # a block longer than K is one tail block per column
    assert block_stats(mask, 16).histogram.tolist() == [1] + [0] * 6 + [1] + [0] * 2 + [1] + [0] * 6


# ---------------------------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "dtype", [np.bool_, np.int8, np.uint8, np.int16, np.float16, np.float32, np.float64, np.int64]
)
def test_dtypes_agree(dtype: type) -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((37, 19)) < 0.4
    values = np.where(mask, rng.integers(1, 5, mask.shape) * rng.choice([-1, 1], mask.shape), 0)
    expected = ref_hist(mask, 4)
    assert block_stats(values.astype(dtype), 4).histogram.tolist() == expected.tolist()
    assert block_stats(np.ascontiguousarray(values.T).astype(dtype), 4, layout="nk").histogram.tolist() == (
        expected.tolist()
    )


def test_negative_zero_is_zero_and_nan_is_nonzero() -> None:
    for dtype in (np.float16, np.float32, np.float64):
        col = np.array([-0.0, 0.0, np.nan, -np.inf], dtype=dtype).reshape(4, 1)
        assert block_stats(col, 4).histogram.tolist() == [0, 0, 1, 0, 0]
        assert block_stats(col.T.copy(), 4, layout="nk").histogram.tolist() == [0, 0, 1, 0, 0]
    tiny = np.array([np.float16(6e-8), 0, 0, 0], dtype=np.float16).reshape(4, 1)  # fp16 subnormal
    assert block_stats(tiny, 4).histogram.tolist() == [0, 1, 0, 0, 0]


# ---------------------------------------------------------------------------------------------- layouts


def test_layouts_orders_and_views() -> None:
    rng = np.random.default_rng(11)
    kn = (rng.random((24, 10)) < 0.5).astype(np.float32)
    expected = ref_hist(kn, 4).tolist()
    tiles = brute_tile_max_hist(kn, 4, 2, 3).tolist()
    variants = {
        "C kn": (kn, {"layout": "kn"}),
        "F kn": (np.asfortranarray(kn), {"layout": "kn"}),
        "C nk": (np.ascontiguousarray(kn.T), {"layout": "nk"}),
        "F nk": (np.asfortranarray(kn.T), {"axis": 1}),
        "axis -1": (np.ascontiguousarray(kn.T), {"axis": -1}),
        "axis 0": (kn, {"axis": 0}),
        "default": (kn, {}),
        "strided": (np.repeat(kn, 2, axis=1)[:, ::2], {"layout": "kn"}),
    }
    for name, (arr, kw) in variants.items():
        s = block_stats(arr, 4, tile_k=2, tile_n=3, **kw)
        assert s.histogram.tolist() == expected, name
        assert s.tile_max_histogram.tolist() == tiles, name
        assert (s.k, s.n) == (24, 10), name


def test_one_dimensional_input_is_one_column() -> None:
    v = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1], dtype=np.int8)
    assert block_stats(v, 4).histogram.tolist() == [0, 2, 0, 1, 0]
    s = block_stats(v, 4, layout="nk")
    assert s.histogram.tolist() == [0, 2, 0, 1, 0] and (s.k, s.n) == (9, 1)


# ---------------------------------------------------------------------------------------------- tile maxima


def test_tile_maxima_hand_case() -> None:
    # K×N = 8×4, block 4 → 2 block rows; tiles of 2 blocks × 2 columns → 2 tiles.
    kn = np.zeros((8, 4), dtype=bool)
    kn[0:2, 0] = True  # block (0, col 0): 2
    kn[4:8, 1] = True  # block (1, col 1): 4 (dense)
    kn[0, 2] = True  # block (0, col 2): 1
    s = block_stats(kn, 4, tile_k=2, tile_n=2)
    assert s.tile_max_histogram.tolist() == [0, 1, 0, 0, 1]
    assert s.tiles == 2
    # 1×1 tiles: the tile-max histogram is the block histogram
    one = block_stats(kn, 4)
    assert one.tile_max_histogram.tolist() == one.histogram.tolist() == [5, 1, 1, 0, 1]


@pytest.mark.parametrize(("tile_k", "tile_n"), [(1, 1), (3, 5), (4, 64), (100, 100), (1, 7), (6, 1)])
def test_tile_maxima_brute_force_with_edges(tile_k: int, tile_n: int) -> None:
    rng = np.random.default_rng(tile_k * 31 + tile_n)
    kn = rng.random((45, 23)) < rng.random((45, 1))  # row-varying density
    expected = brute_tile_max_hist(kn, 4, tile_k, tile_n).tolist()
    for par in (False, True):
        assert (
            block_stats(kn, 4, tile_k=tile_k, tile_n=tile_n, parallel=par).tile_max_histogram.tolist()
            == expected
        )
        s = block_stats(
            np.ascontiguousarray(kn.T), 4, layout="nk", tile_k=tile_k, tile_n=tile_n, parallel=par
        )
        assert s.tile_max_histogram.tolist() == expected


def test_parallel_equals_serial_on_a_larger_matrix() -> None:
    rng = np.random.default_rng(5)
    kn = rng.random((1000, 300)) < 0.3
    for layout, arr in (("kn", kn), ("nk", np.ascontiguousarray(kn.T))):
        for block, tk, tn in itertools.product((4, 8, 5), (1, 3), (1, 16)):
            a = block_stats(arr, block, layout=layout, tile_k=tk, tile_n=tn)
            b = block_stats(arr, block, layout=layout, tile_k=tk, tile_n=tn, parallel=True)
            assert a.histogram.tolist() == b.histogram.tolist() == ref_hist(kn, block).tolist()
            assert a.tile_max_histogram.tolist() == b.tile_max_histogram.tolist()


# ---------------------------------------------------------------------------------------------- MaskStats


def test_to_mask_stats() -> None:
    rng = np.random.default_rng(2)
    mask = nm_mask(16, 8, 1, 8, rng)
    s = block_stats(mask, 8)
    ms = s.to_mask_stats()
    assert isinstance(ms, MaskStats)
    assert ms.block == 8 and ms.histogram == [0, 16, 0, 0, 0, 0, 0, 0, 0]
    assert ms.max_nonzeros == 1 and ms.density == pytest.approx(1 / 8)
    assert to_mask_stats(s) == ms == mask_stats(mask, 8)
    assert to_mask_stats(np.array([1, 2, 3])) == MaskStats(block=2, histogram=[1, 2, 3])
    assert mask_stats(np.ascontiguousarray(mask.T), 8, layout="nk") == ms
    assert isinstance(s, BlockStats)


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((np.ones((4, 4)), 0), {}, "block"),
        ((np.ones((4, 4)), 2.0), {}, "block"),
        ((np.ones((4, 4)), 2), {"tile_k": 0}, "tile_k"),
        ((np.ones((4, 4)), 2), {"tile_n": -1}, "tile_n"),
        ((np.ones((4, 4)), 2), {"layout": "mk"}, "layout"),
        ((np.ones((4, 4)), 2), {"axis": 2}, "axis"),
        ((np.ones((4, 4)), 2), {"axis": 1, "layout": "kn"}, "axis"),
        ((np.ones((2, 2, 2)), 2), {}, "weights"),
        ((np.ones((0, 4)), 2), {}, "weights"),
        ((np.ones((4, 4), dtype=np.complex64), 2), {}, "weights"),
        ((np.array([["a"]]), 2), {}, "weights"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(args: tuple, kwargs: dict, field: str) -> None:
    with pytest.raises(NmsimInputError) as info:
        block_stats(*args, **kwargs)
    assert info.value.field == field
    assert "\n" not in str(info.value)
