"""Per-point totals from per-layer engine results, summed exactly as :func:`nmsim.sim.report.totals_of` sums.

``totals_of`` uses Python's built-in ``sum``: plain left-to-right addition of floats up to Python
3.11, Neumaier-compensated addition from 3.12 on. :func:`reduce_points` does the same arithmetic,
layer by layer in trace order, so a sweep point's totals equal ``nmsim.simulate``'s to the bit.
"""

from __future__ import annotations

import sys

import numpy as np

from nmsim.engine.jit import jit
from nmsim.engine.layout import ENERGY_PARTS, OUT
from nmsim.sim.fields import SUMMED_FLOAT, SUMMED_INT

PYTHON_SUM_COMPENSATED: bool = sys.version_info >= (3, 12)
"""True when this interpreter's ``sum()`` of floats is Neumaier-compensated (Python ≥ 3.12)."""

# The summed fields of the one field table (nmsim.sim.fields) that come from the engine, plus the
# count of layers that fell back to dense; dense/useful MACs come from the trace, not the engine.
INT_FIELDS: tuple[str, ...] = (*(f for f in SUMMED_INT if f in OUT and f != "dense_macs"), "fell_back")
FLOAT_FIELDS: tuple[str, ...] = (
    *(f for f in SUMMED_FLOAT if f in OUT),
    *(f"energy_{p}" for p in ENERGY_PARTS),
)
INT_COLS = np.array([OUT[f] for f in INT_FIELDS], dtype=np.int64)
FLOAT_COLS = np.array([OUT[f] for f in FLOAT_FIELDS], dtype=np.int64)


@jit
def _add(f: np.ndarray, c: np.ndarray, j: int, x: float, compensated: bool) -> None:
    """``f[j] += x`` as Python's ``sum`` adds (Neumaier's compensation kept in ``c[j]`` when on)."""
    if compensated:
        t = f[j] + x
        if abs(f[j]) >= abs(x):
            c[j] += (f[j] - t) + x
        else:
            c[j] += (x - t) + f[j]
        f[j] = t
    else:
        f[j] += x


@jit
def reduce_points(
    out: np.ndarray,
    layer_rows: np.ndarray,
    offsets: np.ndarray,
    int_cols: np.ndarray,
    float_cols: np.ndarray,
    compensated: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum result rows ``out[layer_rows[offsets[p]:offsets[p+1]]]`` for every point ``p``.

    Integer fields (cycles, MACs, bytes) are truncated per layer then summed as integers; float
    fields (s, pJ) are summed in order, compensated when ``compensated``. The last float column
    returned is the sum of float columns 1… (the energy parts): the total energy (pJ).
    """
    points = offsets.shape[0] - 1
    ni, nf = int_cols.shape[0], float_cols.shape[0]
    ints = np.zeros((points, ni), dtype=np.int64)
    floats = np.zeros((points, nf + 1))
    for p in range(points):  # serial: cheap, and a parallel launch costs more on a busy machine
        f = np.zeros(nf + 1)
        c = np.zeros(nf + 1)
        s = np.zeros(ni, dtype=np.int64)
        for r in range(offsets[p], offsets[p + 1]):
            row = out[layer_rows[r]]
            for j in range(ni):
                s[j] += np.int64(row[int_cols[j]])
            for j in range(nf):
                _add(f, c, j, row[float_cols[j]], compensated)
        for j in range(nf):
            if compensated and c[j] != 0.0 and np.isfinite(c[j]):
                f[j] += c[j]
        for j in range(1, nf):  # total energy: the parts' sums, added in order
            _add(f, c, nf, f[j], compensated)
        if compensated and c[nf] != 0.0 and np.isfinite(c[nf]):
            f[nf] += c[nf]
        ints[p] = s
        floats[p] = f
    return ints, floats


def python_sum(values: np.ndarray, compensated: bool = PYTHON_SUM_COMPENSATED) -> float:
    """One column through :func:`reduce_points` (for tests: compare with the built-in ``sum``)."""
    out = np.zeros((len(values), max(int(FLOAT_COLS.max()), int(INT_COLS.max())) + 1))
    out[:, FLOAT_COLS[0]] = values
    rows = np.arange(len(values), dtype=np.int64)
    offsets = np.array([0, len(values)], dtype=np.int64)
    _, floats = reduce_points(out, rows, offsets, INT_COLS, FLOAT_COLS, compensated)
    return float(floats[0, 0])
