"""Sparsity patterns: the one typed value, its one parser, K compaction and the hardware-fit rule.

A weight tensor's pattern is a :data:`Pattern`: :class:`Dense`, :class:`NM` (at most ``n`` nonzeros
in every group of ``m`` consecutive K-elements of a column; weights are K×N) or :class:`Unstructured`
(pruned with no block bound, with the fraction it keeps). Files keep patterns as strings
(``'dense'``, ``'2:4'``, ``'unstructured'``); :func:`parse_pattern` is the one place they are read,
and :func:`holds` is the one answer to "can this hardware format hold it" (docs/references.md#nm-fit-rule).
A hardware format is an :class:`NM` mode. All functions here are pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

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
        """True for n ≥ m (nothing pruned; :func:`parse_pattern` turns it into :data:`DENSE`)."""
        return self.n >= self.m

    is_unstructured = False

    @property
    def nm(self) -> NM | None:
        """Itself, or None when it keeps everything."""
        return None if self.is_dense else self

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"


@dataclass(frozen=True)
class Dense:
    """Every weight kept."""

    density = 1.0
    is_dense = True
    is_unstructured = False
    nm = None

    def __str__(self) -> str:
        return "dense"


@dataclass(frozen=True)
class Unstructured:
    """Pruned with no bound per block; ``density``: fraction of weights kept (None: not recorded)."""

    density: float | None = None
    is_dense = False
    is_unstructured = True
    nm = None

    def __str__(self) -> str:
        return "unstructured"


Pattern = Dense | NM | Unstructured
"""A weight tensor's sparsity pattern (``str()`` gives its file spelling)."""

DENSE = Dense()


@lru_cache(maxsize=1024)
def parse_pattern(text: str, field: str = "pattern", density: float | None = None) -> Pattern:
    """The pattern ``text`` spells: ``'dense'``, ``'unstructured'`` (keeping ``density``) or ``'n:m'``
    (``'4:4'`` → :data:`DENSE`); anything else raises :class:`NmsimInputError` naming ``field``."""
    t = str(text).strip().lower()
    if t == "dense":
        return DENSE
    if t == "unstructured":
        return Unstructured(density)
    nm = parse_nm(t, field)
    return DENSE if nm.is_dense else nm


def try_pattern(text: str, density: float | None = None) -> Pattern | None:
    """:func:`parse_pattern` for labels that may be free text (a table's target column): None when
    ``text`` is not a pattern."""
    try:
        return parse_pattern(text, "pattern", density) if text else None
    except NmsimInputError:
        return None


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


def holds(mode: NM, pattern: Pattern) -> bool:
    """Can the hardware format ``mode`` (a sparse n′:m′ datapath) run weights of ``pattern`` sparse?

    Only an N:M pattern can: when no aligned m′-block holds more than n′ nonzeros (:func:`fits`). A
    dense tensor has nothing to skip; an unstructured one has no bound on a block's nonzeros (measured
    mask statistics may still give one: :func:`nmsim.sim.gemm.layer_guarantees`). A dense mode
    (n′ ≥ m′) holds nothing sparse.
    """
    return isinstance(pattern, NM) and not pattern.is_dense and not mode.is_dense and fits(pattern, mode)


def cheapest_mode(model: Pattern, modes: Iterable[NM]) -> NM | None:
    """The hardware mode with the lowest density that :func:`holds` ``model``; ``None`` means run dense.

    Ties on density go to the smaller ``m`` (less metadata, narrower mux).
    """
    best: NM | None = None
    for mode in modes:
        if not holds(mode, model):
            continue
        if best is None or (mode.density, mode.m) < (best.density, best.m):
            best = mode
    return best
