"""The frontier plot tells the truth: every marker's display position is its data passed through the
axes' transform (a display offset would fail), error bars are ± std, accuracy is in %, the Pareto
staircase is drawn, labels (with leader lines) never overlap, and 1,000 points stay readable."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.text import Annotation
from matplotlib.transforms import offset_copy

import nmsim
from nmsim.explore.frontier import FrontierPoint, mark_front, trace_points
from nmsim.plots.frontier import draw_frontier
from nmsim.plots.style import RECIPE_COLOURS, TARGET_MARKERS, new_figure, recipe_colour
from tests.explore.synthetic import trained

matplotlib.use("Agg")


def pt(
    label: str, recipe: str, target: str, x: float, y: float, std: float = 0.0, n: int = 1, **kw: object
) -> FrontierPoint:
    density = kw.pop("density", None)
    return FrontierPoint(label, recipe, target, "hw", x, y, std, n, target, density, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def crowded() -> list[FrontierPoint]:
    """12 cells close together (x in ms, y in %), two on the same spot, one published."""
    raw = [
        pt("dense", "dense", "dense", 2.00e-3, 95.0, 0.3, 3),
        pt("srste 2:4", "srste", "2:4", 1.20e-3, 94.6, 0.2, 3),
        pt("ste 2:4", "ste", "2:4", 1.20e-3, 94.6, 0.4, 3),  # same spot as srste 2:4
        pt("mdgf-exp 2:4", "mdgf-exp", "2:4", 1.25e-3, 94.9, 0.1, 3),
        pt("mdgf-exp 1:8", "mdgf-exp", "1:8", 0.80e-3, 93.8, 0.5, 3),
        pt("sdgf-stepwise 1:8", "sdgf-stepwise", "1:8", 0.82e-3, 94.0, 0.2, 3),
        pt("srste 1:8", "srste", "1:8", 0.79e-3, 93.1, 0.6, 3),
        pt("gmp 12.5%", "gmp", "unstructured", 0.95e-3, 93.5, 0.2, 3, density=0.125),
        pt("mdgf-exp 1:16", "mdgf-exp", "1:16", 0.60e-3, 92.0, 0.7, 3),
        pt("srste 1:16", "srste", "1:16", 0.61e-3, 91.2, 0.3, 2),
        pt("sdgf-stepwise 1:16", "sdgf-stepwise", "1:16", 0.62e-3, 92.3, 0.2, 3),
        pt("srste 2:4 (published)", "srste", "2:4", 1.22e-3, 94.7, source="published"),
    ]
    return mark_front(raw)


def marker_display(ax: object) -> np.ndarray:
    """Where each drawn marker is on screen, from its artist (offsets through the artist's own transform)."""
    rows = [
        c.get_offset_transform().transform(c.get_offsets())
        for c in ax.collections  # type: ignore[attr-defined]
        if isinstance(c, PathCollection)
    ]
    return np.concatenate(rows) if rows else np.zeros((0, 2))


def same_positions(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    sa, sb = a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])]
    return bool(np.allclose(sa, sb, rtol=0, atol=1e-6))


def test_the_check_catches_a_display_offset() -> None:
    """The check itself can fail: a marker nudged 7 points sideways (the old 'dodge') is caught."""
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.scatter([5.0], [5.0], transform=offset_copy(ax.transData, fig=fig, x=7.0, y=0.0, units="points"))
    fig.canvas.draw()
    assert not same_positions(marker_display(ax), ax.transData.transform([(5.0, 5.0)]))


def test_markers_sit_exactly_at_their_data(crowded: list[FrontierPoint]) -> None:
    fig = draw_frontier(crowded, "latency", "accuracy")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "inference latency (ms)"  # x in s, shown in ms
    assert ax.get_ylabel() == "accuracy (%)"
    want = ax.transData.transform([(p.x / 1e-3, p.y) for p in crowded])
    assert same_positions(marker_display(ax), want)  # coincident points too: same spot, no dodge


