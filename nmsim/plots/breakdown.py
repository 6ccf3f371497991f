"""Per-layer breakdown of a trace on a hardware config: energy by component, PE utilization, latency.

Layers repeated through a model (``enc0.ff1`` … ``enc5.ff1``) are grouped by their name with the
block numbers replaced by ``*`` (``by="group"``), summed; ``by="layer"`` keeps every layer.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmsim.engine.layout import ENERGY_PARTS
from nmsim.errors import NmsimInputError
from nmsim.plots.style import category_colours, new_figure, save_figure, si_scale, styled
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.simulate import simulate

_NUM = re.compile(r"\d+")
MAX_BARS = 40
PART_LABELS = {
    "mac": "MAC",
    "ifmap_sram": "ifmap SRAM",
    "filter_sram": "filter SRAM",
    "ofmap_sram": "ofmap SRAM",
    "dram": "DRAM",
    "metadata": "metadata",
    "mux": "operand mux",
    "static": "static",
}


@dataclass(frozen=True)
class BarRow:
    """One bar: energy per component (pJ), latency (s), issued MACs, cycles, and the layer count."""

    name: str
    energy_pj: dict[str, float]
    latency_s: float
    issued_macs: int
    cycles: int
    layers: int


def group_name(name: str) -> str:
    """Block numbers merged: ``enc3.self.q`` → ``enc*.self.q``, ``layers.11.mlp.fc1`` → ``layers.*.mlp.fc1``
    (the last component keeps its digits: ``ff1`` and ``ff2`` are different layers)."""
    head, dot, last = name.rpartition(".")
    return _NUM.sub("*", head) + dot + last if dot else name


def breakdown_rows(trace: Trace, hw: HardwareConfig, by: str = "group") -> list[BarRow]:
    """Bars in trace order (first appearance). More than :data:`MAX_BARS` → the rest as 'other'."""
    if by not in ("group", "layer"):
        raise NmsimInputError("--by", "'group' (block numbers merged) or 'layer'", by)
    report = simulate(trace, hw)
    acc: dict[str, dict[str, float]] = {}
    for r in report.layers:
        key = group_name(r.name) if by == "group" else r.name
        a = acc.setdefault(
            key, {"latency": 0.0, "issued": 0, "cycles": 0, "layers": 0, **dict.fromkeys(ENERGY_PARTS, 0.0)}
        )
        a["latency"] += r.latency_s
        a["issued"] += r.issued_macs
        a["cycles"] += r.cycles
        a["layers"] += 1
        for p in ENERGY_PARTS:
            a[p] += r.energy_breakdown_pj[p]
    rows = [
        BarRow(
            k,
            {p: a[p] for p in ENERGY_PARTS},
            a["latency"],
            int(a["issued"]),
            int(a["cycles"]),
            int(a["layers"]),
        )
        for k, a in acc.items()
    ]
    if len(rows) > MAX_BARS:
        keep = sorted(rows, key=lambda b: -sum(b.energy_pj.values()))[: MAX_BARS - 1]
        kept = [b for b in rows if b in keep]
        rest = [b for b in rows if b not in keep]
        other = BarRow(
            f"other ({sum(b.layers for b in rest)} layers)",
            {p: sum(b.energy_pj[p] for b in rest) for p in ENERGY_PARTS},
            sum(b.latency_s for b in rest),
            sum(b.issued_macs for b in rest),
            sum(b.cycles for b in rest),
            sum(b.layers for b in rest),
        )
        rows = [*kept, other]
    return rows


@styled
def plot_breakdown(trace: Trace, hw: HardwareConfig, out: str | os.PathLike[str], by: str = "group") -> Path:
    """Draw energy by component, PE utilization and latency share per layer (group) to ``out``."""
    rows = breakdown_rows(trace, hw, by)
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    parts = [p for p in ENERGY_PARTS if any(b.energy_pj[p] > 0 for b in rows)]
    totals = [sum(b.energy_pj.values()) for b in rows]
    ediv, eunit = si_scale([t * 1e-12 for t in totals], "J")
    n = len(rows)
    height = max(3.2, 0.24 * n + 1.9)
    fig = new_figure(11.0, height)
    ax_e, ax_u, ax_t = fig.subplots(1, 3, sharey=True, gridspec_kw={"width_ratios": [3.0, 1.3, 1.3]})
    y = np.arange(n)
    left = np.zeros(n)
    colours = dict(zip(ENERGY_PARTS, category_colours(len(ENERGY_PARTS)), strict=True))
    for p in parts:
        vals = np.array([b.energy_pj[p] * 1e-12 / ediv for b in rows])
        ax_e.barh(y, vals, left=left, color=colours[p], label=PART_LABELS.get(p, p), height=0.72)
        left += vals
    util = [min(1.0, b.issued_macs / (pes * b.cycles)) * 100 if b.cycles else 0.0 for b in rows]
    ax_u.barh(y, util, color="tab:green", height=0.72)
    total_lat = sum(b.latency_s for b in rows)
    ax_t.barh(y, [100 * b.latency_s / total_lat for b in rows], color="tab:gray", height=0.72)
    labels = [f"{b.name} ×{b.layers}" if b.layers > 1 else b.name for b in rows]
    ax_e.set_yticks(y, labels, fontsize=7.5 if n > 20 else 8.5)
    ax_e.invert_yaxis()
    ax_e.set_xlabel(f"energy ({eunit})")
    ax_u.set_xlabel("PE utilization (%)")
    ax_u.set_xlim(0, 100)
    ax_u.set_xticks([0, 25, 50, 75, 100])
    ax_t.set_xlim(0, None)
    ax_t.set_xlabel("share of latency (%)")
    for ax in (ax_e, ax_u, ax_t):
        ax.grid(axis="y", visible=False)
    ax_e.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0 + 0.35 / height),
        ncol=min(4, len(parts)),
        frameon=False,
        fontsize=8,
    )
    fig.suptitle(
        f"per-layer breakdown: {trace.name} on {hw.name} ({hw.array.rows}×{hw.array.cols}×{hw.array.cores} "
        f"{hw.array.dataflow}, {hw.default_dtype})",
        fontsize=10,
        y=1.0 - 0.12 / height,
    )
    longest = max(len(s) for s in labels)
    fig.subplots_adjust(
        left=min(0.4, 0.012 + 0.0062 * longest),
        right=0.98,
        bottom=0.55 / height + 0.02,
        top=1.0 - 0.95 / height,
        wspace=0.12,
    )
    return save_figure(fig, out)
