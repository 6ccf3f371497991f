"""Point labels that never overlap: greedy placement in display space, each label joined to its
point by a leader line.

Each label tries spots on rings of growing radius around its point; a spot is taken only when the
label's box stays inside the axes, clears every label placed before it (and its leader line crosses
none of them), and the box reads as naming its own point: no other marker touches the box nearer
than the point does, and the point is the marker nearest the box's centre unless the leader line is
long enough to follow and passes no other marker (display space); the nearest such spot wins. A label with no such spot
is left out (reported in :attr:`Placement.dropped`), so the labels drawn never overlap. At most
``max_labels`` are drawn: callers pass the points in priority order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from nmsim.plots.style import LEADER_COLOUR

#: Ring radii (points) and directions (degrees, preferred first) tried around each point.
RADII_PT = (9.0, 16.0, 26.0, 38.0, 52.0, 70.0, 92.0, 120.0)
ANGLES_DEG = (45, 135, 0, 180, -45, -135, 90, -90, 22, 158, -22, -158, 68, 112, -68, -112)
GAP_PX = 2.0  # clearance kept between two labels' boxes
OWN_MARGIN_PX = 4.0  # a label box must be this much nearer its own point than any other marker
LONG_LEADER = 3.0  # a leader line this many marker widths long is followed to its point


@dataclass
class Placement:
    """The labels drawn (``annotations``, in input order of ``placed``) and the inputs left out."""

    annotations: list[Any] = field(default_factory=list)
    placed: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


def text_box(ann: Any, renderer: Any) -> Bbox:
    """The display box of a label's text (not its leader line)."""
    ann.update_positions(renderer)
    return Text.get_window_extent(ann, renderer)


def _align(c: float, s: float) -> tuple[str, str]:
    ha = "left" if c > 0.35 else "right" if c < -0.35 else "center"
    va = "bottom" if s > 0.35 else "top" if s < -0.35 else "center"
    return ha, va


def _box_at(px: float, py: float, w: float, h: float, ha: str, va: str) -> Bbox:
    x0 = px if ha == "left" else px - w if ha == "right" else px - w / 2
    y0 = py if va == "bottom" else py - h if va == "top" else py - h / 2
    return Bbox.from_bounds(x0, y0, w, h)


def _segment_hits(a: np.ndarray, b: np.ndarray, box: Bbox) -> bool:
    """Whether the segment a→b passes through ``box`` (sampled; boxes are wider than the step)."""
    for t in np.linspace(0.0, 1.0, 24):
        p = a + t * (b - a)
        if box.x0 < p[0] < box.x1 and box.y0 < p[1] < box.y1:
            return True
    return False


def _nearest_on_box(p: np.ndarray, box: Bbox) -> np.ndarray:
    return np.array([min(max(p[0], box.x0), box.x1), min(max(p[1], box.y0), box.y1)])