def test_error_bars_are_plus_minus_std(crowded: list[FrontierPoint]) -> None:
    fig = draw_frontier(crowded, "latency", "accuracy")
    fig.canvas.draw()
    ax = fig.axes[0]
    bars = [
        (s[0], s[1])
        for c in ax.collections
        if isinstance(c, LineCollection)
        for s in (c.get_transform().transform(np.asarray(seg)) for seg in c.get_segments())
    ]
    for p in crowded:
        if p.n < 2:
            continue
        lo = ax.transData.transform((p.x / 1e-3, p.y - p.y_std))
        hi = ax.transData.transform((p.x / 1e-3, p.y + p.y_std))
        assert any(np.allclose(a, lo, atol=1e-6) and np.allclose(b, hi, atol=1e-6) for a, b in bars), p.label
    assert len(bars) == sum(p.n > 1 for p in crowded)  # none for single runs


def test_pareto_staircase_is_drawn(crowded: list[FrontierPoint]) -> None:
    fig = draw_frontier(crowded, "latency", "accuracy")
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.lines if ln.get_label() == "Pareto frontier"]
    assert line.get_visible() and line.get_linewidth() >= 1.0 and line.get_color() == "black"
    xy = line.get_xydata()
    steps = np.diff(xy, axis=0)
    assert np.all((steps[:, 0] == 0) | (steps[:, 1] == 0))  # horizontal and vertical runs only
    verts = {(round(x, 9), round(y, 9)) for x, y in xy}
    front = [p for p in crowded if p.on_front]
    assert len(front) >= 5
    assert all((round(p.x / 1e-3, 9), round(p.y, 9)) in verts for p in front)


def label_boxes(fig: object) -> list[object]:
    fig.canvas.draw()  # type: ignore[attr-defined]
    anns = [t for ax in fig.axes for t in ax.texts if isinstance(t, Annotation)]  # type: ignore[attr-defined]
    return [a.get_bbox_patch().get_window_extent() for a in anns], anns  # type: ignore[return-value]


def test_labels_have_leader_lines_and_never_overlap(crowded: list[FrontierPoint]) -> None:
    fig = draw_frontier(crowded, "latency", "accuracy")
    boxes, anns = label_boxes(fig)
    spots = {(p.x, p.y) for p in crowded if p.on_front}
    assert len(anns) == len(spots)  # every frontier spot labelled (there is room for 8 labels)
    assert all(a.arrow_patch is not None for a in anns)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    frame = fig.axes[0].get_window_extent()
    assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)
    texts = " ".join(a.get_text() for a in anns)
    assert "srste, ste 2:4" in texts  # the shared spot names both


def test_a_thousand_point_sweep_stays_readable() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(1e-4, 1e-2, 1000)
    # a concave trade-off with noise below it: many points on the frontier
    y = 60 + 35 * (1 - np.exp(-x / 2e-3)) - rng.exponential(2.0, 1000) * (rng.uniform(size=1000) > 0.08)
    pts = mark_front(
        [
            pt(f"rows={i % 64} cols={i // 64}", "", "", float(a), float(b))
            for i, (a, b) in enumerate(zip(x, y, strict=True))
        ]
    )
    n_front = sum(p.on_front for p in pts)
    assert n_front > 20
    fig = draw_frontier(pts, "latency", "accuracy")
    boxes, anns = label_boxes(fig)
    assert 5 <= len(anns) <= 20
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    note = [t.get_text() for t in fig.texts if "frontier points labelled" in t.get_text()]
    assert note and f"of {n_front} frontier points labelled" in note[0]
    assert same_positions(
        marker_display(fig.axes[0]), fig.axes[0].transData.transform([(p.x / 1e-3, p.y) for p in pts])
    )


def test_accuracy_in_percent_and_one_style_in_every_plot() -> None:
    hw = nmsim.load_hardware("vegeta_like")
    traces = [trained("srste", "2:4", 0.905), trained("ste", "1:8", 0.85), trained("dense", "dense", 0.95)]
    pts = trace_points(traces, [hw])
    assert sorted(p.y for p in pts) == pytest.approx([85.0, 90.5, 95.0])
    fig_a = draw_frontier(pts)
    fig_b = draw_frontier([p for p in pts if p.recipe == "srste"])  # srste alone: same colour, same marker
    for fig in (fig_a, fig_b):
        ax = fig.axes[0]
        assert ax.get_ylabel() == "accuracy (%)"
        lo, hi = ax.get_ylim()
        assert 80 < lo < hi <= 101
        colours = {
            tuple(np.round(rgba[:3], 6))
            for c in ax.collections
            if isinstance(c, PathCollection)
            for rgba in (*c.get_facecolors(), *c.get_edgecolors())
        }
        assert tuple(np.round(matplotlib.colors.to_rgb(RECIPE_COLOURS["srste"]), 6)) in colours
    assert recipe_colour("pmd-exp") == recipe_colour("mdgf-exp") == RECIPE_COLOURS["mdgf-exp"]
    assert recipe_colour("my-new-recipe") == recipe_colour("my-new-recipe")  # stable for unknown names
    assert TARGET_MARKERS["1:8"] == "^"


