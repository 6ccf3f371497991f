"""The residency mapping cache: rows that differ only in reserved bytes share one evaluation when the
reservation cannot change the mapper's answer (``nmsim.engine.kernel.without_idle_reservations``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nmsim.engine.kernel import evaluate_gemm, without_idle_reservations
from nmsim.engine.layout import GEMM, gemm_row
from nmsim.engine.params import hw_vector
from tests.conftest import tiny_hw

RES = GEMM["reserved_0"]
# tiny 4×4 ws array, int8, 4 KiB double-buffered levels: 2,048 usable bytes each; 4-byte partial sums.
HW = hw_vector(tiny_hw(buffers_kb=4))


def _row(m: int, n: int, k: int, reserved_act: float, sparse: bool = False) -> np.ndarray:
    kc = k // 2 if sparse else k
    return np.array(
        gemm_row(m, n, k, kc, 2 if sparse else 0, 1, False, sparse, 0, True, False, (reserved_act, 0, 0))
    )


def _canon(row: np.ndarray) -> np.ndarray:
    return without_idle_reservations(HW[None, :], np.zeros(1, dtype=np.int64), row[None, :])[0]


def test_reservation_binds_only_when_the_largest_tiles_no_longer_fit() -> None:
    # 16×16×16 dense, activations not resident: the largest activation tile is order 2's Mb×K =
    # 16·16 = 256 B (order 0: 16 rows × 4 columns = 64 B; order 1: 4 B), so up to 2,048 − 256 = 1,792
    # reserved bytes leave every candidate feasible.
    row = np.array(gemm_row(16, 16, 16, 16, 0, 1, False, False, 0, False, False, (1792.0, 0, 0)))
    assert _canon(row)[RES] == 0.0
    tight = row.copy()
    tight[RES] = 1793.0
    assert _canon(tight)[RES] == 1793.0
    # a resident activation operand takes no on-chip bytes: nothing of it to squeeze
    resident = _row(16, 16, 16, 2048.0)
    assert _canon(resident)[RES] == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 200),
    st.integers(1, 200),
    st.integers(1, 200),
    st.floats(0, 2048),
    st.booleans(),
    st.booleans(),
)
def test_an_idle_reservation_never_changes_the_result(
    m: int, n: int, k: int, reserved: float, sparse: bool, a_res: bool
) -> None:
    """Wherever the cache drops the reservation, the result is bit for bit the reserved one."""
    sparse = sparse and k >= 2
    kc = k // 2 if sparse else k
    row = np.array(
        gemm_row(m, n, k, kc, 2 if sparse else 0, 1, False, sparse, 0, a_res, False, (reserved, 0, 0))
    )
    canon = _canon(row)
    if canon[RES] == 0.0:
        assert np.array_equal(evaluate_gemm(HW, row), evaluate_gemm(HW, canon))
    else:
        assert canon[RES] == reserved
