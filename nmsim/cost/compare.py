"""One row per recipe (and N:M target): accuracy, inference cost, training-run cost, FLOPs vs dense.

Traces of the same model trained with the same recipe, target and executed schedule (e.g. several
seeds) form one row: accuracy is their mean (and spread), the costs are the first trace's (the same
schedule on the same model costs the same). A trace without a training record is an inference-only
row, simulated at its own patterns or at ``nm`` over ``scope``.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from nmsim.cost.flops import count_flops
from nmsim.cost.options import CostOptions
from nmsim.cost.training import TrainingCost, training_cost
from nmsim.schemas.cell import cell_key, model_name, recipe_label
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.report import Totals
from nmsim.sim.simulate import simulate
from nmsim.workloads.scope import apply_nm

INFERENCE_ONLY = "(inference only)"


@dataclass
class RecipeRow:
    """A recipe's row on one hardware config (units: s, pJ, FLOPs; utilization in [0, 1])."""

    model: str
    recipe: str
    target: str
    traces: list[str]
    metric: str | None
    accuracies: list[float]
    inference: Totals
    inference_flops: float
    pes: int
    training: TrainingCost | None = None
    notes: list[str] = field(default_factory=list)
    variant: str = ""
    source: str = "measured"

    @property
    def accuracy(self) -> float | None:
        return statistics.fmean(self.accuracies) if self.accuracies else None

    @property
    def accuracy_std(self) -> float | None:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else None

    @property
    def recipe_text(self) -> str:
        """The recipe with its variant in brackets and '(published)' for a paper's figure."""
        text = self.recipe
        if self.variant:
            text += f" [{self.variant}]"
        if self.source == "published":
            text += " (published)"
        return text

    @property
    def label(self) -> str:
        """'mdgf-exp 1:8', 'gmp 12.5%', 'dense'; variant and source as in :attr:`recipe_text`."""
        if self.target == "dense":
            return self.recipe_text
        return self.recipe_text.replace(self.recipe, f"{self.recipe} {self.target}", 1)

    def phase_kind_share(self, what: str = "energy_pj") -> dict[str, float]:
        """Share of the run's ``energy_pj`` or ``latency_s`` per phase kind, mask work as ``mask``."""
        if self.training is None:
            return {}
        out: dict[str, float] = {}
        opts = self.training.options
        for ph in self.training.phases:
            gemms = sum(getattr(ph.by_bucket[b], what) for b in ("fwd", "dgrad", "wgrad"))
            out[ph.kind] = out.get(ph.kind, 0.0) + gemms
            if opts.include_refresh:
                out["mask"] = out.get("mask", 0.0) + getattr(ph.by_bucket["mask"], what)
        total = sum(out.values())
        return {k: v / total for k, v in out.items()} if total else out

    def to_dict(self) -> dict[str, Any]:
        inf = self.inference
        d: dict[str, Any] = {
            "model": self.model,
            "recipe": self.recipe,
            "target": self.target,
            "variant": self.variant,
            "source": self.source,
            "traces": self.traces,
            "seeds": len(self.traces),
            "metric": self.metric,
            "accuracy": self.accuracy,
            "accuracy_std": self.accuracy_std,
            "accuracies": self.accuracies,
            "inference": {
                "latency_s": inf.latency_s,
                "energy_pj": inf.energy_pj,
                "pe_utilization": inf.pe_utilization,
                "cycles": inf.cycles,
                "flops": self.inference_flops,
            },
            "training": self.training.to_dict() if self.training else None,
            "notes": self.notes,
        }
        return d


def _row_key(trace: Trace) -> tuple[Any, ...]:
    """Traces with equal keys are seeds of one row: same cell (variant, source, target density …)
    and the same executed schedule on the same layers."""
    dims = tuple((la.name, la.m, la.n, la.k, la.repeat, la.pattern) for la in trace.layers)
    rec = trace.training
    if rec is None:
        return ("inference", trace.name, dims)
    phases = tuple(p.model_dump_json() for p in rec.phases)
    return (cell_key(trace), rec.recipe, rec.total_steps, phases, dims)


def _target_of(trace: Trace, nm: str | None, scope: str) -> str:
    if trace.training is not None:
        return cell_key(trace).target
    if nm is not None:
        return f"{nm} ({scope})"
    patterns = sorted({la.pattern for la in trace.layers if not la.sparsity.is_dense})
    return ",".join(patterns) if patterns else "dense"


def recipe_rows(
    traces: list[Trace],
    hw: HardwareConfig,
    options: CostOptions | None = None,
    nm: str | None = None,
    scope: str = "ff",
) -> list[RecipeRow]:
    """Rows for ``traces`` on ``hw``, sorted by model, target density (dense first) and recipe."""
    opts = options or CostOptions()
    groups: dict[tuple[Any, ...], list[Trace]] = {}
    for t in traces:
        groups.setdefault(_row_key(t), []).append(t)
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    rows: list[RecipeRow] = []
    for members in groups.values():
        first = members[0]
        run = first
        notes: list[str] = []
        if first.training is None and nm is not None:
            run = apply_nm(first, nm, scope)
        elif first.training is not None and nm is not None:
            notes.append("--nm applies to traces without a training record only")
        accs = [t.metrics.accuracy for t in members if t.metrics and t.metrics.accuracy is not None]
        metric = next((t.metrics.metric for t in members if t.metrics), None)
        key = cell_key(first) if first.training is not None else None
        rows.append(
            RecipeRow(
                model=model_name(first),
                recipe=recipe_label(first) or INFERENCE_ONLY,
                target=_target_of(first, nm, scope),
                traces=[t.name for t in members],
                metric=metric,
                accuracies=[float(a) for a in accs if a is not None],
                inference=simulate(run, hw, residency=opts.residency).totals,
                inference_flops=count_flops(run).total,
                pes=pes,
                training=training_cost(first, hw, opts) if first.training else None,
                notes=notes,
                variant=key.variant if key else "",
                source=key.source if key else "measured",
            )
        )
    rows.sort(key=_row_order)
    return rows


def _density_of(target: str) -> float:
    m = re.match(r"^(\d+):(\d+)", target)
    if m:
        return int(m.group(1)) / int(m.group(2))
    pct = re.match(r"^(\d+(?:\.\d+)?)%", target)
    if pct:
        return float(pct.group(1)) / 100
    return 1.0 if target.startswith("dense") else 0.5


def _row_order(row: RecipeRow) -> tuple[Any, ...]:
    return (
        row.model,
        -_density_of(row.target),
        row.recipe != "dense",
        row.recipe,
        row.variant,
        row.traces[0],
    )