def test_gmp_takes_the_marker_of_its_density() -> None:
    from nmsim.plots.style import target_marker

    assert (
        target_marker("unstructured", 0.125) == target_marker("1:8") != target_marker("unstructured", 0.0625)
    )
    assert target_marker("unstructured", 0.5) == target_marker("2:4")


def test_cells_on_one_spot_share_a_label_naming_each() -> None:
    from nmsim.plots.frontier import shared_label

    assert shared_label(["srste 2:4", "ste 2:4"]) == "srste, ste 2:4"
    assert (
        shared_label(["mdgf-exp 1:16 (published)", "sdgf 1:16 (published)"])
        == "mdgf-exp, sdgf 1:16 (published)"
    )
    assert shared_label(["a 2:4", "b 1:8"]) == "a 2:4, b 1:8"
    many = shared_label([f"recipe{i} 2:4" for i in range(40)])
    assert many.count("\n") <= 3 and many.endswith(" more 2:4") and many.startswith("recipe0, recipe1")


def test_a_long_legend_stays_in_the_figure_and_off_the_panels() -> None:
    """30 recipes × 4 targets (the published ViT-B folder has 24 recipes): the legend wraps into
    columns inside the figure and overlaps no panel."""
    pts = [
        pt(f"r{i:02d}+qkv1:{m}", f"r{i:02d}+qkv1:{m}", f"1:{m}", 1.0 + i + m, 70.0 + i / 3)
        for i in range(30)
        for m in (4, 8, 16, 32)
    ]
    pts = mark_front(pts)
    fig = draw_frontier(pts, "latency", "accuracy")
    fig.canvas.draw()  # type: ignore[attr-defined]
    (legend,) = fig.legends  # type: ignore[attr-defined]
    box = legend.get_window_extent()
    whole = fig.bbox  # type: ignore[attr-defined]
    assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1
    for ax in fig.axes:  # type: ignore[attr-defined]
        assert not box.overlaps(ax.get_window_extent())


def nearest_is_own(fig: object) -> list[str]:
    """The labels that could be read as naming another point: some other marker touches the drawn box
    (within one marker width of its edge) while nearer to it than its own point; for a leader line
    shorter than three marker widths, some other marker is at least as near the box's centre as its
    own point; for a longer one, the leader passes within one marker width of another marker. Markers within one marker width of the point are drawn on it and count as the
    point. Display space throughout."""
    from nmsim.plots.frontier import MARKER_PT

    def box_distance(p: np.ndarray, box: object) -> np.ndarray:  # 0 inside, else to the nearest edge
        dx = np.maximum(np.maximum(box.x0 - p[:, 0], p[:, 0] - box.x1), 0.0)  # type: ignore[attr-defined]
        dy = np.maximum(np.maximum(box.y0 - p[:, 1], p[:, 1] - box.y1), 0.0)  # type: ignore[attr-defined]
        return np.hypot(dx, dy)

    fig.canvas.draw()  # type: ignore[attr-defined]
    width_px = MARKER_PT * fig.dpi / 72.0  # type: ignore[attr-defined]
    wrong = []
    for ax in fig.axes:  # type: ignore[attr-defined]
        marks = marker_display(ax)
        for a in (t for t in ax.texts if isinstance(t, Annotation)):
            box = a.get_bbox_patch().get_window_extent()
            own = ax.transData.transform(a.xy)
            others = marks[np.hypot(*(marks - own).T) > width_px]
            if not len(others):
                continue
            centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
            leader = box_distance(own[None, :], box)[0]
            by_centre = np.hypot(*(others - centre).T).min() <= np.hypot(*(own - centre))
            edge = box_distance(others, box).min()
            touching = edge < width_px and edge <= leader
            by_centre = by_centre and leader < 3 * width_px
            end = np.clip(own, [box.x0, box.y0], [box.x1, box.y1])  # where the leader meets the box
            along = [own + t * (end - own) for t in np.linspace(0, 1, 200)]
            passing = (
                leader >= 3 * width_px and min(np.hypot(*(others - q).T).min() for q in along) < width_px
            )
            if by_centre or touching or passing:
                wrong.append(a.get_text())
    return wrong


