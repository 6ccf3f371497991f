"""Pareto frontiers: which points no other point beats on both axes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def pareto_mask(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    minimize_x: bool = True,
    maximize_y: bool = True,
) -> np.ndarray:
    """True for the points on the Pareto frontier (not dominated by any other point).

    A point is dominated when another is at least as good on both axes and better on one. Equal
    points do not dominate each other (both stay on the frontier). NaN points are never on it.
    O(n log n).
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("x and y need the same length")
    a = a if minimize_x else -a
    b = -b if maximize_y else b  # now both are minimised
    mask = np.zeros(a.shape, dtype=bool)
    ok = np.flatnonzero(~(np.isnan(a) | np.isnan(b)))
    order = ok[np.lexsort((b[ok], a[ok]))]  # by a, then b
    best_b = math.inf
    last: tuple[float, float] | None = None
    for i in order.tolist():
        if b[i] < best_b:
            mask[i] = True
            best_b = b[i]
            last = (a[i], b[i])
        elif last is not None and (a[i], b[i]) == last:
            mask[i] = True
    return mask


def frontier_order(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Indices of the frontier points, by increasing x (for drawing the frontier line)."""
    idx = np.flatnonzero(mask)
    return idx[np.argsort(np.asarray(x)[idx], kind="stable")]
