"""N:M and unstructured masks: exactness per group, deterministic ties, axis conventions, brute force."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nmsim.errors import NmsimInputError  # noqa: E402
from nmsim.masks.stats import mask_stats  # noqa: E402
from nmsim.train.masks import grouped_rows, is_nm, nm_mask, unstructured_mask  # noqa: E402


def brute_force_row(values: list[float], n: int, m: int) -> list[bool]:
    """Reference: in each group keep the n entries with the largest |v|, lower index first on ties."""
    out = []
    for g in range(0, len(values), m):
        group = values[g : g + m]
        order = sorted(range(m), key=lambda i: (-abs(group[i]), i))
        keep = set(order[:n])
        out += [i in keep for i in range(m)]
    return out


@settings(max_examples=60, deadline=None)
@given(
    nm=st.sampled_from(
        [(1, 2), (2, 4), (1, 4), (3, 4), (1, 8), (2, 8), (7, 8), (1, 16), (3, 16), (8, 16), (16, 128)]
    ),
    rows=st.integers(1, 5),
    groups=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    quantize=st.booleans(),
)
def test_nm_mask_matches_brute_force(nm, rows, groups, seed, quantize):
    n, m = nm
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, groups * m, generator=g)
    if quantize:  # many exact ties, including +x / -x
        w = torch.round(w * 2) / 2
    mask = nm_mask(w, n, m)
    assert mask.dtype == torch.bool and mask.shape == w.shape
    # exactly n ones per group
    assert (mask.reshape(rows, groups, m).sum(-1) == n).all()
    for r in range(rows):
        assert mask[r].tolist() == brute_force_row(w[r].tolist(), n, m)


def test_ties_lower_index_wins():
    w = torch.tensor([[3.0, 3.0, 3.0, 3.0, 1.0, -5.0, 5.0, 5.0]])
    assert nm_mask(w, 1, 4).tolist() == [[True, False, False, False, False, True, False, False]]
    assert nm_mask(w, 2, 4).tolist() == [[True, True, False, False, False, True, True, False]]
    assert nm_mask(torch.zeros(1, 4), 2, 4).tolist() == [[True, True, False, False]]


def test_linear_groups_along_in_features():
    # weight [out=2, in=4]; groups of 2 run along in_features (dim 1)
    w = torch.tensor([[1.0, 2.0, 4.0, 3.0], [9.0, 0.0, 0.0, 8.0]])
    assert nm_mask(w, 1, 2).tolist() == [[False, True, True, False], [True, False, False, True]]
    # axis 0 groups along out_features instead
    assert nm_mask(w, 1, 2, axis=0).tolist() == [[False, True, True, False], [True, False, False, True]]
    w2 = torch.tensor([[1.0, 5.0], [2.0, 4.0]])
    assert nm_mask(w2, 1, 2, axis=0).tolist() == [[False, True], [True, False]]


def test_conv_groups_along_input_channels():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 8, 2, 2, generator=g)  # [O, I, kh, kw]
    mask = nm_mask(w, 2, 4)
    for o, y, x in itertools.product(range(3), range(2), range(2)):
        col = w[o, :, y, x].tolist()
        assert mask[o, :, y, x].tolist() == brute_force_row(col, 2, 4)


def test_idempotent_on_sparse_weights():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(16, 32, generator=g)
    m1 = nm_mask(w, 1, 8)
    assert torch.equal(nm_mask(w * m1, 1, 8), m1)
    assert is_nm(w * m1, 1, 8) and not is_nm(w, 1, 8)


def test_divisibility_and_bad_n_are_one_line_errors():
    with pytest.raises(NmsimInputError, match="divisible by m=8"):
        nm_mask(torch.ones(2, 12), 1, 8)
    with pytest.raises(NmsimInputError, match="1 <= n <= m"):
        nm_mask(torch.ones(2, 8), 9, 8)


def test_unstructured_mask_count_and_ties():
    w = torch.tensor([[1.0, 4.0, 4.0], [2.0, 4.0, 0.5]])
    mask = unstructured_mask(w, 0.5)  # keep round(3) = 3 of 6: the three 4.0s
    assert mask.tolist() == [[False, True, True], [False, True, False]]
    assert unstructured_mask(w, 2 / 6).tolist() == [[False, True, True], [False, False, False]]
    g = torch.Generator().manual_seed(2)
    big = torch.randn(64, 64, generator=g)
    assert int(unstructured_mask(big, 0.125).sum()) == round(0.125 * 64 * 64)


def test_block_histogram_through_the_one_home():
    # groups of 4 along dim 1: nonzeros per group 1, 2, 0, 4
    mask = torch.tensor([[1, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], dtype=torch.bool)
    assert mask_stats(grouped_rows(mask, 1), 4, layout="nk").histogram == [1, 1, 1, 0, 1]
    # a conv weight [O, I, kh, kw] grouped along I: each of the 2·(1·1) rows holds I = 8 channels
    conv = mask.reshape(2, 8, 1, 1)
    assert mask_stats(grouped_rows(conv, 1), 4, layout="nk").histogram == [1, 1, 1, 0, 1]
    # along dim 0: the 8 columns (1,0) (0,0) (0,0) (0,0) (1,1) (1,1) (0,1) (0,1) hold 1 0 0 0 2 2 1 1
    assert mask_stats(grouped_rows(mask, 0), 2, layout="nk").histogram == [3, 3, 2]
