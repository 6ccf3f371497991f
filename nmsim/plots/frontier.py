"""The accuracy-vs-efficiency frontier plot: one panel per hardware config, the Pareto frontier labelled.

Every marker sits exactly at its data (no jitter, no display offset): points on the same spot are
drawn as concentric markers of decreasing size and share one label. Colour = recipe, marker = N:M
target (:mod:`nmsim.plots.style`, the same in every plot); hollow markers are published numbers.
Error bars are ± one sample standard deviation over the cell's seeds (faint, without caps, off the
frontier of a panel with more than :data:`CROWDED` points). The black staircase is the
Pareto frontier and the shaded region what it dominates; only frontier points are labelled (at most
``max_labels`` per panel, spread along the frontier), with leader lines, never overlapping, kept off
the staircase and the dense-accuracy line where they can be (:mod:`nmsim.plots.labels`).
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from nmsim.explore.frontier import FrontierPoint, x_axis, y_axis
from nmsim.explore.pareto import frontier_order
from nmsim.plots.labels import place_labels
from nmsim.plots.style import (
    FRONTIER_COLOUR,
    new_figure,
    recipe_colour,
    save_figure,
    si_scale,
    styled,
    target_marker,
)
from nmsim.schemas.cell import density_percent
from nmsim.sparsity import try_pattern

MARKER_PT = 7.0  # marker size (points) of a lone point
MAX_LABELS = 20
LABEL_ROOM = (
    0.2  # share of a panel's height kept above its best accuracy: a 2-line label clear of a row of markers
)
CROWDED = 100  # points in a panel above which error bars off the frontier are drawn faint

_Y_UNITS = {
    "energy_pj": ("energy", "J", 1e-12),
    "latency_s": ("latency", "s", 1.0),
    "edp": ("EDP", "J·s", 1.0),
}


def y_format(points: Sequence[FrontierPoint], y: str) -> tuple[float, str]:
    """(multiplier from a point's ``y`` to the plotted value, axis label)."""
    if y_axis(y).key == "accuracy":
        return 1.0, "accuracy (%)"
    if y == "pe_utilization":
        return 100.0, "PE utilization (%)"
    if y in _Y_UNITS:
        title, unit, base = _Y_UNITS[y]
        div, label = si_scale([p.y * base for p in points], unit)
        return base / div, f"{title} ({label})"
    return 1.0, y_axis(y).title


def x_format(points: Sequence[FrontierPoint], x: str) -> tuple[float, str]:
    """(divisor from a point's ``x`` (s, J, J·s) to the plotted value, axis label)."""
    xa = x_axis(x)
    div, unit = si_scale([p.x for p in points], xa.unit)
    return div, f"{xa.title} ({unit})"


def _marker_key(p: FrontierPoint) -> tuple[str, float | None]:
    return (p.pattern or p.target, p.density)


def _target_name(pattern: str, density: float | None) -> str:
    sparsity = try_pattern(pattern, density)
    if sparsity is not None and sparsity.is_unstructured and density is not None:
        return f"unstr. {density_percent(density)}%"
    return pattern or "(none)"


def _sizes(pts: Sequence[FrontierPoint]) -> list[float]:
    """Marker areas (pt²): points sharing a spot get decreasing sizes, so each stays visible."""
    spots: dict[tuple[float, float], int] = {}
    out = []
    for p in pts:
        k = spots.get((p.x, p.y), 0)
        spots[(p.x, p.y)] = k + 1
        out.append((MARKER_PT * 0.72**k) ** 2)
    return out


def _draw_points(ax: Any, pts: Sequence[FrontierPoint], xdiv: float, ymul: float) -> None:
    sizes = _sizes(pts)
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for i, p in enumerate(pts):
        key = (p.recipe, target_marker(*_marker_key(p)), p.source == "published")
        groups.setdefault(key, []).append(i)
    for (recipe, marker, hollow), idx in groups.items():
        colour = to_rgba(recipe_colour(recipe))
        xs = np.array([pts[i].x / xdiv for i in idx])
        ys = np.array([pts[i].y * ymul for i in idx])
        front = np.array([pts[i].on_front for i in idx])
        face = np.array([(*colour[:3], 0.0 if hollow else (1.0 if f else 0.55)) for f in front])
        edge = np.array([to_rgba("black") if f else colour for f in front])
        ax.scatter(
            xs,
            ys,
            s=[sizes[i] for i in idx],
            marker=marker,
            facecolors=face,
            edgecolors=edge,
            linewidths=[1.0 if f else 0.6 for f in front],
            zorder=4,
        )
        crowded = len(pts) > CROWDED
        for on in (True, False):
            err = [i for i in idx if pts[i].n > 1 and pts[i].on_front == on]
            if not err:
                continue
            faint = crowded and not on  # many points: bars off the frontier drawn faint, without caps
            ax.errorbar(
                [pts[i].x / xdiv for i in err],
                [pts[i].y * ymul for i in err],
                yerr=[pts[i].y_std * ymul for i in err],
                fmt="none",
                ecolor=(*colour[:3], 0.25) if faint else colour,
                elinewidth=0.5 if faint else 0.9,
                capsize=0 if faint else 2.5,
                zorder=3,
            )


def _staircase(
    ax: Any, pts: Sequence[FrontierPoint], xdiv: float, ymul: float, maximize_y: bool
) -> tuple[list[float], list[float]]:
    """The Pareto staircase through the frontier points (by x) to the right edge; the region it
    dominates shaded. Returns the staircase's vertices (data coordinates)."""
    xs = np.array([p.x / xdiv for p in pts])
    front = frontier_order(xs, np.array([p.on_front for p in pts]))
    if len(front) == 0:
        return [], []
    fx = xs[front].tolist()
    fy = [pts[i].y * ymul for i in front]
    right = ax.get_xlim()[1]
    vx, vy = [fx[0]], [fy[0]]
    for a, b in zip(range(len(fx) - 1), range(1, len(fx)), strict=True):
        vx += [fx[b], fx[b]]
        vy += [fy[a], fy[b]]
    vx.append(right)
    vy.append(fy[-1])
    ax.plot(vx, vy, color=FRONTIER_COLOUR, lw=1.5, zorder=2, label="Pareto frontier", solid_joinstyle="miter")
    worse = ax.get_ylim()[0] if maximize_y else ax.get_ylim()[1]
    ax.fill_between(vx, vy, worse, color="0.5", alpha=0.09, lw=0, zorder=0)
    return vx, vy


def _limits(ax: Any, xs: list[float], log_x: bool) -> None:
    """x room for labels (15 % left, 30 % right of the points' span)."""
    lo, hi = min(xs), max(xs)
    if log_x and lo > 0:
        span = math.log10(hi / lo) if hi > lo else 0.3
        ax.set_xlim(lo / 10 ** (0.15 * span + 0.05), hi * 10 ** (0.3 * span + 0.05))
    else:
        span = hi - lo if hi > lo else max(abs(hi) * 0.1, 1e-12)
        left = lo - 0.15 * span
        ax.set_xlim(0.0 if lo >= 0 > left else left, hi + 0.3 * span)


def frontier_spots(pts: Sequence[FrontierPoint]) -> dict[tuple[float, float], list[str]]:
    """The frontier points of one panel by spot (x, y), by x: the labels of the points drawn there
    (one label names them all)."""
    spots: dict[tuple[float, float], list[str]] = {}
    for p in sorted((p for p in pts if p.on_front), key=lambda p: (p.x, p.y)):
        names = spots.setdefault((p.x, p.y), [])
        if p.label not in names:
            names.append(p.label)
    return spots


def count_spots(points: Sequence[FrontierPoint]) -> int:
    """How many frontier labels ``points`` need: frontier spots summed over the panels (groups)."""
    groups = dict.fromkeys(p.group for p in points)
    return sum(len(frontier_spots([p for p in points if p.group == g])) for g in groups)


def _label_spots(
    pts: Sequence[FrontierPoint], xdiv: float, ymul: float, max_labels: int
) -> tuple[list[float], list[float], list[str], int]:
    """Frontier spots (x, y, text), by x, at most ``max_labels`` spread evenly along the frontier;
    points on one spot share a label. Also returns the number of frontier spots."""
    spots = frontier_spots(pts)
    keys = list(spots)
    if len(keys) > max_labels:
        pick = sorted({round(v) for v in np.linspace(0, len(keys) - 1, max_labels)})
        keys = [keys[i] for i in pick]
    return (
        [k[0] / xdiv for k in keys],
        [k[1] * ymul for k in keys],
        [shared_label(spots[k]) for k in keys],
        len(spots),
    )


def shared_label(names: Sequence[str], width: int = 34, max_lines: int = 4) -> str:
    """One label for the points on one spot, their common trailing words said once ('gradual,
    mdgf-exp, srste 2:4'); wrapped at ``width`` characters, at most ``max_lines`` lines (then '+k more')."""
    suffix = ""
    words = [n.split(" ") for n in names]
    common = 0
    while (
        len(names) > 1
        and all(len(w) > common + 1 for w in words)
        and len({w[-1 - common] for w in words}) == 1
    ):
        common += 1
    if common:
        suffix = " " + " ".join(words[0][-common:])
        names = [" ".join(w[:-common]) for w in words]
    for keep in range(len(names), 0, -1):
        more = [f"+{len(names) - keep} more"] if keep < len(names) else []
        text = ", ".join([*names[:keep], *more]) + suffix
        lines = textwrap.wrap(text, width, break_long_words=False)
        if len(lines) <= max_lines:
            return "\n".join(lines)
    return "\n".join(textwrap.wrap(names[0] + suffix, width)[:max_lines])


@styled
def draw_frontier(
    points: Sequence[FrontierPoint],
    x: str = "latency",
    y: str = "accuracy",
    title: str | None = None,
    log_x: bool | None = None,
    max_labels: int = MAX_LABELS,
) -> Figure:
    """The frontier figure of ``points`` (from :func:`nmsim.explore.frontier.trace_points` or
    ``sweep_points``), not yet saved. ``log_x``: default when x spans more than 30×."""
    if not points:
        raise ValueError("draw_frontier needs at least one point")
    xa = x_axis(x)
    maximize_y = not y_axis(y).minimize
    groups = list(dict.fromkeys(p.group for p in points))
    xdiv, xlabel = x_format(points, x)
    ymul, ylabel = y_format(points, y)
    xs_all = [p.x / xdiv for p in points]
    if log_x is None:
        pos = [v for v in xs_all if v > 0]
        log_x = bool(pos) and max(pos) / min(pos) > 30

    handles = _legend_entries(points)
    ncol, legend_in = _legend_layout(handles)
    width = 5.4 * len(groups) + 0.2 + legend_in
    fig = new_figure(width, 4.8)
    axes = fig.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    right = 1.0 - legend_in / width
    fig.subplots_adjust(left=0.9 / width + 0.02, right=right, bottom=0.13, top=0.84, wspace=0.08)
    ys = [p.y * ymul + s * p.y_std * ymul for p in points for s in (-1, 0, 1)]
    lo, hi = min(ys), max(ys)
    span = hi - lo if hi > lo else max(abs(hi) * 0.01, 1e-6)
    top = hi + 0.3 * span
    best = max(p.y for p in points)
    if y_axis(y).key == "accuracy" and best <= 100.0:
        # room for labels, not for accuracies above 100 %: LABEL_ROOM of the panel above the best point
        bottom = lo - 0.2 * span
        room = (best * ymul - LABEL_ROOM * bottom) / (1.0 - LABEL_ROOM)
        top = min(top, max(100.0 + 0.08 * span, room))
    lines: list[list[tuple[list[float], list[float]]]] = []  # per panel: the lines labels keep off
    for ax, g in zip(axes, groups, strict=True):
        pts = [p for p in points if p.group == g]
        if log_x:
            ax.set_xscale("log")
        _limits(ax, [p.x / xdiv for p in pts], log_x)
        ax.set_ylim(lo - 0.2 * span, top)
        _draw_points(ax, pts, xdiv, ymul)
        dense = [p.y * ymul for p in pts if p.recipe == "dense" and p.pattern in ("dense", "")]
        for yd in dense:
            ax.axhline(yd, color=recipe_colour("dense"), ls=":", lw=0.8, zorder=1)
        lines.append(
            [_staircase(ax, pts, xdiv, ymul, maximize_y), *((list(ax.get_xlim()), [yd, yd]) for yd in dense)]
        )
        ax.set_xlabel(xlabel)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        if not log_x:
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_title(g, fontsize=10)
    axes[0].set_ylabel(ylabel)
    _legends(fig, handles, ncol, right)
    ns = sorted({p.n for p in points})
    sub = ""
    if any(n > 1 for n in ns):
        nrange = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}–{ns[-1]}"
        sub = f"\nerror bars: ± 1 std over seeds ({nrange} per point)"
    fig.suptitle((title or f"{y_axis(y).title} vs {xa.title}") + sub, fontsize=10.5)
    notes = []
    for ax, g, avoid in zip(axes, groups, lines, strict=True):
        pts = [p for p in points if p.group == g]
        lx, ly, texts, n_spots = _label_spots(pts, xdiv, ymul, max_labels)
        placed = place_labels(
            ax,
            lx,
            ly,
            texts,
            avoid_x=[p.x / xdiv for p in pts],
            avoid_y=[p.y * ymul for p in pts],
            avoid_lines=avoid,
            marker_pt=MARKER_PT,
            max_labels=max_labels,
        )
        if len(placed.placed) < n_spots:
            n_front = sum(p.on_front for p in pts)
            what = "points" if n_front == n_spots else f"spots ({n_front} points)"
            notes.append(f"{g + ': ' if g else ''}{len(placed.placed)} of {n_spots} frontier {what} labelled")
    if notes:
        fig.text(0.01, 0.01, "; ".join(notes) + " (all points: --csv)", fontsize=7, color="0.35")
    return fig


