"""Pareto frontiers, worked by hand, and the frontier points built from trained traces."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nmsim
from nmsim.errors import NmsimInputError
from nmsim.explore.frontier import point_label, sweep_points, trace_points
from nmsim.explore.pareto import frontier_order, pareto_mask
from nmsim.explore.spec import make_spec
from nmsim.explore.sweep import run_sweep
from tests.explore.synthetic import trained


def test_pareto_by_hand() -> None:
    #        a    b    c    d    e    f (= b)  g (nan)
    x = [1.0, 2.0, 3.0, 2.5, 4.0, 2.0, math.nan]
    y = [0.5, 0.8, 0.9, 0.7, 0.9, 0.8, 1.0]
    # a: fastest; b, f: equal, nothing faster is as accurate; c: most accurate at 3;
    # d dominated by b (faster and more accurate); e dominated by c (same y, slower); g has no x
    assert pareto_mask(x, y).tolist() == [True, True, True, False, False, True, False]
    # maximise x instead: e (x=4, y=.9) dominates c; g ignored; nothing beats e on x
    assert pareto_mask(x, y, minimize_x=False).tolist() == [False, False, False, False, True, False, False]
    # minimise both: a alone (smallest x and y)
    assert pareto_mask(x, y, maximize_y=False).tolist() == [True, False, False, False, False, False, False]
    assert frontier_order(np.array(x), pareto_mask(x, y)).tolist() == [0, 1, 5, 2]


def test_single_and_empty() -> None:
    assert pareto_mask([3.0], [1.0]).tolist() == [True]
    assert pareto_mask([], []).tolist() == []


def test_labels() -> None:
    assert point_label("mdgf-linear", "2:4") == "mdgf-linear 2:4"
    assert point_label("dense", "dense") == "dense"
    assert point_label("", "") == "trace"


@pytest.fixture(scope="module")
def traces() -> list[nmsim.Trace]:
    return [
        trained("dense", "dense", 0.95),
        trained("mdgf", "2:4", 0.94, seed=1, cell="mdgf-linear"),
        trained("mdgf", "2:4", 0.92, seed=2, cell="mdgf-linear"),
        trained("ste", "2:4", 0.90),
        trained("ste", "1:8", 0.85),
        trained("gmp", "1:8", 0.80),
    ]


def test_trace_points_average_seeds_and_mark_the_frontier(traces: list[nmsim.Trace]) -> None:
    hw = nmsim.load_hardware("vegeta_like")
    pts = trace_points(traces, [hw], "latency")
    by = {p.label: p for p in pts}
    assert set(by) == {"dense", "mdgf-linear 2:4", "ste 2:4", "ste 1:8", "gmp 1:8"}
    mdgf = by["mdgf-linear 2:4"]
    # accuracy in %, seeds as mean ± sample std: 93 ± sqrt(((94-93)^2 + (92-93)^2) / 1)
    assert (mdgf.n, mdgf.y, mdgf.y_std) == (2, pytest.approx(93.0), pytest.approx(math.sqrt(2.0)))
    # same model and pattern → same latency; sparser runs faster on a {1,2}:4 array
    assert by["ste 2:4"].x == mdgf.x == nmsim.simulate(traces[3], hw).totals.latency_s
    assert by["ste 1:8"].x == by["gmp 1:8"].x < mdgf.x < by["dense"].x
    # frontier: ste 1:8 (fastest, best there), mdgf 2:4 (beats ste 2:4), dense (most accurate)
    assert {p.label for p in pts if p.on_front} == {"ste 1:8", "mdgf-linear 2:4", "dense"}


def test_x_quantities(traces: list[nmsim.Trace]) -> None:
    hw = nmsim.load_hardware("stc_2x4_like")
    tot = nmsim.simulate(traces[0], hw).totals
    energy = trace_points(traces[:1], [hw], "energy")[0].x
    edp = trace_points(traces[:1], [hw], "edp")[0].x
    assert energy == tot.energy_pj * 1e-12
    assert edp == tot.energy_pj * 1e-12 * tot.latency_s
    try:
        from nmsim.cost.training import training_cost
    except ImportError:
        with pytest.raises(NmsimInputError, match="training-cost model"):
            trace_points(traces[:1], [hw], "training-energy")
    else:
        got = trace_points(traces[:1], [hw], "training-energy")[0].x
        assert got == training_cost(traces[0], hw).total.energy_pj * 1e-12
    with pytest.raises(NmsimInputError, match="one of"):
        trace_points(traces, [hw], "throughput")


def test_sweep_points_keep_accuracy_only_for_the_trained_weights(traces: list[nmsim.Trace]) -> None:
    spec = make_spec(
        traces=traces[3:5], nm=["recorded", "2:4"], hw=["vegeta_like"], params={"rows": [16, 32]}
    )
    table = run_sweep(spec, scheduler="inline").table
    acc = dict(
        zip(zip(table["trace"], table["nm"], table["rows"], strict=True), table["accuracy_pct"], strict=True)
    )
    ste24, ste18 = traces[3].name, traces[4].name
    assert acc[(ste24, "2:4", 16)] == pytest.approx(90.0)  # the pattern it was trained to keeps its accuracy
    assert math.isnan(acc[(ste18, "2:4", 16)])  # a 1:8-trained model run as 2:4 was never measured
    assert acc[(ste18, "recorded", 32)] == pytest.approx(85.0)
    assert set(table["metric_variant"]) == {""} and set(table["metric_source"]) == {"measured"}
    assert set(table["target_density"]) == {0.5, 0.125}
    pts = sweep_points(table, "latency", "accuracy")
    assert len(pts) == 6  # (ste 2:4 recorded, as 2:4, ste 1:8 recorded) × rows 16, 32
    assert all("rows=" in p.label for p in pts)
    with pytest.raises(NmsimInputError, match="--y"):
        sweep_points(table, "latency", "bleu")
    no_acc = table.assign(accuracy_pct=float("nan"))
    with pytest.raises(NmsimInputError, match="no point"):
        sweep_points(no_acc, "latency", "accuracy")
    lat_energy = sweep_points(table, "latency", "energy_pj")
    assert any(p.on_front for p in lat_energy)
