"""Roofline of a trace on a hardware config: each layer's achieved throughput against its intensity.

Throughput counts dense-equivalent operations (2 × M·N·K per GEMM, zeros included), so a layer
running in a sparse mode can rise above the dense compute roof, up to its mode's roof.
Intensity = dense-equivalent operations per byte moved between DRAM and the chip.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from nmsim.plots.breakdown import group_name
from nmsim.plots.labels import place_labels
from nmsim.plots.style import category_colours, new_figure, save_figure, si_scale, styled
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.gemm import GemmResult
from nmsim.sim.simulate import simulate


def peak_ops_per_s(hw: HardwareConfig, dtype: str | None = None) -> float:
    """Dense peak: 2 ops per MAC × PEs × MACs per PE per cycle × clock (ops/s)."""
    dt = dtype or hw.default_dtype
    k_per_pe = hw.array.k_per_pe.get(dt, 1)  # type: ignore[call-overload]
    return 2.0 * hw.array.rows * hw.array.cols * hw.array.cores * k_per_pe * hw.array.clock_ghz * 1e9


def layer_point(r: GemmResult) -> tuple[float, float]:
    """(intensity in ops/byte, throughput in ops/s) of one simulated layer, dense-equivalent."""
    ops = 2.0 * r.dense_macs
    return ops / max(r.dram_bytes, 1), ops / r.latency_s


@styled
def plot_roofline(trace: Trace, hw: HardwareConfig, out: str | os.PathLike[str], label_top: int = 6) -> Path:
    """Draw the roofline of ``trace`` on ``hw`` to ``out``: roofs, one marker per layer (area ∝
    its share of the latency, colour = the hardware mode it ran in); the ``label_top`` slowest
    layers are named."""
    report = simulate(trace, hw)
    peak = peak_ops_per_s(hw)
    bw = hw.memory.dram_bandwidth_gbps * 1e9
    pts = np.array([layer_point(r) for r in report.layers])
    share = np.array([r.latency_s for r in report.layers]) / report.totals.latency_s
    modes = list(dict.fromkeys(r.hw_mode for r in report.layers))
    ratios = sorted({m.m / m.n for m in hw.sparse.mode_set})

    lo_i = min(pts[:, 0].min(), peak / bw) / 4
    hi_i = max(pts[:, 0].max(), peak * (ratios[-1] if ratios else 1) / bw) * 4
    ints = np.geomspace(lo_i, hi_i, 200)
    ydiv, yunit = si_scale([peak * (ratios[-1] if ratios else 1.0)], "op/s")

    fig = new_figure(8.4, 5.2)
    ax = fig.subplots()
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot(ints, np.minimum(peak, bw * ints) / ydiv, color="black", lw=1.4, zorder=2)
    handles = [Line2D([], [], color="black", lw=1.4, label=f"dense roof ({peak / ydiv:.3g} {yunit})")]
    for ratio, style in zip(ratios[::-1], ("--", "-.", ":", (0, (5, 2, 1, 2))), strict=False):
        ax.plot(ints, np.minimum(peak * ratio, bw * ints) / ydiv, color="0.35", lw=1.0, ls=style, zorder=1)
        handles.append(Line2D([], [], color="0.35", lw=1.0, ls=style, label=f"{ratio:g}× sparse roof"))
    ridge = peak / bw
    ax.axvline(ridge, color="0.75", lw=0.8, zorder=0)
    cmap = {m: c for m, c in zip(modes, category_colours(len(modes)), strict=True)}
    sizes = 15 + 400 * share
    for mode in modes:
        idx = [i for i, r in enumerate(report.layers) if r.hw_mode == mode]
        ax.scatter(
            pts[idx, 0],
            pts[idx, 1] / ydiv,
            s=sizes[idx],
            color=cmap[mode],
            alpha=0.75,
            ec="black",
            lw=0.4,
            zorder=3,
        )
        handles.append(Line2D([], [], ls="", marker="o", color=cmap[mode], label=f"layers run {mode}"))
    ax.set_xlim(lo_i, hi_i)
    ymin = min(pts[:, 1].min() / ydiv, bw * lo_i / ydiv) / 3
    ax.set_ylim(ymin, peak * (ratios[-1] if ratios else 1.0) / ydiv * 3)
    ax.set_xlabel("operational intensity (dense-equivalent op / DRAM byte)")
    ax.set_ylabel(f"achieved throughput ({yunit}, dense-equivalent)")
    ax.set_title(
        f"roofline: {trace.name} on {hw.name} ({hw.array.rows}×{hw.array.cols}×{hw.array.cores}, "
        f"{hw.memory.dram_bandwidth_gbps:g} GB/s)",
        fontsize=10,
    )
    ax.legend(handles=handles, loc="lower right", fontsize=7.5, framealpha=0.9)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.11, top=0.92)
    top = np.argsort(-share, kind="stable")[:label_top]
    names: dict[tuple[float, float], list[str]] = {}
    for i in top.tolist():
        spot = names.setdefault((pts[i, 0], pts[i, 1]), [])
        group = group_name(report.layers[i].name)
        if group not in spot:
            spot.append(group)
    xs = [k[0] for k in names]
    ys = [k[1] / ydiv for k in names]
    texts = [", ".join(v) if len(v) <= 2 else f"{v[0]}, {v[1]} …" for v in names.values()]
    place_labels(ax, xs, ys, texts, avoid_x=pts[:, 0], avoid_y=pts[:, 1] / ydiv, fontsize=7)
    return save_figure(fig, out)