def _legend_entries(points: Sequence[FrontierPoint]) -> list[Line2D]:
    """One legend, in one column or several: 'recipe' (colours), 'N:M target' (markers), then lines."""
    recipes = list(dict.fromkeys(sorted(p.recipe for p in points)))
    targets = sorted({_marker_key(p) for p in points}, key=lambda t: (-(t[1] or 0.0), t[0]))
    handles: list[Line2D] = []
    if len(recipes) > 1 or recipes != [""]:
        handles.append(Line2D([], [], ls="", marker="", label="recipe"))
        handles += [
            Line2D([], [], ls="", marker="o", color=recipe_colour(r), mec="none", label=r or "(untrained)")
            for r in recipes
        ]
    by_marker: dict[str, list[str]] = {}
    for t in targets:
        by_marker.setdefault(target_marker(*t), []).append(_target_name(*t))
    if len(targets) > 1:
        handles.append(Line2D([], [], ls="", marker="", label="N:M target"))
        handles += [
            Line2D([], [], ls="", marker=m, color="0.35", label=" / ".join(names))
            for m, names in by_marker.items()
        ]
    handles.append(Line2D([], [], color=FRONTIER_COLOUR, lw=1.5, label="Pareto frontier"))
    if any(p.recipe == "dense" and p.pattern in ("dense", "") for p in points):
        handles.append(Line2D([], [], color=recipe_colour("dense"), ls=":", lw=0.8, label="dense accuracy"))
    if any(p.source == "published" for p in points):
        handles.append(
            Line2D([], [], ls="", marker="o", mfc="none", color="0.35", label="published (hollow)")
        )
    return handles


