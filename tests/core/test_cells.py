"""The cell key: what separates experiments (GMP densities, metric variants, sources, settings) and
what is averaged (seeds: mean ± sample std, n, worked by hand); the one ``recipe_label``."""

from __future__ import annotations

import math
from typing import Any

import pytest

import nmsim
from nmsim.cost.compare import recipe_rows
from nmsim.explore.frontier import trace_points
from nmsim.schemas.cell import (
    cell_columns,
    cell_key,
    group_cells,
    key_from_columns,
    model_name,
    recipe_label,
    seed_stats,
    target_density,
)
from nmsim.schemas.trace import Layer, Metrics, Phase, PhaseLayerState, Trace, TrainingRecord


def run(
    recipe: str,
    target: str,
    acc: float,
    seed: int = 1,
    *,
    density: float | None = None,
    record_density: bool = False,
    variant: str | None = None,
    source: str = "measured",
    settings: str | None = None,
    params: dict[str, Any] | None = None,
) -> Trace:
    """A two-layer model trained by ``recipe``; an unstructured target ends at ``density``."""
    pattern = "dense" if target in ("dense", "unstructured") else target
    layers = [
        Layer(name="ff1", role="ff", m=64, k=128, n=256, pattern=pattern),
        Layer(name="ff2", role="ff", m=64, k=256, n=128, pattern=pattern),
    ]
    state = PhaseLayerState(pattern=target, density=density) if target == "unstructured" else None
    phases = [Phase(name="dense", kind="dense", start_step=0, end_step=10)]
    phases.append(
        Phase(
            name="sparse",
            start_step=10,
            end_step=100,
            layers={n: state for n in ("ff1", "ff2")} if state else {},
            default=PhaseLayerState(pattern=target if state is None else "dense"),
        )
    )
    return Trace(
        name=f"toy-{recipe}-{target.replace(':', 'x')}-s{seed}",
        layers=layers,
        training=TrainingRecord(
            recipe=recipe,
            target=target,
            params={"seed": seed, **(params or {})},
            total_steps=100,
            phases=phases,
            target_density=density if record_density else None,
            settings_hash=settings,
        ),
        metrics=Metrics(task="toy", accuracy=acc, seed=seed, variant=variant, source=source),  # type: ignore[arg-type]
    )


def test_gmp_at_different_densities_are_different_cells() -> None:
    a = run("gmp", "unstructured", 0.9, density=0.125)
    b = run("gmp", "unstructured", 0.8, density=0.0625)
    c = run("gmp", "unstructured", 0.85, density=0.0625, record_density=True, seed=2)
    assert (target_density(a), target_density(b), target_density(c)) == (0.125, 0.0625, 0.0625)
    assert cell_key(a) != cell_key(b) == cell_key(c)  # recorded or read from the schedule: one cell
    assert (cell_key(a).label, cell_key(b).label) == ("gmp 12.5%", "gmp 6.25%")
    hw = nmsim.load_hardware("vegeta_like")
    pts = {p.label: p for p in trace_points([a, b, c], [hw])}
    assert set(pts) == {"gmp 12.5%", "gmp 6.25%"}
    assert (pts["gmp 12.5%"].n, pts["gmp 6.25%"].n) == (1, 2)
    assert pts["gmp 6.25%"].y == pytest.approx(82.5)  # (80 + 85) / 2, in percent


def test_variants_sources_and_settings_are_never_averaged_as_seeds() -> None:
    base = run("srste", "2:4", 0.90)
    others = [
        run("srste", "2:4", 0.80, seed=2, variant="dense-10k"),
        run("srste", "2:4", 0.70, seed=3, source="published"),
        run("srste", "2:4", 0.60, seed=4, settings="abc123"),
        run("srste", "1:8", 0.50, seed=5),
        run("ste", "2:4", 0.40, seed=6),
    ]
    keys = [cell_key(t) for t in (base, *others)]
    assert len(set(keys)) == 6
    assert keys[1].label == "srste 2:4 [dense-10k]" and keys[2].label == "srste 2:4 (published)"
    groups = group_cells([base, *others])
    assert all(len(v) == 1 for v in groups.values())
    # the sweep table's columns round-trip to the same key (as strings, the way a CSV reads back)
    for k in keys:
        cols = {
            c: ("" if isinstance(v, float) and math.isnan(v) else str(v)) for c, v in cell_columns(k).items()
        }
        assert key_from_columns(cols) == k


def test_seeds_of_one_cell_are_averaged_mean_std_n() -> None:
    seeds = [
        run("mdgf", "1:8", a, seed=s, params={"cell": "mdgf-exp"})
        for s, a in ((1, 0.90), (2, 0.92), (3, 0.97))
    ]
    assert len(group_cells(seeds)) == 1
    st = seed_stats([90.0, 92.0, 97.0])
    # by hand: mean 93; deviations -3, -1, 4; (9 + 1 + 16) / (3 - 1) = 13
    assert (st.mean, st.n) == (93.0, 3) and st.std == pytest.approx(math.sqrt(13.0))
    assert seed_stats([71.5]) == seed_stats([71.5, math.nan])  # one value: std 0, NaN ignored
    (pt,) = trace_points(seeds, [nmsim.load_hardware("vegeta_like")])
    assert (pt.label, pt.n) == ("mdgf-exp 1:8", 3)
    assert pt.y == pytest.approx(93.0) and pt.y_std == pytest.approx(math.sqrt(13.0))


def test_one_recipe_label_everywhere() -> None:
    assert recipe_label(run("mdgf", "2:4", 0.9, params={"cell": "mdgf-linear"})) == "mdgf-linear"
    assert recipe_label(run("sdgf", "2:4", 0.9, params={"structure": "geometric"})) == "sdgf-geometric"
    assert recipe_label(run("srste", "2:4", 0.9)) == "srste"
    untrained = Trace(name="bare", layers=[Layer(name="a", m=4, k=8, n=8)])
    assert recipe_label(untrained) == "" and target_density(untrained) is None
    assert model_name(run("mdgf", "1:8", 0.9, seed=3, params={"cell": "mdgf-exp"})) == "toy"
    # the recipes report names a row by the same rule (it used to drop a cell name not starting
    # with the recipe's name)
    t = run("mdgf", "2:4", 0.9, params={"cell": "pmd-exp"})
    rows = recipe_rows([t], nmsim.load_hardware("vegeta_like"))
    assert rows[0].recipe == recipe_label(t) == "pmd-exp"
