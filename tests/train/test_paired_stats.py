"""Student's t tail and the paired t-test against closed forms and printed tables."""

from __future__ import annotations

import math

import pytest

from nmsim.train.stats import betainc, paired_t_test, t_cdf, t_two_sided_p


def test_incomplete_beta_closed_forms():
    for x in (0.0, 0.1, 0.37, 0.5, 0.9, 1.0):
        assert betainc(1.0, 1.0, x) == pytest.approx(x, abs=1e-14)  # uniform
        assert betainc(3.0, 1.0, x) == pytest.approx(x**3, abs=1e-14)  # I_x(a, 1) = x^a
        assert betainc(1.0, 2.5, x) == pytest.approx(1 - (1 - x) ** 2.5, abs=1e-14)  # I_x(1, b)
        assert betainc(2.0, 3.0, x) == pytest.approx(1 - betainc(3.0, 2.0, 1 - x), abs=1e-14)
    # I_x(1/2, 1/2) = (2/π) asin(√x)
    assert betainc(0.5, 0.5, 0.3) == pytest.approx(2 / math.pi * math.asin(math.sqrt(0.3)), abs=1e-13)


def test_t_tail_closed_forms():
    for t in (0.3, 1.0, 2.0, 7.5):
        # ν = 1 (Cauchy): P(|T| >= t) = 1 − (2/π) atan t; ν = 2: 1 − t/√(t² + 2)
        assert t_two_sided_p(t, 1) == pytest.approx(1 - 2 / math.pi * math.atan(t), abs=1e-13)
        assert t_two_sided_p(t, 2) == pytest.approx(1 - t / math.sqrt(t * t + 2), abs=1e-13)
    assert t_two_sided_p(0.0, 5) == 1.0
    assert t_cdf(-1.0, 1) == pytest.approx(0.25, abs=1e-14) and t_cdf(1.0, 1) == pytest.approx(
        0.75, abs=1e-14
    )


@pytest.mark.parametrize(
    ("t", "df", "p"),
    # two-sided 5% and 1% critical values of Student's t (A&S Table 26.10, also any statistics textbook)
    [(12.706, 1, 0.05), (4.303, 2, 0.05), (2.776, 4, 0.05), (2.228, 10, 0.05), (2.042, 30, 0.05),
     (9.925, 2, 0.01), (3.169, 10, 0.01), (1.960, 1e7, 0.05)],
)  # fmt: skip
def test_t_tail_against_tabulated_critical_values(t, df, p):
    assert t_two_sided_p(t, df) == pytest.approx(p, rel=2e-3)


def test_paired_t_test_hand_worked():
    # differences 2, 1, 3: mean 2, sd 1, t = 2/(1/√3) = 2√3, ν = 2 → p = 1 − 2√3/√14
    r = paired_t_test([52.0, 52.0, 55.0], [50.0, 51.0, 52.0])
    assert (r.n, r.mean_diff, r.std_diff) == (3, 2.0, 1.0)
    assert r.t == pytest.approx(2 * math.sqrt(3))
    assert r.p == pytest.approx(1 - 2 * math.sqrt(3) / math.sqrt(14), abs=1e-12)
    assert paired_t_test([1.0], [0.0]).p is None  # one pair: no test
    same = paired_t_test([2.0, 3.0], [1.0, 2.0])  # identical differences: std 0
    assert same.p == 0.0 and same.t == math.inf
    assert paired_t_test([1.0, 2.0], [1.0, 2.0]).p == 1.0
