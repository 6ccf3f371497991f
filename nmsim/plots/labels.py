"""Point labels that never overlap: greedy placement in display space, each label joined to its
point by a leader line.

Each label tries spots on rings of growing radius around its point; a spot is taken only when the
label's box stays inside the axes, clears every label placed before it (and its leader line crosses
none of them), and the box reads as naming its own point: no other marker touches the box nearer
than the point does, and the point is the marker nearest the box's centre unless the leader line is
long enough to follow and passes no other marker (display space): the *plain* rules. Spots are
tried in the passes of :data:`LEVELS` over all labels, each label taking the nearest spot of the
first pass that has one: the *strict* pass adds that the box crosses none of the ``avoid_lines``
(the Pareto staircase, the dense-accuracy line: exact segment/box clipping), that the leader as
drawn (from the box's centre to the point) neither runs along one of them (it would be invisible)
nor crosses a label, and that the box is nearer its own point than any other marker (by
:data:`OWN_MARGIN_PX`); the next passes drop those rules one at a time (any marker, then the
lines), keeping the box nearer its own point than any other labelled point, and the last pass is
the plain rules alone. Labels placed in an earlier pass keep their spots, so a label that needs
looser rules cannot take the spot of one that reads cleanly. A label with no
spot is left out (reported in :attr:`Placement.dropped`), so the labels drawn never overlap. At most
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
#: The passes, in order, each on top of the plain rules: (box clear of ``avoid_lines`` and the
#: leader as drawn not along them nor across a label, box nearer its own point than any other
#: marker, box nearer its own point than any other labelled point).
LEVELS = ((True, True, True), (True, False, True), (False, False, True), (False, False, False))
#: Boxes straight above or below the point that start or end at its x (after the centred ones):
#: room for a wide label near the axes' left or right edge. (degrees, horizontal alignment)
SIDE_SPOTS = ((90, "left"), (90, "right"), (-90, "left"), (-90, "right"))
GAP_PX = 2.0  # clearance kept between two labels' boxes
OWN_MARGIN_PX = 4.0  # a label box must be this much nearer its own point than any other marker
LONG_LEADER = 3.0  # a leader line this many marker widths long is followed to its point
ALONG_PX = 2.5  # a leader whose middle and end are this near one avoided segment runs along it


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


def clip_segment(a: np.ndarray, b: np.ndarray, box: Bbox) -> tuple[float, float] | None:
    """The part of the segment a→b inside the closed ``box`` as parameters (t0, t1), 0 ≤ t0 ≤ t1 ≤ 1
    along a→b (exact: Liang–Barsky clipping), or None when the segment misses the box."""
    t0, t1 = 0.0, 1.0
    d = b - a
    for p, q in (
        (-d[0], a[0] - box.x0),
        (d[0], box.x1 - a[0]),
        (-d[1], a[1] - box.y0),
        (d[1], box.y1 - a[1]),
    ):
        if p == 0.0:
            if q < 0.0:  # parallel to this edge and outside it
                return None
            continue
        t = q / p
        if p < 0.0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return float(t0), float(t1)


def _segment_hits(a: np.ndarray, b: np.ndarray, box: Bbox) -> bool:
    """Whether the segment a→b passes through ``box`` (exact)."""
    return clip_segment(a, b, box) is not None


def _centre(box: Bbox) -> np.ndarray:
    return np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])


def _leader_end(anchor: np.ndarray, box: Bbox) -> np.ndarray:
    """Where the leader line as drawn (from the box's centre to the point, clipped by the box) meets
    the box."""
    centre = _centre(box)
    clip = clip_segment(anchor, centre, box)
    return anchor + (clip[0] if clip else 1.0) * (centre - anchor)


def _segments(lines: Sequence[tuple[Sequence[float], Sequence[float]]], ax: Any) -> np.ndarray:
    """The polylines ``lines`` ((xs, ys) in data coordinates) as display segments (n×2×2, px);
    segments with a non-finite end (a log axis at 0) are left out."""
    segs = []
    for xs, ys in lines:
        if len(xs) < 2:
            continue
        pts = ax.transData.transform(np.column_stack([xs, ys]))
        seg = np.stack([pts[:-1], pts[1:]], axis=1)
        segs.append(seg[np.isfinite(seg).all(axis=(1, 2))])
    return np.concatenate(segs) if segs else np.zeros((0, 2, 2))


def segment_distances(points: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Display distance (px) from each of ``points`` (n×2) to each segment of ``segs`` (m×2×2): n×m."""
    a, ab = segs[None, :, 0], (segs[:, 1] - segs[:, 0])[None]
    d = points[:, None] - a
    t = np.clip((d * ab).sum(axis=2) / np.maximum((ab * ab).sum(axis=2), 1e-12), 0.0, 1.0)
    return np.hypot(*np.moveaxis(d - t[..., None] * ab, 2, 0))


def _clear_of_lines(box: Bbox, anchor: np.ndarray, segs: np.ndarray) -> bool:
    """The line rules of the first two passes: the box crosses no segment and the leader as drawn does not
    run along one (its middle and its end both within :data:`ALONG_PX` of the same segment)."""
    if any(_segment_hits(s[0], s[1], box) for s in segs):
        return False
    end = _leader_end(anchor, box)
    mid_near, end_near = segment_distances(np.array([(anchor + end) / 2, end]), segs) <= ALONG_PX
    return not (mid_near & end_near).any()


def _others(marks: np.ndarray, anchor: np.ndarray, same_px: float) -> np.ndarray:
    """The markers farther than ``same_px`` from ``anchor`` (nearer ones are drawn on the point)."""
    return marks[np.hypot(*(marks - anchor).T) > same_px] if len(marks) else marks


def _nearer_than_others(box: Bbox, anchor: np.ndarray, marks: np.ndarray, same_px: float) -> bool:
    """Whether the box is nearer its own point than any other marker (by :data:`OWN_MARGIN_PX`);
    markers within ``same_px`` of the point count as the point."""
    others = _others(marks, anchor, same_px)
    if not len(others):
        return True
    own = float(box_distance(anchor[None, :], box)[0])
    return bool(box_distance(others, box).min() > own + OWN_MARGIN_PX)


def _nearest_on_box(p: np.ndarray, box: Bbox) -> np.ndarray:
    return np.array([min(max(p[0], box.x0), box.x1), min(max(p[1], box.y0), box.y1)])


def box_distance(points: np.ndarray, box: Bbox) -> np.ndarray:
    """Display distance (px) from each of ``points`` (n×2, px) to ``box`` (0 inside it)."""
    dx = np.maximum(np.maximum(box.x0 - points[:, 0], points[:, 0] - box.x1), 0.0)
    dy = np.maximum(np.maximum(box.y0 - points[:, 1], points[:, 1] - box.y1), 0.0)
    return np.hypot(dx, dy)


def _owns(box: Bbox, anchor: np.ndarray, marks: np.ndarray, same_px: float) -> bool:
    """Whether the label box ``box`` reads as naming its own point (display px): no other marker
        touches the box (comes within two marker widths, 2 × ``same_px``, of it) nearer than the point does, and either the
        point is the marker nearest the box's centre (by :data:`OWN_MARGIN_PX`) or the leader line is
        long enough to be followed (:data:`LONG_LEADER` marker widths) and passes no other marker by
    less than ``same_px``. Markers within ``same_px`` of
        the point are drawn on it and count as the point."""
    others = _others(marks, anchor, same_px)
    if not len(others):
        return True
    own_edge = float(box_distance(anchor[None, :], box)[0])
    if box_distance(others, box).min() <= min(own_edge + OWN_MARGIN_PX, 2 * same_px):
        return False
    if own_edge >= LONG_LEADER * same_px:  # a long leader is followed unless it runs past a marker
        leader = np.array([[anchor, _nearest_on_box(anchor, box)]])
        return bool(segment_distances(others, leader).min() > same_px)
    centre = _centre(box)
    return bool(np.hypot(*(others - centre).T).min() > np.hypot(*(anchor - centre)) + OWN_MARGIN_PX)


@dataclass
class _Frame:
    """What every spot of one call is checked against (display px)."""

    frame: Bbox
    marks: np.ndarray
    anchors: np.ndarray
    segs: np.ndarray
    same_px: float
    placed: list[Bbox]


def _ring() -> list[tuple[float, str | None]]:
    """The spots tried on each ring, preferred first: (degrees, horizontal alignment or None for
    the one :func:`_align` gives)."""
    return [*((float(d), None) for d in ANGLES_DEG), *((float(d), ha) for d, ha in SIDE_SPOTS)]


def _spot(
    anchor: np.ndarray, w: float, h: float, r_px: float, at: tuple[float, str | None], f: _Frame, level: int
) -> tuple[float, float, str, str] | None:
    """The label box of size w×h on the ring ``r_px`` at ``at`` (:func:`_ring`) around ``anchor``,
    as (dx, dy, ha, va) from the point, when it passes the rules of ``level`` (a row of
    :data:`LEVELS`), else None."""
    lines, near_all, near_labelled = LEVELS[level]
    c, s = math.cos(math.radians(at[0])), math.sin(math.radians(at[0]))
    ha, va = _align(c, s)
    ha = at[1] or ha
    px, py = anchor[0] + c * r_px, anchor[1] + s * r_px
    box = _box_at(px, py, w, h, ha, va)
    fr = f.frame
    if not (fr.x0 <= box.x0 and box.x1 <= fr.x1 and fr.y0 <= box.y0 and box.y1 <= fr.y1):
        return None
    if any(box.overlaps(b) for b in f.placed):
        return None
    leaders = [_nearest_on_box(anchor, box)] + ([_leader_end(anchor, box)] if lines else [])
    if any(_segment_hits(anchor, end, b) for end in leaders for b in f.placed):
        return None
    if not _owns(box, anchor, f.marks, f.same_px):
        return None
    if lines and not _clear_of_lines(box, anchor, f.segs):
        return None
    if near_all and not _nearer_than_others(box, anchor, f.marks, f.same_px):
        return None
    if near_labelled and not _nearer_than_others(box, anchor, f.anchors, f.same_px):
        return None
    return px - anchor[0], py - anchor[1], ha, va


def place_labels(
    ax: Any,
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    *,
    avoid_x: Sequence[float] | None = None,
    avoid_y: Sequence[float] | None = None,
    avoid_lines: Sequence[tuple[Sequence[float], Sequence[float]]] = (),
    marker_pt: float = 7.0,
    fontsize: float = 7.5,
    max_labels: int = 20,
) -> Placement:
    """Label points (data coordinates) of ``ax`` without overlaps; markers at (``avoid_x``, ``avoid_y``)
    (default: the labelled points) and the polylines ``avoid_lines`` ((xs, ys) in data coordinates,
    each segment straight on screen) are kept clear where possible. Labels with a spot that passes
    the strict rules are placed first (in input order), then the others: clear of the lines where
    they can be, else under the plain rules. Call
    after the axes' limits and the figure layout are final. Returns what was drawn and what was left out."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    anchors = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    ax_ = list(avoid_x) if avoid_x is not None else list(xs)
    ay_ = list(avoid_y) if avoid_y is not None else list(ys)
    marks = ax.transData.transform(np.column_stack([ax_, ay_])) if ax_ else np.zeros((0, 2))
    segs = _segments(avoid_lines, ax)
    f = _Frame(ax.get_window_extent(renderer), marks, anchors, segs, marker_pt * px_per_pt, [])
    sizes = []
    for text in texts:
        probe = ax.text(0, 0, text, fontsize=fontsize, transform=None)
        ext = probe.get_window_extent(renderer)
        probe.remove()
        sizes.append((ext.width + 2 * GAP_PX, ext.height + 2 * GAP_PX))
    drawn: dict[int, Any] = {}
    todo = list(range(len(texts)))
    ring = _ring()
    for level in range(len(LEVELS)):
        for i in list(todo):
            if len(drawn) >= max_labels:
                break
            best = next(
                (
                    spot
                    for r in RADII_PT
                    for at in ring
                    if (spot := _spot(anchors[i], *sizes[i], r * px_per_pt, at, f, level)) is not None
                ),
                None,
            )
            if best is None:
                continue
            todo.remove(i)
            dx, dy, ha, va = best
            ann = ax.annotate(
                texts[i],
                (xs[i], ys[i]),
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
            if any(real.overlaps(b) for b in f.placed):  # measurement disagreed with the probe: leave it out
                ann.remove()
                continue
            f.placed.append(real)
            drawn[i] = ann
    out = Placement()
    for i in range(len(texts)):
        if i in drawn:
            out.placed.append(i)
            out.annotations.append(drawn[i])
        else:
            out.dropped.append(i)
    return out
