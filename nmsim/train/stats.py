"""Small statistics for grid tables: Student's t distribution and the paired t-test (no SciPy).

The two-sided tail of Student's t with ν degrees of freedom is the regularized incomplete beta function
``P(|T| ≥ t) = I_x(ν/2, 1/2)`` with ``x = ν / (ν + t²)`` (Abramowitz & Stegun 26.7.1 with 26.5.27);
``I_x(a, b)`` is evaluated by its continued fraction (A&S 26.5.8), on the side where it converges fast
(``x < (a + 1)/(a + b + 2)``, else through ``I_x(a, b) = 1 − I_{1−x}(b, a)``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def _beta_cf(a: float, b: float, x: float, eps: float = 1e-15, max_iter: int = 500) -> float:
    """Continued fraction of the incomplete beta function (A&S 26.5.8, modified Lentz evaluation)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0`` and ``0 ≤ x ≤ 1``."""
    if not (a > 0 and b > 0):
        raise ValueError("betainc needs a > 0 and b > 0")
    if not 0.0 <= x <= 1.0:
        raise ValueError("betainc needs 0 <= x <= 1")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """``P(|T| ≥ |t|)`` for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("df must be > 0")
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def t_cdf(t: float, df: float) -> float:
    """``P(T ≤ t)`` for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * t_two_sided_p(t, df)
    return 1.0 - tail if t > 0 else tail


@dataclass(frozen=True)
class PairedTest:
    """Paired t-test of ``a − b`` over matched pairs: mean difference, its t statistic and two-sided p."""

    n: int
    mean_diff: float
    std_diff: float
    t: float | None
    p: float | None


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired t-test of ``mean(a − b) = 0`` (``a[i]`` and ``b[i]`` are one pair, e.g. one seed).

    With fewer than 2 pairs there is no test (t, p None); with identical differences (std 0) t is ±inf
    and p = 0, or t = 0 and p = 1 when every difference is 0.
    """
    if len(a) != len(b):
        raise ValueError("paired samples must have equal length")
    d = [x - y for x, y in zip(a, b, strict=True)]
    n = len(d)
    if n == 0:
        return PairedTest(0, math.nan, math.nan, None, None)
    mean = statistics.fmean(d)
    if n < 2:
        return PairedTest(n, mean, math.nan, None, None)
    sd = statistics.stdev(d)
    if sd == 0.0:
        return PairedTest(n, mean, 0.0, math.copysign(math.inf, mean) if mean else 0.0, 0.0 if mean else 1.0)
    t = mean / (sd / math.sqrt(n))
    return PairedTest(n, mean, sd, t, t_two_sided_p(t, n - 1))
