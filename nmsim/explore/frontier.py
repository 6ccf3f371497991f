"""Accuracy-vs-efficiency points: one per cell (per hardware config), and their Pareto frontier.

From trained traces (:func:`trace_points`: each trace simulated on each config; the seeds of one
cell (:class:`nmsim.schemas.cell.CellKey`: recipe, target and its density, variant, source, ...)
averaged as mean ± std, n) or from a sweep's results (:func:`sweep_points`). Accuracy is in percent.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nmsim.errors import NmsimInputError
from nmsim.explore.pareto import pareto_mask
from nmsim.schemas.cell import CELL_COLUMNS, CellKey, group_cells, key_from_columns, seed_stats
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.simulate import simulate


@dataclass(frozen=True)
class Axis:
    """A plotted quantity: ``key`` as given, axis ``title``, base ``unit`` and direction."""

    key: str
    title: str
    unit: str
    minimize: bool


X_AXES: dict[str, Axis] = {
    "latency": Axis("latency", "inference latency", "s", True),
    "energy": Axis("energy", "inference energy", "J", True),
    "edp": Axis("edp", "energy-delay product", "J·s", True),
    "training-energy": Axis("training-energy", "training-run energy", "J", True),
}
MAXIMIZED = frozenset({"accuracy", "pe_utilization", "effective_macs_per_cycle", "bleu", "token_accuracy"})


@dataclass(frozen=True)
class FrontierPoint:
    """One point: ``x`` in the axis' base unit (s, J, J·s); ``y`` the mean over ``n`` seeds and
    ``y_std`` their sample standard deviation (0 when n = 1), accuracy in percent. ``group`` is the
    panel (hardware config). ``recipe``, ``pattern`` (the trained target: '2:4', 'dense',
    'unstructured'), ``density`` (fraction of weights kept), ``variant`` and ``source`` come from the cell."""

    label: str
    recipe: str
    target: str
    group: str
    x: float
    y: float
    y_std: float
    n: int
    pattern: str = ""
    density: float | None = None
    variant: str = ""
    source: str = "measured"
    on_front: bool = False


def x_axis(name: str) -> Axis:
    """The x quantity named ``name`` (latency, energy, edp, training-energy)."""
    axis = X_AXES.get(name)
    if axis is None:
        raise NmsimInputError("--x", "one of " + ", ".join(X_AXES), name)
    return axis


def y_axis(name: str) -> Axis:
    """The y quantity: ``accuracy`` (the trace's metric, in %) or another metric / results column."""
    if name in ("accuracy", "accuracy_pct"):
        return Axis("accuracy", "accuracy", "%", False)
    return Axis(name, name.replace("_", " "), "", name not in MAXIMIZED)


def training_energy_fn() -> Callable[[Trace, HardwareConfig], float]:
    """The training-run energy (pJ) of a trace's recorded schedule, from the training-cost model."""
    try:
        mod = importlib.import_module("nmsim.cost.training")
        cost = mod.training_cost
    except (ImportError, AttributeError):
        raise NmsimInputError(
            "--x", "training-energy needs the training-cost model (nmsim.cost), which this install lacks"
        ) from None
    return lambda trace, hw: float(cost(trace, hw).total.energy_pj)


def x_value(axis: Axis, trace: Trace, hw: HardwareConfig, sparse_kernel: str | None = None) -> float:
    """``trace``'s x on ``hw`` in the axis' base unit (s, J, J·s); ``sparse_kernel`` as :func:`simulate`."""
    if axis.key == "training-energy":
        return training_energy_fn()(trace, hw) * 1e-12
    tot = simulate(trace, hw, sparse_kernel=sparse_kernel).totals
    if axis.key == "latency":
        return tot.latency_s
    if axis.key == "energy":
        return tot.energy_pj * 1e-12
    return tot.energy_pj * 1e-12 * tot.latency_s


def y_value(name: str, trace: Trace) -> float | None:
    """``trace``'s y: ``metrics.accuracy`` in percent, or ``metrics.extra[name]``; None when it has none."""
    if trace.metrics is None:
        return None
    if name == "accuracy":
        acc = trace.metrics.accuracy
        return None if acc is None else 100.0 * acc
    return trace.metrics.extra.get(name)


def point_label(recipe: str, target: str) -> str:
    """'mdgf-linear 2:4'; 'dense' for the dense baseline (:attr:`CellKey.label` for full cells)."""
    return CellKey("", "", recipe, target, None, "", "measured", "").label


def trace_points(
    traces: Sequence[Trace],
    hws: Sequence[HardwareConfig],
    x: str = "latency",
    y: str = "accuracy",
    sparse_kernel: str | None = None,
) -> list[FrontierPoint]:
    """One point per (hardware config, cell); traces without a ``y`` value are skipped.
    ``sparse_kernel``: tensor-core (default) | software, for the inference axes (:func:`simulate`;
    the points' hardware then reads '<config> (software sparse kernel)').

    Raises :class:`NmsimInputError` when no trace has a ``y`` value.
    """
    ax = x_axis(x)
    if sparse_kernel not in (None, "tensor-core") and ax.key == "training-energy":
        raise NmsimInputError(
            "--sparse-kernel",
            "tensor-core with --x training-energy (software: inference only)",
            sparse_kernel,
        )
    usable = [(t, y_value(y, t)) for t in traces]
    usable = [(t, v) for t, v in usable if v is not None]
    if not usable:
        raise NmsimInputError("traces", f"none records '{y}' (metrics.accuracy or metrics.extra)")
    if ax.key == "training-energy":
        training_energy_fn()  # a clear error before any work
    software = sparse_kernel not in (None, "tensor-core")
    yv_of = {id(t): v for t, v in usable}
    cells = group_cells(t for t, _ in usable)
    points: list[FrontierPoint] = []
    for hw in hws:
        for key, members in cells.items():
            st = seed_stats([float(yv_of[id(t)]) for t in members])
            xs = [x_value(ax, t, hw, sparse_kernel) for t in members]
            points.append(
                FrontierPoint(
                    key.label,
                    key.recipe,
                    key.target,
                    hw.name + (" (software sparse kernel)" if software else ""),
                    float(np.mean(xs)),
                    st.mean,
                    st.std,
                    st.n,
                    key.pattern,
                    key.density,
                    key.variant,
                    key.source,
                )
            )
    return mark_front(points, minimize_x=ax.minimize, maximize_y=not y_axis(y).minimize)


_SWEEP_X = {"latency": "latency_s", "energy": "energy_pj", "edp": None}
_NOT_SWEPT = {"point", "trace_file", "accuracy", "accuracy_pct"}
_ACCURACY = ("accuracy", "accuracy_pct")


def sweep_points(df: Any, x: str = "latency", y: str = "accuracy", group: str = "hw") -> list[FrontierPoint]:
    """One point per distinct setting in a sweep's results table (``nmsim sweep`` output).

    Rows differing only by trace file (the seeds of one cell) are averaged (mean ± std, n); rows of
    different cells (recipe, target density, metric variant or source, model, ...) never are.
    ``y='accuracy'`` reads ``accuracy_pct`` (a table written before it: ``accuracy`` × 100). Labels
    name the cell (or the trace), the N:M pattern imposed, and the swept hardware values. ``group``
    splits panels ('hw', another column, or '' for one panel).
    """
    from nmsim.explore.batch import METRIC_COLUMNS

    ax = x_axis(x)
    if ax.key not in _SWEEP_X:
        raise NmsimInputError(
            "--x", "with --sweep: latency, energy or edp (results hold no training cost)", x
        )
    df = df.copy()
    if y in _ACCURACY and "accuracy_pct" in df.columns:
        df["_y"] = df["accuracy_pct"].astype(float)
    elif y in _ACCURACY and "accuracy" in df.columns:
        df["_y"] = df["accuracy"].astype(float) * 100.0
    elif y in df.columns and y not in _ACCURACY:
        df["_y"] = df[y].astype(float)
    else:
        numeric = [c for c in df.columns if c in METRIC_COLUMNS] + ["accuracy"]
        raise NmsimInputError("--y", "a column of the results: " + ", ".join(numeric), y)
    if group and group not in df.columns:
        raise NmsimInputError("--group", "a column of the results (or '' for one panel)", group)
    if df["_y"].isna().all():
        raise NmsimInputError(
            "--y", f"no point in the results has '{y}' (accuracy needs trained traces run as recorded)", y
        )
    df = df[df["_y"].notna()]
    if ax.key == "edp":
        df["_x"] = df["energy_pj"] * 1e-12 * df["latency_s"]
    else:
        col = _SWEEP_X[ax.key]
        df["_x"] = df[col] * (1e-12 if col == "energy_pj" else 1.0)
    label_cols = [
        c
        for c in df.columns
        if c not in _NOT_SWEPT and c not in METRIC_COLUMNS and c not in ("_x", "_y", y, "trace")
    ]
    for c in label_cols:
        df[c] = df[c].fillna("").astype(str)
    swept = [c for c in label_cols if c not in (*CELL_COLUMNS, "nm", "hw") and df[c].nunique() > 1]
    has_recipe = "recipe" in df.columns and (df["recipe"] != "").any()
    keys = [*label_cols] if has_recipe else ["trace", *label_cols]
    points: list[FrontierPoint] = []
    for vals, sub in df.groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, vals if isinstance(vals, tuple) else (vals,), strict=True))
        cell = key_from_columns(row)
        recipe = cell.recipe if has_recipe else str(row.get("trace", ""))
        parts = [cell.label] if has_recipe else [recipe] if df["trace"].nunique() > 1 else []
        if row.get("nm", "recorded") not in ("recorded", ""):
            parts.append(f"as {row['nm']}")
        if group != "hw" and df["hw"].nunique() > 1:
            parts.append(str(row["hw"]))
        parts += [f"{c}={row[c]}" for c in swept if c != group]
        st = seed_stats(sub["_y"].tolist())
        points.append(
            FrontierPoint(
                " ".join(parts) or "point",
                recipe,
                cell.target,
                str(row[group]) if group else "",
                float(sub["_x"].mean()),
                st.mean,
                st.std,
                st.n,
                cell.pattern,
                cell.density,
                cell.variant,
                cell.source,
            )
        )
    return mark_front(points, minimize_x=ax.minimize, maximize_y=not y_axis(y).minimize)


def mark_front(
    points: list[FrontierPoint], minimize_x: bool = True, maximize_y: bool = True
) -> list[FrontierPoint]:
    """``points`` with ``on_front`` set, the frontier taken within each group."""
    out = list(points)
    for g in dict.fromkeys(p.group for p in points):
        idx = [i for i, p in enumerate(points) if p.group == g]
        mask = pareto_mask([points[i].x for i in idx], [points[i].y for i in idx], minimize_x, maximize_y)
        for i, on in zip(idx, mask.tolist(), strict=True):
            out[i] = replace(points[i], on_front=bool(on))
    return out


def points_table(points: Sequence[FrontierPoint]) -> Any:
    """The points as a DataFrame (for notebooks and ``--csv``)."""
    import pandas as pd

    return pd.DataFrame([p.__dict__ for p in points])


def finite(points: Sequence[FrontierPoint]) -> list[FrontierPoint]:
    return [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
