"""The recipe plot of one hardware config: training cost stacked by phase, next to inference cost.

A 2×2 grid of horizontal bars, one bar per recipe row: training-run energy and time (stacked by
phase kind, mask work last) on the left, the trained model's inference energy and latency on the
right. Rendered with matplotlib's Agg backend; the PNG carries no version or date metadata, so the
same rows give the same bytes.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from nmsim.cost.compare import RecipeRow
from nmsim.io.atomic import write_bytes_atomic

#: Phase kinds in stacking order, with their colours (colour-blind-safe Okabe–Ito palette).
KIND_COLOURS: dict[str, str] = {
    "dense": "#0072B2",
    "decay": "#E69F00",
    "structure": "#009E73",
    "sparse": "#CC79A7",
    "finetune": "#56B4E9",
    "mask": "#D55E00",
}
_KIND_LABELS = {
    "dense": "dense phase",
    "decay": "mask decay (MDGF)",
    "structure": "structure decay (SDGF)",
    "sparse": "sparse (fixed / STE / SR-STE / GMP)",
    "finetune": "fine-tune",
    "mask": "mask refresh + SR-STE term",
}
_INFERENCE_COLOUR = "#555555"


def _si(values: list[float], unit: str) -> tuple[float, str]:
    """(factor, unit label) of the SI prefix that puts the largest value in [1, 1000)."""
    top = max((abs(v) for v in values), default=0.0)
    for factor, prefix in (
        (1e-12, "p"),
        (1e-9, "n"),
        (1e-6, "µ"),
        (1e-3, "m"),
        (1.0, ""),
        (1e3, "k"),
        (1e6, "M"),
    ):
        if top < factor * 1000:
            return factor, f"{prefix}{unit}"
    return 1e9, f"G{unit}"


def render_png(rows: list[RecipeRow], hardware: str, title: str | None = None) -> bytes:
    """The plot of ``rows`` on ``hardware`` as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.model}: {r.label}" if len({x.model for x in rows}) > 1 else r.label for r in rows]
    n = max(1, len(rows))
    height = 2.2 + 0.42 * n
    fig, axes = plt.subplots(
        2, 2, figsize=(13.0, 2 * height), gridspec_kw={"width_ratios": [2.2, 1.0]}, squeeze=False
    )
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
        factor, tunit = _si(totals, unit)
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
        ifactor, iunit = _si(inf_vals, unit)
        scaled = [v / ifactor for v in inf_vals]
        ax_i.barh(ys, scaled, color=_INFERENCE_COLOUR, height=0.7)
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
    handles = [matplotlib.patches.Patch(color=KIND_COLOURS[k], label=_KIND_LABELS[k]) for k in kinds_used]
    handles.append(matplotlib.patches.Patch(color=_INFERENCE_COLOUR, label="inference"))
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=9, frameon=False)
    fig.suptitle(title or f"Cost per recipe on {hardware}", fontsize=13, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def plot_recipes(
    rows: list[RecipeRow], hardware: str, path: str | os.PathLike[str], title: str | None = None
) -> Path:
    """Write the plot of ``rows`` on ``hardware`` to ``path`` (PNG, atomically)."""
    return write_bytes_atomic(path, render_png(rows, hardware, title))