def test_each_label_is_nearest_its_own_point() -> None:
    """The published T5 panel's trap (a column of off-frontier 1:8 points under the front, a 1:32
    point just right of it): a label must not sit beside a neighbour's marker while its own point
    is reached only by a faint leader line."""
    raw = [
        pt("dense (published)", "dense", "dense", 78.6, 86.2, source="published"),
        pt("srste 1:4 (published)", "srste", "1:4", 59.0, 84.1, source="published"),
        pt("srste 1:32", "srste", "1:32", 59.0, 79.4),
        pt("srste 1:32 b", "srste", "1:32", 59.0, 77.1),
        pt("sdgf-stepwise 1:32", "sdgf-stepwise", "1:32", 59.0, 80.9),
        pt("sdgf-geometric 1:32", "sdgf-geometric", "1:32", 59.0, 77.6),
        pt("sdgf-stepwise 1:4", "sdgf-stepwise", "1:4", 59.0, 83.6),
        pt("srste 1:4", "srste", "1:4", 59.0, 83.1),
        pt(
            "sdgf-stepwise+qk1:8 1:8 (published)",
            "sdgf-stepwise+qk1:8",
            "1:8",
            53.2,
            80.6,
            source="published",
        ),
        pt(
            "sdgf-stepwise+qkv1:4 1:8 (published)",
            "sdgf-stepwise+qkv1:4",
            "1:8",
            49.4,
            80.3,
            source="published",
        ),
        *(pt(f"r{i} 1:8", f"srste+qk{i}", "1:8", 49.4, 79.5 - 0.9 * i) for i in range(7)),
        *(pt(f"s{i} 1:8", f"sdgf-geometric+q{i}", "1:8", 53.2, 76.8 - 1.1 * i) for i in range(3)),
    ]
    fig = draw_frontier(mark_front(raw), "energy", "accuracy")
    assert nearest_is_own(fig) == []
    boxes, anns = label_boxes(fig)
    assert anns  # the front is still labelled
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def cie_lab(colour: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour (the standard sRGB → XYZ → L*a*b* formulas)."""
    rgb = np.array(matplotlib.colors.to_rgb(colour))
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_mixed_scope_recipes_get_distinct_shades_of_their_base() -> None:
    """The published ViT-B/16 folder's mixed-scope recipes ('srste+qk1:4', ...): pairwise CIE76
    ΔE ≥ 12 (a hash pick from a few pastels gave identical colours), each within 35° of hue of its
    base recipe's colour, and the same colour whatever else is plotted."""
    import colorsys
    from pathlib import Path

    from nmsim.explore.plan import resolve_traces
    from nmsim.schemas.cell import cell_key

    folder = Path(__file__).resolve().parents[2] / "traces" / "published" / "pgf_vit_b16"
    recipes = sorted({cell_key(t.trace).recipe for t in resolve_traces([str(folder)])})
    mixed = [r for r in recipes if "+" in r]
    assert len(mixed) >= 15  # 5 base recipes × 3 attention scopes
    colours = {r: recipe_colour(r) for r in mixed}
    for a, b in itertools.combinations(mixed, 2):
        delta_e = float(np.linalg.norm(cie_lab(colours[a]) - cie_lab(colours[b])))
        assert delta_e >= 12.0, (a, colours[a], b, colours[b], delta_e)
    for r in mixed:
        base = r.partition("+")[0]
        h_mix = colorsys.rgb_to_hls(*matplotlib.colors.to_rgb(colours[r]))[0] * 360
        h_base = colorsys.rgb_to_hls(*matplotlib.colors.to_rgb(recipe_colour(base)))[0] * 360
        assert abs((h_mix - h_base + 180) % 360 - 180) <= 35.0, (r, colours[r], recipe_colour(base))
        assert recipe_colour(r) == recipe_colour(r.upper())  # a function of the name alone