#: Legend rows that fit beside a 4.8-inch-high panel at the style's 8-point legend font.
_LEGEND_ROWS = 24


def _legend_layout(handles: Sequence[Line2D]) -> tuple[int, float]:
    """(columns, inches) the legend needs: as many columns as keep it within the panel's height."""
    ncol = max(1, math.ceil(len(handles) / _LEGEND_ROWS))
    longest = max((len(str(h.get_label())) for h in handles), default=8)
    col_in = 0.5 + 0.062 * longest
    return ncol, ncol * col_in + 0.15


def _legends(fig: Figure, handles: Sequence[Line2D], ncol: int, right: float) -> None:
    leg = fig.legend(
        handles=list(handles),
        loc="upper left",
        bbox_to_anchor=(right + 0.005, 0.86),
        ncol=ncol,
        frameon=False,
        handletextpad=0.4,
        columnspacing=1.0,
    )
    for text, h in zip(leg.get_texts(), handles, strict=True):
        if h.get_marker() in ("", "None", None) and h.get_linestyle() in ("", "None"):
            text.set_fontweight("bold")  # the section headers


def plot_frontier(
    points: Sequence[FrontierPoint],
    out: str | os.PathLike[str],
    x: str = "latency",
    y: str = "accuracy",
    title: str | None = None,
    log_x: bool | None = None,
    max_labels: int = MAX_LABELS,
) -> Path:
    """Draw ``points`` (see :func:`draw_frontier`) to ``out`` (.png, .svg, .pdf)."""
    return save_figure(draw_frontier(points, x, y, title, log_x, max_labels), out)
