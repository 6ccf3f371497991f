"""Frontier labels read cleanly: a label's leader does not run along the Pareto staircase (where it
would be invisible) and its box does not sit on the staircase; a label is nearer its own point than
any other frontier marker, so the front is labelled point by point. The layouts are the published
T5X-Base frontier's ([PGF] Tables 4 and 12 on nvidia_a100_sxm and vegeta), the panels where both
defects were seen. The segment/box clipping under the placement is checked exactly."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from nmsim.explore.frontier import FrontierPoint, mark_front
from nmsim.plots.frontier import draw_frontier
from nmsim.plots.labels import clip_segment, segment_distances

matplotlib.use("Agg")

#: Energy (J) of the four columns of the T5 panels: FF 1:8 + QKV 1:4, FF 1:8 + QK 1:8, FF-only, dense.
COLUMNS = {
    "nvidia_a100_sxm": (6.058623, 6.363279, 6.824341, 8.049663),
    "vegeta": (43.39189, 46.746648, 51.822317, 68.547612),
}
#: (recipe, target, column, accuracy %, published variant): the T5 rows.
ROWS = [
    ("dense", "dense", 3, 86.2, ""),
    ("sdgf-stepwise+qkv1:4", "1:8", 0, 80.3, "dense-10k"),
    ("sdgf-stepwise+qkv1:8", "1:8", 0, 79.5, "dense-10k"),
    *(("sdgf-geometric+qkv1:4", "1:8", 0, a, v) for a, v in ((76.8, "dense-0"), (78.9, "dense-10k"))),
    *(("sdgf-geometric+qkv1:8", "1:8", 0, a, v) for a, v in ((75.5, "dense-0"), (75.8, "dense-10k"))),
    *(("srste+qkv1:4", "1:8", 0, a, v) for a, v in ((75.1, "dense-0"), (78.0, "dense-10k"))),
    *(("srste+qkv1:8", "1:8", 0, a, v) for a, v in ((73.2, "dense-0"), (74.2, "dense-10k"))),
    ("sdgf-stepwise+qk1:8", "1:8", 1, 80.7, "dense-10k"),
    *(("sdgf-geometric+qk1:8", "1:8", 1, a, v) for a, v in ((75.8, "dense-0"), (76.8, "dense-10k"))),
    *(("srste+qk1:8", "1:8", 1, a, v) for a, v in ((74.4, "dense-0"), (75.8, "dense-10k"))),
    *(("srste", "1:4", 2, a, v) for a, v in ((83.1, "dense-0"), (84.1, "dense-10k"))),
    *(("srste", "1:32", 2, a, v) for a, v in ((77.1, "dense-0"), (79.4, "dense-10k"))),
    *(("sdgf-geometric", "1:4", 2, a, v) for a, v in ((83.3, "dense-0"), (83.4, "dense-10k"))),
    *(("sdgf-geometric", "1:32", 2, a, v) for a, v in ((77.6, "dense-0"), (79.3, "dense-10k"))),
    ("sdgf-stepwise", "1:4", 2, 83.7, "dense-10k"),
    ("sdgf-stepwise", "1:32", 2, 80.9, "dense-10k"),
]
DENSITY = {"dense": 1.0, "1:4": 0.25, "1:8": 0.125, "1:32": 0.03125}


def t5_points(hw: str) -> list[FrontierPoint]:
    pts = []
    for recipe, target, col, acc, variant in ROWS:
        tag = f" [{variant}]" if variant else ""
        label = f"{recipe} {target}{tag} (published)" if recipe != "dense" else "dense (published)"
        pts.append(
            FrontierPoint(
                label,
                recipe,
                target,
                hw,
                COLUMNS[hw][col],
                acc,
                0.0,
                1,
                target,
                DENSITY[target],
                variant=variant,
                source="published",
            )
        )
    return mark_front(pts)


def labels(fig: object) -> list[tuple[Annotation, Bbox, np.ndarray, object]]:
    """(annotation, drawn box, its point on screen, its axes) for every label of ``fig``."""
    fig.canvas.draw()  # type: ignore[attr-defined]
    out = []
    for ax in fig.axes:  # type: ignore[attr-defined]
        for a in ax.texts:
            if isinstance(a, Annotation):
                out.append((a, a.get_bbox_patch().get_window_extent(), ax.transData.transform(a.xy), ax))
    return out


def staircase(ax: object) -> np.ndarray:
    """The Pareto staircase's segments on screen (n×2×2)."""
    (line,) = [ln for ln in ax.lines if ln.get_label() == "Pareto frontier"]  # type: ignore[attr-defined]
    xy = ax.transData.transform(line.get_xydata())  # type: ignore[attr-defined]
    return np.stack([xy[:-1], xy[1:]], axis=1)


