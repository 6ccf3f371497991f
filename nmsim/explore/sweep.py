"""Run a sweep: plan the points, evaluate the missing ones in chunks, and write one tidy table.

One row per point; its columns are the swept values (``trace``, ``nm``, ``hw`` and one column per
hardware parameter), the trace's cell (:data:`nmsim.schemas.cell.CELL_COLUMNS`: model, task, recipe,
target, target density, metric variant and source, settings hash), the report's totals
(:data:`nmsim.explore.batch.METRIC_COLUMNS`, the same numbers as ``nmsim simulate``) and
``accuracy_pct`` (accuracy in %, where the trace records one and the point's weights are the trained ones).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nmsim.explore.batch import METRIC_COLUMNS
from nmsim.explore.checkpoint import Checkpoint, check_format, write_table
from nmsim.explore.execute import cpu_count, run_chunks
from nmsim.explore.plan import SweepPlan, make_plan
from nmsim.explore.spec import SweepSpec, canonical_value, make_spec
from nmsim.explore.variants import accuracy_for
from nmsim.schemas.cell import CELL_COLUMNS, cell_columns, cell_key

LABEL_COLUMNS: tuple[str, ...] = ("point", "trace", "trace_file", *CELL_COLUMNS, "nm", "hw")
_FLOAT_LABELS = ("target_density", "accuracy_pct")
ROWS_PER_CHUNK = 100_000


@dataclass
class SweepResult:
    """A finished sweep: the table (pandas), where it was written, and what this run did.

    ``computed``: points evaluated in this run; ``resumed``: points taken from a checkpoint;
    ``layer_rows``: layer×config evaluations this run; ``kernel_rows``: distinct ones the kernel ran.
    """

    table: Any
    out: Path | None
    points: int
    computed: int
    resumed: int
    layer_rows: int
    kernel_rows: int
    seconds: float


def columns_of(plan: SweepPlan) -> list[str]:
    """The results table's columns, in order."""
    return [*LABEL_COLUMNS, *plan.param_keys, *METRIC_COLUMNS, "accuracy_pct"]


NUMERIC_COLUMNS: tuple[str, ...] = ("point", "variant", "combo", *METRIC_COLUMNS)
"""The columns a chunk returns (and the checkpoint records)."""


def _labels(plan: SweepPlan, cols: dict[str, np.ndarray]) -> dict[str, Any]:
    """Label columns (trace, cell, nm, hw, parameter values, accuracy in %) for the points of ``cols``."""
    variants = np.unique(cols["variant"])
    combos = np.unique(cols["combo"])
    vpos = np.searchsorted(variants, cols["variant"])
    hpos = np.searchsorted(combos, cols["combo"])
    vlab: dict[str, list[Any]] = {k: [] for k in ("trace", "trace_file", *CELL_COLUMNS, "nm", "accuracy_pct")}
    for v in variants.tolist():
        t, nm = plan.variant(v)
        entry = plan.traces[t]
        vlab["trace"].append(entry.trace.name)
        vlab["trace_file"].append(entry.file)
        for k, val in cell_columns(cell_key(entry.trace)).items():
            vlab[k].append(val)
        vlab["nm"].append(nm)
        acc = accuracy_for(entry.trace, nm)
        vlab["accuracy_pct"].append(np.nan if acc is None else 100.0 * acc)
    hlab: dict[str, list[Any]] = {k: [] for k in ("hw", *plan.param_keys)}
    for h in combos.tolist():
        base, values = plan.combo(h)
        hlab["hw"].append(plan.hw[base].name)
        for k, val in zip(plan.param_keys, values, strict=True):
            hlab[k].append(val if isinstance(val, int | float | str) else canonical_value(val))
    out: dict[str, Any] = {}
    for k, vals in vlab.items():
        arr = np.array(vals, dtype=np.float64 if k in _FLOAT_LABELS else object)
        out[k] = arr[vpos]
    for k, vals in hlab.items():
        out[k] = _column(vals)[hpos]
    return out


