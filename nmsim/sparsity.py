"""N:M patterns: parsing, K compaction and the model-pattern → hardware-mode compatibility rule.

Convention: weights are K×N; an ``n:m`` weight has at most ``n`` nonzeros in every group of ``m``
consecutive K-elements of a column. All functions here are pure and work on plain integers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nmsim.errors import NmsimInputError
from nmsim.limits import MAX_M_IN_NM, MAX_NM_DIGITS

_DIGITS = rf"-?\d{{1,{MAX_NM_DIGITS}}}"
_NM_RE = re.compile(rf"^\s*({_DIGITS})\s*:\s*({_DIGITS})\s*$")


@dataclass(frozen=True, order=True)
class NM:
    """An N:M pattern: at most ``n`` nonzeros in each group of ``m``."""

    n: int
    m: int

    @property
    def density(self) -> float:
        """Fraction of kept values, n/m."""
        return self.n / self.m

    @property
    def is_dense(self) -> bool:
        return self.n >= self.m

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"


def parse_nm(text: str, field: str = "sparsity") -> NM:
    """Parse ``"n:m"`` (1 ≤ n ≤ m ≤ :data:`~nmsim.limits.MAX_M_IN_NM`) or raise :class:`NmsimInputError`
    naming ``field``."""
    match = _NM_RE.match(str(text)[:64])
    if not match:
        raise NmsimInputError(
            field,
            f"expected 'n:m' with integers 1 <= n <= m <= {MAX_M_IN_NM} (MAX_M_IN_NM), e.g. '2:4'",
            text,
        )
    n, m = int(match.group(1)), int(match.group(2))
    if m < 1 or n < 1:
        raise NmsimInputError(field, "n and m must be >= 1 in 'n:m'", text)
    if n > m:
        raise NmsimInputError(field, "n must be <= m in 'n:m'", text)
    if m > MAX_M_IN_NM:
        raise NmsimInputError(field, f"m must be at most {MAX_M_IN_NM} (MAX_M_IN_NM) in 'n:m'", text)
    return NM(n, m)


def compact_k(k: int, n: int, m: int) -> int:
    """Reduction length after dropping pruned positions: K′ = n·⌊K/m⌋ + min(n, K mod m)."""
    return n * (k // m) + min(n, k % m)


def max_nonzeros_per_block(n: int, m: int, block: int) -> int:
    """Worst-case nonzeros in an aligned block of ``block`` K-elements of an ``n:m`` tensor.

    Exact for any block size: blocks start at multiples of ``block``, groups at multiples of ``m``;
    a block overlapping a group by ``o`` elements can hold at most ``min(n, o)`` of its nonzeros.
    For ``block | m`` this is ``min(n, block)``; for ``m | block`` it is ``n·block/m``.
    """
    period = math.lcm(m, block)
    worst = 0
    for start in range(0, period, block):
        end = start + block
        count = 0
        g = (start // m) * m
        while g < end:
            overlap = min(end, g + m) - max(start, g)
            count += min(n, overlap)
            g += m
        worst = max(worst, count)
    return worst


def fits(model: NM, mode: NM) -> bool:
    """True when every aligned ``mode.m`` block of an ``model`` tensor holds ≤ ``mode.n`` nonzeros."""
    return max_nonzeros_per_block(model.n, model.m, mode.m) <= mode.n


def cheapest_mode(model: NM, modes: Iterable[NM]) -> NM | None:
    """The hardware mode with the lowest density that can hold ``model``; ``None`` means run dense.

    Ties on density go to the smaller ``m`` (less metadata, narrower mux). Modes with n ≥ m are
    dense and never chosen.
    """
    best: NM | None = None
    for mode in modes:
        if mode.is_dense or not fits(model, mode):
            continue
        if best is None or (mode.density, mode.m) < (best.density, best.m):
            best = mode
    return best