def crosses(seg: np.ndarray, box: Bbox) -> bool:
    """An axis-parallel segment meets a box: the intervals overlap on both axes."""
    (x0, y0), (x1, y1) = seg
    return min(x0, x1) <= box.x1 and max(x0, x1) >= box.x0 and min(y0, y1) <= box.y1 and max(y0, y1) >= box.y0


def distance_to_segment(p: np.ndarray, seg: np.ndarray) -> float:
    a, b = seg
    t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0.0, 1.0)
    return float(np.hypot(*(p - (a + t * (b - a)))))


def drawn_leader(box: Bbox, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The leader as matplotlib draws it: from the box's centre towards the point, starting where
    it leaves the box (point outside the box); returns (middle, end at the box)."""
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    d = point - centre
    # the ray centre + s·d leaves the box at the smallest s reaching an edge it heads for
    exits = [(box.x1 - centre[0]) / d[0] if d[0] > 0 else (box.x0 - centre[0]) / d[0] if d[0] < 0 else np.inf]
    exits += [
        (box.y1 - centre[1]) / d[1] if d[1] > 0 else (box.y0 - centre[1]) / d[1] if d[1] < 0 else np.inf
    ]
    end = centre + min(exits) * d
    return (point + end) / 2, end


def test_clip_segment_is_exact() -> None:
    box = Bbox.from_extents(0.0, 0.0, 10.0, 10.0)
    seg = [np.array(p, dtype=float) for p in ((-5, 5), (15, 5))]
    assert clip_segment(*seg, box) == pytest.approx((0.25, 0.75))
    assert clip_segment(np.array([-10.0, -10.0]), np.array([20.0, 20.0]), box) == pytest.approx(
        (1 / 3, 2 / 3)
    )
    assert clip_segment(np.array([5.0, -5.0]), np.array([5.0, 20.0]), box) == pytest.approx((0.2, 0.6))
    assert clip_segment(np.array([10.0, -5.0]), np.array([10.0, 20.0]), box) == pytest.approx(
        (0.2, 0.6)
    )  # on an edge
    assert clip_segment(np.array([11.0, -5.0]), np.array([11.0, 20.0]), box) is None  # parallel, outside
    assert (
        clip_segment(np.array([9.0, 12.0]), np.array([12.0, 9.0]), box) is None
    )  # passes the corner (x+y=21)
    assert clip_segment(np.array([2.0, 3.0]), np.array([2.0, 3.0]), box) == (0.0, 1.0)  # a point inside
    # a long segment grazing the corner: 0.5 % of it inside, between two of 24 evenly spaced samples
    a, b = np.array([-1000.0, 1010.5]), np.array([1010.5, -1000.0])
    assert clip_segment(a, b, box) == pytest.approx((1000.5 / 2010.5, 1010.0 / 2010.5))


def test_clip_segment_agrees_with_fine_sampling() -> None:
    rng = np.random.default_rng(3)
    box = Bbox.from_extents(-1.0, -2.0, 3.0, 1.0)
    t = np.linspace(0.0, 1.0, 20001)
    for _ in range(300):
        a, b = rng.uniform(-6.0, 6.0, 2), rng.uniform(-6.0, 6.0, 2)
        p = a + t[:, None] * (b - a)
        inside = t[(p[:, 0] >= box.x0) & (p[:, 0] <= box.x1) & (p[:, 1] >= box.y0) & (p[:, 1] <= box.y1)]
        got = clip_segment(a, b, box)
        if len(inside):
            assert got is not None and got[0] <= inside[0] + 1e-12 and inside[-1] <= got[1] + 1e-12
            assert got[0] >= inside[0] - 1e-4 and got[1] <= inside[-1] + 1e-4
        else:
            assert got is None or got[1] - got[0] < 1e-4


def test_no_leader_runs_along_the_staircase() -> None:
    """The A100 panel: SR-STE 1:4's label used to sit right of its diamond, its leader on the
    staircase's horizontal run and its box across it."""
    fig = draw_frontier(t5_points("nvidia_a100_sxm"), "energy", "accuracy")
    drawn = labels(fig)
    assert len(drawn) == 4  # every frontier point labelled
    for a, box, point, ax in drawn:
        segs = staircase(ax)
        assert not any(crosses(s, box) for s in segs), a.get_text()
        mid, end = drawn_leader(box, point)
        along = [s for s in segs if distance_to_segment(mid, s) <= 2.5 and distance_to_segment(end, s) <= 2.5]
        assert not along, a.get_text()


def test_no_label_sits_beside_another_frontier_point() -> None:
    """The vegeta panel: the FF 1:8 + QK 1:8 label used to sit beside SR-STE 1:4's diamond, ~5 J
    from its own triangle, and SR-STE 1:4 was then left unlabelled. Now every frontier point is
    labelled, no label comes within two marker widths of another frontier point nearer than to its
    own, and that label is nearer its own point than any other."""
    from nmsim.plots.frontier import MARKER_PT

    pts = t5_points("vegeta")
    fig = draw_frontier(pts, "energy", "accuracy")
    drawn = labels(fig)
    assert len(drawn) == sum(p.on_front for p in pts) == 4
    assert not [t for t in fig.texts if "labelled" in t.get_text()]  # type: ignore[attr-defined]
    beside = 2 * MARKER_PT * fig.dpi / 72.0  # type: ignore[attr-defined]
    for a, box, point, ax in drawn:
        front = ax.transData.transform([(p.x, p.y) for p in pts if p.on_front])
        others = front[np.hypot(*(front - point).T) > 1e-6]
        own = np.hypot(*(point - np.clip(point, [box.x0, box.y0], [box.x1, box.y1])))
        nearest = min(np.hypot(*(q - np.clip(q, [box.x0, box.y0], [box.x1, box.y1]))) for q in others)
        assert nearest > min(own, beside), a.get_text()
        if a.get_text().startswith("sdgf-stepwise+qk1:8"):
            assert own < nearest


def sweep_like() -> list[FrontierPoint]:
    """The 992-point sweep's corner: the front at ≈ 100 % at the left end of a row of markers at
    99.99 %, columns of worse cells below, some with wide error bars; the front is 2 spots under
    one marker width apart, one of them 6 cells."""
    xs = [0.16, 0.2, 0.3, 0.35, 0.4, 0.6, 0.75, 1.0, 1.1, 1.4, 1.9, 2.25, 2.75, 3.75]
    pts = [
        FrontierPoint(
            f"c{i} {y}", f"r{j}", "2:4", "vegeta", x * 1e-3, y, 0.45 if j == 0 else 0.0, 3, "2:4", 0.5
        )
        for i, x in enumerate(xs)
        for j, y in enumerate((99.99, 99.8, 99.6, 99.5, 99.0, 98.8, 98.2))
    ]
    pts.append(
        FrontierPoint("mdgf-step 1:8", "mdgf-step", "1:8", "vegeta", 0.133e-3, 99.98, 0.02, 3, "1:8", 0.125)
    )
    pts += [
        FrontierPoint(f"{r} 2:4", r, "2:4", "vegeta", 0.136e-3, 99.997, 0.006, 3, "2:4", 0.5)
        for r in ("gradual", "mdgf-exp", "mdgf-linear", "mdgf-step", "oneshot", "srste")
    ]
    return mark_front(pts)


def test_a_front_at_100_percent_gets_room_for_a_label() -> None:
    """Accuracies at ≈ 100 %: the y axis keeps room above the best point, so the front is labelled
    above the row of markers (before, the axis stopped 0.27 points above 100 % and no label fitted)."""
    pts = sweep_like()
    assert sum(p.on_front for p in pts) == 7
    fig = draw_frontier(pts, "latency", "accuracy")
    drawn = labels(fig)
    assert drawn
    for a, box, _point, ax in drawn:
        row = ax.transData.transform([(p.x / 1e-3, p.y) for p in pts if not p.on_front])
        assert box.y0 > row[:, 1].max(), a.get_text()  # above every other marker
    assert max(p.y + p.y_std for p in pts) < fig.axes[0].get_ylim()[1] < 101.5  # type: ignore[attr-defined]


def test_the_note_counts_spots_and_points() -> None:
    """Cells on one spot share a label: a note on a partly labelled panel says spots and points."""
    pts = sweep_like()
    fig = draw_frontier(pts, "latency", "accuracy", max_labels=1)
    (note,) = [t.get_text() for t in fig.texts if "labelled" in t.get_text()]  # type: ignore[attr-defined]
    assert "vegeta: 1 of 2 frontier spots (7 points) labelled" in note


def test_segment_distances_hand_worked() -> None:
    segs = np.array([[[-1.0, 0.0], [1.0, 0.0]], [[2.0, 2.0], [2.0, 2.0]]])  # a segment and a point
    pts = np.array([[0.0, 1.0], [3.0, 0.0], [2.0, 5.0]])
    want = np.array([[1.0, np.hypot(2, 1)], [2.0, np.hypot(1, 2)], [np.hypot(1, 5), 3.0]])
    assert np.allclose(segment_distances(pts, segs), want, rtol=0, atol=1e-12)