def box_distance(points: np.ndarray, box: Bbox) -> np.ndarray:
    """Display distance (px) from each of ``points`` (n×2, px) to ``box`` (0 inside it)."""
    dx = np.maximum(np.maximum(box.x0 - points[:, 0], points[:, 0] - box.x1), 0.0)
    dy = np.maximum(np.maximum(box.y0 - points[:, 1], points[:, 1] - box.y1), 0.0)
    return np.hypot(dx, dy)


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Display distance (px) from each of ``points`` (n×2) to the segment a→b."""
    ab = b - a
    t = np.clip(((points - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.hypot(*(points - (a + t[:, None] * ab)).T)


def _owns(box: Bbox, anchor: np.ndarray, marks: np.ndarray, same_px: float) -> bool:
    """Whether the label box ``box`` reads as naming its own point (display px): no other marker
        touches the box (comes within two marker widths, 2 × ``same_px``, of it) nearer than the point does, and either the
        point is the marker nearest the box's centre (by :data:`OWN_MARGIN_PX`) or the leader line is
        long enough to be followed (:data:`LONG_LEADER` marker widths) and passes no other marker by
    less than ``same_px``. Markers within ``same_px`` of
        the point are drawn on it and count as the point."""
    others = marks[np.hypot(*(marks - anchor).T) > same_px] if len(marks) else marks
    if not len(others):
        return True
    own_edge = float(box_distance(anchor[None, :], box)[0])
    if box_distance(others, box).min() <= min(own_edge + OWN_MARGIN_PX, 2 * same_px):
        return False
    if own_edge >= LONG_LEADER * same_px:  # a long leader is followed unless it runs past a marker
        return bool(_segment_distance(others, anchor, _nearest_on_box(anchor, box)).min() > same_px)
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    return bool(np.hypot(*(others - centre).T).min() > np.hypot(*(anchor - centre)) + OWN_MARGIN_PX)


def place_labels(
    ax: Any,
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    *,
    avoid_x: Sequence[float] | None = None,
    avoid_y: Sequence[float] | None = None,
    marker_pt: float = 7.0,
    fontsize: float = 7.5,
    max_labels: int = 20,
) -> Placement:
    """Label points (data coordinates) of ``ax`` without overlaps; markers at (``avoid_x``, ``avoid_y``)
    (default: the labelled points) are kept clear where possible. Call after the axes' limits and
    the figure layout are final. Returns what was drawn and what was left out."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    anchors = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    ax_ = list(avoid_x) if avoid_x is not None else list(xs)
    ay_ = list(avoid_y) if avoid_y is not None else list(ys)
    marks = ax.transData.transform(np.column_stack([ax_, ay_])) if ax_ else np.zeros((0, 2))
    half = marker_pt * px_per_pt / 2
    placed_boxes: list[Bbox] = []
    out = Placement()
    for i, (x, y, text) in enumerate(zip(xs, ys, texts, strict=True)):
        if len(out.placed) >= max_labels:
            out.dropped.append(i)
            continue
        probe = ax.text(0, 0, text, fontsize=fontsize, transform=None)
        ext = probe.get_window_extent(renderer)
        probe.remove()
        w, h = ext.width + 2 * GAP_PX, ext.height + 2 * GAP_PX
        best: tuple[float, float, str, str] | None = None
        for r in RADII_PT:
            for deg in ANGLES_DEG:
                c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
                ha, va = _align(c, s)
                px, py = anchors[i, 0] + c * r * px_per_pt, anchors[i, 1] + s * r * px_per_pt
                box = _box_at(px, py, w, h, ha, va)
                if not (
                    frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
                ):
                    continue
                if any(box.overlaps(b) for b in placed_boxes):
                    continue
                end = _nearest_on_box(anchors[i], box)
                if any(_segment_hits(anchors[i], end, b) for b in placed_boxes):
                    continue
                if not _owns(box, anchors[i], marks, 2 * half):
                    continue
                best = (px - anchors[i, 0], py - anchors[i, 1], ha, va)
                break
            if best is not None:
                break
        if best is None:
            out.dropped.append(i)
            continue
        dx, dy, ha, va = best
        ann = ax.annotate(
            text,
            (x, y),
            xytext=(dx / px_per_pt, dy / px_per_pt),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=fontsize,
            zorder=6,
            arrowprops={"arrowstyle": "-", "color": LEADER_COLOUR, "lw": 0.8, "shrinkA": 1, "shrinkB": 3},
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
        )
        real = text_box(ann, renderer).expanded(1.0, 1.0)
        real = Bbox.from_extents(real.x0 - GAP_PX, real.y0 - GAP_PX, real.x1 + GAP_PX, real.y1 + GAP_PX)
        if any(real.overlaps(b) for b in placed_boxes):  # measurement disagreed with the probe: leave it out
            ann.remove()
            out.dropped.append(i)
            continue
        placed_boxes.append(real)
        out.annotations.append(ann)
        out.placed.append(i)
    return out
