"""The accuracy-vs-efficiency frontier plot: one panel per hardware config, the Pareto frontier labelled."""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from nmsim.explore.frontier import FrontierPoint, x_axis, y_axis
from nmsim.explore.pareto import frontier_order
from nmsim.explore.plotting import new_figure, place_labels, save_figure, si_scale, styled

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*")


_Y_UNITS = {
    "energy_pj": ("energy", "J", 1e-12),
    "latency_s": ("latency", "s", 1.0),
    "edp": ("EDP", "J·s", 1.0),
}


def _y_format(points: Sequence[FrontierPoint], y: str) -> tuple[float, str]:
    """(multiplier, axis label): accuracies in [0, 1] in percent, energies and times SI-scaled."""
    if y == "accuracy" and all(0.0 <= p.y <= 1.0 for p in points):
        return 100.0, "accuracy (%)"
    if y == "pe_utilization":
        return 100.0, "PE utilization (%)"
    if y in _Y_UNITS:
        title, unit, base = _Y_UNITS[y]
        div, label = si_scale([p.y * base for p in points], unit)
        return base / div, f"{title} ({label})"
    return 1.0, y_axis(y).title


@styled
def plot_frontier(
    points: Sequence[FrontierPoint],
    out: str | os.PathLike[str],
    x: str = "latency",
    y: str = "accuracy",
    title: str | None = None,
    log_x: bool | None = None,
) -> Path:
    """Draw ``points`` (from :func:`nmsim.explore.frontier.trace_points` or ``sweep_points``) to ``out``.

    Colour = recipe, marker = N:M target, error bars = range over seeds, black staircase = the
    Pareto frontier (its points labelled). ``log_x``: default when x spans more than 30×.
    """
    xa = x_axis(x)
    groups = list(dict.fromkeys(p.group for p in points))
    recipes = sorted({p.recipe for p in points})
    targets = sorted({p.target for p in points}, key=_target_order)
    cmap = _colours(len(recipes))
    colour = {r: cmap[i] for i, r in enumerate(recipes)}
    marker = {t: _MARKERS[i % len(_MARKERS)] for i, t in enumerate(targets)}
    xdiv, xunit = si_scale([p.x for p in points], xa.unit)
    ymul, ylabel = _y_format(points, y)
    xs_all = [p.x / xdiv for p in points]
    if log_x is None:
        pos = [v for v in xs_all if v > 0]
        log_x = bool(pos) and max(pos) / min(pos) > 30

    width = 5.2 * len(groups) + 2.6
    fig = new_figure(width, 4.6)
    axes = fig.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    for ax, g in zip(axes, groups, strict=True):
        pts = [p for p in points if p.group == g]
        dodge = _dodges(pts)
        for p, dx in zip(pts, dodge, strict=True):
            yerr = None
            if p.n > 1:
                yerr = [[(p.y - p.y_lo) * ymul], [(p.y_hi - p.y) * ymul]]
            ax.errorbar(
                p.x / xdiv,
                p.y * ymul,
                yerr=yerr,
                fmt=marker[p.target],
                color=colour[p.recipe],
                ms=6,
                mec="black" if p.on_front else colour[p.recipe],
                mew=0.9 if p.on_front else 0.5,
                alpha=1.0 if p.on_front else 0.6,
                elinewidth=0.8,
                capsize=2,
                zorder=3 if p.on_front else 2,
                transform=offset_copy(ax.transData, fig=fig, x=dx, y=0.0, units="points"),
            )
        xs = np.array([p.x / xdiv for p in pts])
        front = frontier_order(xs, np.array([p.on_front for p in pts]))
        fx = xs[front]
        fy = np.array([pts[i].y * ymul for i in front])
        ax.step(fx, fy, where="post", color="black", lw=1.1, zorder=1)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(f"{xa.title} ({xunit})")
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        if not log_x:
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_title(g if g else "", fontsize=10)
        _pad_x(ax, xs, log_x)
    _pad_y(axes[0], [v * ymul for p in points for v in (p.y_lo, p.y, p.y_hi)])
    axes[0].set_ylabel(ylabel)
    recipe_handles = [
        Line2D([], [], ls="", marker="o", color=colour[r], label=r or "(untrained)") for r in recipes
    ]
    target_handles = [
        Line2D([], [], ls="", marker=marker[t], color="0.35", label=t or "(none)") for t in targets
    ]
    front_handle = [Line2D([], [], color="black", lw=1.1, label="Pareto frontier")]
    right = 1.0 - 2.4 / width
    fig.subplots_adjust(left=0.75 / width * 1.0 + 0.04, right=right, bottom=0.12, top=0.86, wspace=0.08)
    if len(recipes) > 1:
        leg1 = fig.legend(
            handles=recipe_handles,
            title="recipe",
            loc="upper left",
            bbox_to_anchor=(right + 0.01, 0.88),
            frameon=False,
        )
        fig.add_artist(leg1)
    fig.legend(
        handles=(target_handles if len(targets) > 1 else []) + front_handle,
        title="N:M target" if len(targets) > 1 else None,
        loc="lower left",
        bbox_to_anchor=(right + 0.01, 0.1),
        frameon=False,
    )
    fig.suptitle(title or f"{y_axis(y).title} vs {xa.title}", fontsize=11)
    for ax, g in zip(axes, groups, strict=True):
        pts = [p for p in points if p.group == g]
        xs_l, ys_l, texts = _front_labels([p for p in pts if p.on_front], xdiv, ymul)
        place_labels(ax, xs_l, ys_l, texts)
    return save_figure(fig, out)