def _column(values: list[Any]) -> np.ndarray:
    """One parameter's values as an array: int64/float64 when all numeric, else objects."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array(values, dtype=object)


def _chunks(pending: np.ndarray, layers_per_point: float, chunk_points: int | None) -> list[np.ndarray]:
    if len(pending) == 0:
        return []
    if chunk_points is None:
        size = max(1, int(ROWS_PER_CHUNK // max(layers_per_point, 1.0)))
        size = max(1, min(size, math.ceil(len(pending) / 8)))
    else:
        size = max(1, chunk_points)
    return [pending[i : i + size] for i in range(0, len(pending), size)]


def to_frame(plan: SweepPlan, cols: dict[str, np.ndarray]) -> Any:
    """Numeric columns of finished points → the results DataFrame, one row per point, by point id."""
    import pandas as pd

    order = np.argsort(cols["point"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    labels = _labels(plan, cols) if len(order) else {c: np.array([], dtype=object) for c in columns_of(plan)}
    data = {}
    for c in columns_of(plan):
        data[c] = cols[c] if c in cols else labels[c]
    return pd.DataFrame(data, columns=columns_of(plan))


def run_sweep(
    spec: SweepSpec | dict[str, Any],
    out: str | Path | None = None,
    *,
    scheduler: str = "processes",
    client: Any = None,
    workers: int | None = None,
    restart: bool = False,
    chunk_points: int | None = None,
    progress: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Evaluate every point of ``spec`` and return (and, with ``out``, write) the results table.

    ``out``: ``.csv`` or ``.parquet``; an interrupted run leaves ``<out>.ckpt.jsonl`` and the
    same call resumes from it (``restart`` discards it). ``scheduler``/``client``/``workers``:
    see :func:`nmsim.explore.execute.run_chunks`. ``on_chunk(done, total)`` is called after each
    chunk is on record; ``progress`` shows a progress bar on stderr.
    """
    t0 = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = make_spec("sweep", **spec)
    if out is not None:
        check_format(out)
    plan = make_plan(spec)
    ckpt = Checkpoint(out, plan.fingerprint, list(NUMERIC_COLUMNS)) if out is not None else None
    done = ckpt.load(restart) if ckpt is not None else {}
    resumed = len(done["point"]) if done else 0
    mask = np.ones(plan.n_points, dtype=bool)
    if done:
        mask[done["point"]] = False
    pending = np.flatnonzero(mask).astype(np.int64)
    layers = sum(len(t.trace.layers) for t in plan.traces) / len(plan.traces)
    chunks = _chunks(pending, layers, chunk_points)
    parts: list[dict[str, np.ndarray]] = [done] if done else []
    computed = layer_rows = kernel_rows = 0
    bar = _progress(progress, plan.n_points, resumed)
    try:
        for cols, stats in run_chunks(
            plan, chunks, scheduler, client, workers, rows_hint=int(len(pending) * layers)
        ):
            if ckpt is not None:
                ckpt.append(cols)
            parts.append(cols)
            computed += stats.points
            layer_rows += stats.layer_rows
            kernel_rows += stats.kernel_rows
            if bar is not None:
                bar[0].update(bar[1], advance=stats.points)
            if on_chunk is not None:
                on_chunk(resumed + computed, plan.n_points)
    finally:
        if bar is not None:
            bar[0].stop()
        if ckpt is not None:
            ckpt.close()
    if parts:
        merged = {c: np.concatenate([p[c] for p in parts]) for c in NUMERIC_COLUMNS}
    else:
        merged = {c: np.array([], dtype=np.int64) for c in NUMERIC_COLUMNS}
    table = to_frame(plan, merged)
    if out is not None:
        write_table(table, out)
        assert ckpt is not None
        ckpt.remove()
    return SweepResult(
        table=table,
        out=Path(out) if out is not None else None,
        points=plan.n_points,
        computed=computed,
        resumed=resumed,
        layer_rows=layer_rows,
        kernel_rows=kernel_rows,
        seconds=time.perf_counter() - t0,
    )


def _progress(enabled: bool, total: int, done: int) -> tuple[Any, Any] | None:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("points"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task("sweep", total=total, completed=done)
    bar.start()
    return bar, task


def sweep_table(spec: SweepSpec | dict[str, Any], **kw: Any) -> Any:
    """The results table of ``spec`` (a DataFrame), computed without writing files."""
    return run_sweep(spec, None, **kw).table


__all__ = ["SweepResult", "columns_of", "cpu_count", "run_sweep", "sweep_table"]
