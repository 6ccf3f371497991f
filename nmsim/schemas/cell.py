"""The cell a trained trace belongs to, and the one rule for naming its recipe.

A *cell* is everything that makes two trained models different experiments rather than two seeds of
one: the model and task, the recipe (the grid's name for it), the N:M target and the fraction of
weights kept (GMP at 1/8 and at 1/16 are different cells although both are 'unstructured'), the
metric's variant (:attr:`Metrics.variant`: a decay rate, a longer dense run, ...), where the number
comes from (measured or published) and the training-settings hash. Seeds of one cell are averaged
(mean ± sample std, n); different cells never are.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nmsim.schemas.trace import Trace
from nmsim.sparsity import Pattern, try_pattern

_SEED_SUFFIX = re.compile(r"[-_](s|seed)\d+$")
_TARGET_SUFFIX = re.compile(r"[-_]\d+[x:]\d+$")


def recipe_label(trace: Trace) -> str:
    """The training recipe as the grid names it (``mdgf-linear``, ``sdgf-stepwise``, ``gmp`` …); '' if untrained.

    The trainer's ``cell`` parameter wins; otherwise the recipe with its ``decay``/``structure``
    parameter (``mdgf-exp``); otherwise the recipe name.
    """
    rec = trace.training
    if rec is None:
        return ""
    cell = rec.params.get("cell")
    if isinstance(cell, str) and cell:
        return cell
    for key in ("decay", "structure"):
        extra = rec.params.get(key)
        if isinstance(extra, str) and extra:
            return f"{rec.recipe}-{extra}"
    return rec.recipe


def target_label(trace: Trace) -> str:
    """The pattern the weights were trained to (``'2:4'``, ``'dense'``, ``'unstructured'``); '' if untrained."""
    return trace.training.target if trace.training is not None else ""


def target_density(trace: Trace) -> float | None:
    """Fraction of the sparsified weights kept at the end of training (1.0 dense, n/m for N:M).

    Unstructured targets (GMP): ``training.target_density`` when recorded, else the density of the
    last phase's unstructured layer states (what the schedule ended at). None when untrained or unknown.
    """
    rec = trace.training
    if rec is None:
        return None
    target = rec.target_sparsity
    if rec.target_density is not None or target.density is not None:
        return rec.target_density if rec.target_density is not None else target.density
    last = rec.phases[-1]
    found = [s.density for s in (last.default, *last.layers.values()) if s.density is not None]
    return round(min(found), 4) if found else None


def model_name(trace: Trace) -> str:
    """The trace's name without its trailing seed (``-s1``), target (``-1x8``) and recipe parts."""
    name = _SEED_SUFFIX.sub("", trace.name)
    name = _TARGET_SUFFIX.sub("", name)
    if trace.training is not None:
        for label in dict.fromkeys((recipe_label(trace), trace.training.recipe)):
            name = re.sub(rf"[-_]{re.escape(label)}$", "", name)
    return name


@dataclass(frozen=True, order=True)
class CellKey:
    """What tells two experiments apart (everything but the seed).

    ``density``: fraction of weights kept (None: untrained or unknown); ``variant``: ``Metrics.variant``
    ('' when none); ``source``: ``measured`` or ``published``; ``settings_hash``: '' when not recorded.
    """

    model: str
    task: str
    recipe: str
    pattern: str
    density: float | None
    variant: str
    source: str
    settings_hash: str

    @property
    def sparsity(self) -> Pattern | None:
        """``pattern`` as a typed value; None when untrained ('') or not a pattern (a table's free text)."""
        return try_pattern(self.pattern, self.density)

    @property
    def target(self) -> str:
        """The target as a reader names it: ``'2:4'``, ``'dense'``, ``'12.5%'`` (unstructured at 1/8)."""
        if self.sparsity is not None and self.sparsity.is_unstructured and self.density is not None:
            return f"{density_percent(self.density)}%"
        return self.pattern

    @property
    def label(self) -> str:
        """'mdgf-exp 1:8', 'gmp 12.5%', 'dense'; the variant in brackets; '(published)' when not measured here."""
        recipe = self.recipe or self.model or "trace"
        text = (
            recipe
            if not self.pattern
            or (self.sparsity is not None and self.sparsity.is_dense)
            or recipe == self.pattern
            else f"{recipe} {self.target}"
        )
        if self.variant:
            text += f" [{self.variant}]"
        if self.source == "published":
            text += " (published)"
        return text


def density_percent(density: float) -> str:
    """``0.125`` → ``'12.5'``, ``0.0625`` → ``'6.25'`` (at most 3 significant digits, no trailing zeros)."""
    return f"{100 * density:.3g}"


def cell_key(trace: Trace) -> CellKey:
    """The cell of ``trace`` (see :class:`CellKey`)."""
    m = trace.metrics
    rec = trace.training
    dens = target_density(trace)
    return CellKey(
        model=model_name(trace),
        task=m.task if m is not None else "",
        recipe=recipe_label(trace),
        pattern=target_label(trace),
        density=None if dens is None else round(dens, 6),
        variant=(m.variant or "") if m is not None else "",
        source=m.source if m is not None else "measured",
        settings_hash=(rec.settings_hash or "") if rec is not None else "",
    )


def group_cells(traces: Iterable[Trace]) -> dict[CellKey, list[Trace]]:
    """Traces by cell, in first-appearance order (each list holds one cell's seeds)."""
    out: dict[CellKey, list[Trace]] = {}
    for t in traces:
        out.setdefault(cell_key(t), []).append(t)
    return out


@dataclass(frozen=True)
class SeedStats:
    """Mean, sample standard deviation (ddof 1; 0.0 for a single value) and count of one cell's seeds."""

    mean: float
    std: float
    n: int


def seed_stats(values: Sequence[float]) -> SeedStats:
    """:class:`SeedStats` of ``values`` (at least one finite value)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not vals:
        raise ValueError("seed_stats needs at least one finite value")
    std = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return SeedStats(statistics.fmean(vals), std, len(vals))


#: The cell's columns in a sweep's results table (``target`` is :attr:`CellKey.pattern`;
#: ``target_density`` NaN when unknown; the metric's ``variant``/``source`` as ``metric_*``).
CELL_COLUMNS: tuple[str, ...] = (
    "model",
    "task",
    "recipe",
    "target",
    "target_density",
    "metric_variant",
    "metric_source",
    "settings_hash",
)


def cell_columns(key: CellKey) -> dict[str, str | float]:
    """``key`` as the values of :data:`CELL_COLUMNS`."""
    return {
        "model": key.model,
        "task": key.task,
        "recipe": key.recipe,
        "target": key.pattern,
        "target_density": math.nan if key.density is None else key.density,
        "metric_variant": key.variant,
        "metric_source": key.source,
        "settings_hash": key.settings_hash,
    }


def key_from_columns(row: dict[str, object]) -> CellKey:
    """The :class:`CellKey` of a results row (columns of :data:`CELL_COLUMNS`; missing ones empty)."""

    def text(col: str, default: str = "") -> str:
        v = row.get(col, default)
        return default if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

    dens = row.get("target_density")
    try:
        density = None if dens in (None, "") else float(dens)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        density = None
    if density is not None and math.isnan(density):
        density = None
    return CellKey(
        model=text("model"),
        task=text("task"),
        recipe=text("recipe"),
        pattern=text("target"),
        density=density,
        variant=text("metric_variant"),
        source=text("metric_source", "measured") or "measured",
        settings_hash=text("settings_hash"),
    )