def _coincident(pts: Sequence[FrontierPoint]) -> dict[tuple[float, float], list[int]]:
    same: dict[tuple[float, float], list[int]] = {}
    for i, p in enumerate(pts):
        same.setdefault((p.x, p.y), []).append(i)
    return same


def _dodges(pts: Sequence[FrontierPoint]) -> list[float]:
    """Horizontal offsets (points) spreading markers that sit on the same spot side by side."""
    out = [0.0] * len(pts)
    for idx in _coincident(pts).values():
        for j, i in enumerate(idx):
            out[i] = (j - (len(idx) - 1) / 2) * 7.0
    return out


def _front_labels(
    on: Sequence[FrontierPoint], xdiv: float, ymul: float
) -> tuple[list[float], list[float], list[str]]:
    """One label per spot: points that coincide share it ('srste 2:4, ste 2:4')."""
    xs, ys, texts = [], [], []
    for idx in _coincident(on).values():
        names = [on[i].label for i in idx]
        xs.append(on[idx[0]].x / xdiv)
        ys.append(on[idx[0]].y * ymul)
        text = (", " if len(names) <= 2 else "\n").join(names)
        texts.append("\n".join(textwrap.wrap(text, 34, break_long_words=False)) if "\n" not in text else text)
    return xs, ys, texts


def _target_order(t: str) -> tuple[float, str]:
    if ":" in t:
        n, m = t.split(":")
        return (int(n) / int(m), t)
    return (2.0 if t == "dense" else 3.0, t)


def _colours(n: int) -> list[tuple[float, ...]]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _pad_x(ax: object, xs: np.ndarray, log_x: bool) -> None:
    """Room around the points for their labels (15 % left, 30 % right)."""
    if len(xs) == 0:
        return
    lo, hi = float(np.min(xs)), float(np.max(xs))
    if log_x and lo > 0:
        span = math.log10(hi / lo) if hi > lo else 0.3
        ax.set_xlim(lo / 10 ** (0.15 * span + 0.05), hi * 10 ** (0.3 * span + 0.05))  # type: ignore[attr-defined]
    else:
        span = hi - lo if hi > lo else max(abs(hi) * 0.1, 1e-12)
        left = lo - 0.15 * span
        ax.set_xlim(0.0 if lo >= 0 > left else left, hi + 0.3 * span)  # type: ignore[attr-defined]


def _pad_y(ax: object, ys: list[float]) -> None:
    """y limits from all panels' points (and error bars): 20 % below, 30 % above for labels."""
    lo, hi = min(ys), max(ys)
    span = hi - lo if hi > lo else max(abs(hi) * 0.01, 1e-6)
    ax.set_ylim(lo - 0.2 * span, hi + 0.3 * span)  # type: ignore[attr-defined]
