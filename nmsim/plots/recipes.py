"""The recipe plot of one hardware config: training cost stacked by phase, next to inference cost.

A 2×2 grid of horizontal bars, one bar per recipe row: training-run energy and time (stacked by
phase kind, mask work last) on the left, the trained model's inference energy and latency on the
right; inference bars in the recipe's colour (:func:`nmsim.plots.style.recipe_colour`), row labels with
the accuracy in % (mean ± std over seeds, n). Drawn on an Agg canvas without pyplot; the PNG carries no
version or date metadata, so the same rows give the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nmsim.cost.compare import RecipeRow
from nmsim.io.atomic import write_bytes_atomic
from nmsim.plots.style import (
    INFERENCE_COLOUR,
    KIND_COLOURS,
    figure_bytes,
    new_figure,
    recipe_colour,
    si_scale,
    styled,
)

_KIND_LABELS = {
    "dense": "dense phase",
    "decay": "mask decay (MDGF)",
    "structure": "structure decay (SDGF)",
    "sparse": "sparse (fixed / STE / SR-STE / GMP)",
    "finetune": "fine-tune",
    "mask": "mask refresh + SR-STE term",
}


def row_label(row: RecipeRow, with_model: bool = False) -> str:
    """'mdgf 1:8 · 75.0 ± 1.4 % (n=2)': the row's recipe and target, and its accuracy in % (mean ± std, seeds)."""
    text = f"{row.model}: {row.label}" if with_model else row.label
    if row.accuracy is None:
        return text
    acc = f"{100 * row.accuracy:.1f}"
    if row.accuracy_std is not None:
        acc += f" ± {100 * row.accuracy_std:.1f}"
    return f"{text} · {acc} % (n={len(row.accuracies)})"


def render_png(rows: list[RecipeRow], hardware: str, title: str | None = None) -> bytes:
    """The plot of ``rows`` on ``hardware`` as PNG bytes (no pyplot; the package style)."""
    return figure_bytes(_draw(rows, hardware, title), ".png")


@styled
def _draw(rows: list[RecipeRow], hardware: str, title: str | None) -> Any:
    from matplotlib.patches import Patch

    labels = [row_label(r, len({x.model for x in rows}) > 1) for r in rows]
    n = max(1, len(rows))
    height = 2.2 + 0.42 * n
    fig = new_figure(13.0, 2 * height)
    axes = fig.subplots(2, 2, gridspec_kw={"width_ratios": [2.2, 1.0]}, squeeze=False)
    kinds_used: list[str] = []
    for row_i, (what, unit, name) in enumerate((("energy_pj", "J", "energy"), ("latency_s", "s", "time"))):
        ax_t, ax_i = axes[row_i]
        to_base = 1e-12 if what == "energy_pj" else 1.0
        totals = []
        stacks: dict[str, list[float]] = {k: [0.0] * len(rows) for k in KIND_COLOURS}
        for i, r in enumerate(rows):
            tc = r.training
            if tc is None:
                totals.append(0.0)
                continue
            totals.append(getattr(tc.total, what) * to_base)
            for ph in tc.phases:
                stacks[ph.kind][i] += (
                    sum(getattr(ph.by_bucket[b], what) for b in ("fwd", "dgrad", "wgrad")) * to_base
                )
                if tc.options.include_refresh:
                    stacks["mask"][i] += getattr(ph.by_bucket["mask"], what) * to_base
        factor, tunit = si_scale(totals, unit)
        left = [0.0] * len(rows)
        ys = list(range(len(rows)))
        for kind, colour in KIND_COLOURS.items():
            vals = [v / factor for v in stacks[kind]]
            if not any(vals):
                continue
            if kind not in kinds_used:
                kinds_used.append(kind)
            ax_t.barh(ys, vals, left=left, color=colour, edgecolor="white", linewidth=0.6, height=0.7)
            left = [a + b for a, b in zip(left, vals, strict=True)]
        for y, r, total in zip(ys, rows, left, strict=True):
            if r.training is None:
                ax_t.text(0, y, "  no training record", va="center", fontsize=9, color="#777777")
            else:
                ax_t.text(total, y, f" {total:.4g}", va="center", fontsize=9)
        ax_t.set_title(f"training run: {name} by phase", fontsize=11, loc="left")
        ax_t.set_xlabel(f"{name} ({tunit})")
        inf_vals = [getattr(r.inference, what) * to_base for r in rows]
        ifactor, iunit = si_scale(inf_vals, unit)
        scaled = [v / ifactor for v in inf_vals]
        ax_i.barh(ys, scaled, color=[recipe_colour(r.recipe) for r in rows], height=0.7)
        for y, v in zip(ys, scaled, strict=True):
            ax_i.text(v, y, f" {v:.4g}", va="center", fontsize=9)
        ax_i.set_title(f"inference: {name} per forward pass", fontsize=11, loc="left")
        ax_i.set_xlabel(f"{name} ({iunit})")
        for ax in (ax_t, ax_i):
            ax.set_yticks(ys)
            ax.set_yticklabels(labels if ax is ax_t else [""] * len(rows), fontsize=9)
            ax.invert_yaxis()
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            _, hi = ax.get_xlim()
            ax.set_xlim(0, hi * 1.18 if hi > 0 else 1)
    handles = [Patch(color=KIND_COLOURS[k], label=_KIND_LABELS[k]) for k in kinds_used]
    handles.append(Patch(color=INFERENCE_COLOUR, label="inference (bar: recipe colour)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=9, frameon=False)
    fig.suptitle(title or f"Cost per recipe on {hardware}", fontsize=13, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def plot_recipes(
    rows: list[RecipeRow], hardware: str, path: str | os.PathLike[str], title: str | None = None
) -> Path:
    """Write the plot of ``rows`` on ``hardware`` to ``path`` (PNG, atomically)."""
    return write_bytes_atomic(path, render_png(rows, hardware, title))
