"""The recipe report: rows (seeds grouped), inference-only rows, JSON, the plot, the CLI and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nmsim.cost.compare import recipe_rows
from nmsim.io.loaders import save_trace
from nmsim.plots.recipes import render_png
from nmsim.sim.simulate import simulate
from nmsim.workloads import zoo
from tests.conftest import REPO, tiny_hw
from tests.cost._records import two_layer

HW = tiny_hw(modes=["1:8", "2:8", "4:8", "7:8"])


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, cwd=REPO, timeout=180
    )


def test_rows_group_seeds_and_order_by_target() -> None:
    traces = [
        two_layer("sdgf", 0.70, 1),
        two_layer("dense", 0.80),
        two_layer("sdgf", 0.72, 2),
        two_layer("oneshot", 0.6),
    ]
    rows = recipe_rows(traces, HW)
    assert [(r.recipe, r.target, len(r.traces)) for r in rows] == [
        ("dense", "dense", 1),
        ("oneshot", "1:8", 1),
        ("sdgf", "1:8", 2),
    ]
    sdgf = rows[2]
    assert (
        sdgf.model == "toy"
        and sdgf.accuracy == pytest.approx(0.71)
        and sdgf.accuracy_std == pytest.approx(0.01414, abs=1e-4)
    )
    assert sdgf.inference.latency_s == simulate(traces[0], HW).totals.latency_s
    assert sdgf.training is not None and sdgf.training.flops_vs_dense < 1
    shares = sdgf.phase_kind_share()
    assert set(shares) == {"dense", "structure", "finetune", "mask"} and sum(
        shares.values()
    ) == pytest.approx(1)


def test_variants_and_published_rows_are_never_averaged_as_seeds() -> None:
    """Same recipe, target and schedule: seeds share a row, a variant or a published figure does not."""
    base = [two_layer("sdgf", 0.70, 1), two_layer("sdgf", 0.72, 2)]
    variant = two_layer("sdgf", 0.90, 3)
    assert variant.metrics is not None
    variant = variant.model_copy(
        update={"metrics": variant.metrics.model_copy(update={"variant": "decay-0.5"})}
    )
    published = two_layer("sdgf", 0.50, 4)
    assert published.metrics is not None
    published = published.model_copy(
        update={"metrics": published.metrics.model_copy(update={"source": "published"})}
    )
    rows = recipe_rows([*base, variant, published], HW)
    got = sorted((r.label, len(r.traces), round(r.accuracy or 0, 4)) for r in rows)
    assert got == [
        ("sdgf 1:8", 2, 0.71),
        ("sdgf 1:8 (published)", 1, 0.5),
        ("sdgf 1:8 [decay-0.5]", 1, 0.9),
    ]


def test_gmp_target_names_its_density() -> None:
    (row,) = recipe_rows([two_layer("gmp", 0.9)], HW)
    assert row.target == "12.5%"


def test_inference_only_rows_take_nm_over_scope() -> None:
    vit = zoo.build("zoo/vit_b16.json")
    dense, sparse = recipe_rows([vit], HW)[0], recipe_rows([vit], HW, nm="1:8", scope="ff")[0]
    assert dense.training is None and dense.recipe == "(inference only)" and dense.target == "dense"
    assert sparse.target == "1:8 (ff)" and sparse.inference.latency_s < dense.inference.latency_s
    assert sparse.inference_flops == pytest.approx(34.94e9 - 22.196e9 * 7 / 8, rel=1e-3)


def test_plot_is_deterministic_png() -> None:
    rows = recipe_rows([two_layer(r) for r in ("dense", "mdgf", "sdgf", "srste", "oneshot")], HW)
    a, b = render_png(rows, "tiny"), render_png(rows, "tiny")
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b and len(a) > 10_000


def test_recipes_cli_json_plot_and_table(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    for r, acc in (("dense", 0.8), ("mdgf", 0.75), ("srste", 0.7)):
        save_trace(two_layer(r, acc), folder / f"{r}.json")
    p = run(
        "recipes",
        str(folder),
        "--hw",
        "stc_2x4_like",
        "--hw",
        "vegeta_like",
        "--json",
        "--plot",
        str(tmp_path),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [d["hardware"] for d in doc] == ["stc_2x4_like", "vegeta_like"]
    row = {r["recipe"]: r for r in doc[0]["rows"]}
    assert set(row) == {"dense", "mdgf", "srste"} and row["mdgf"]["accuracy"] == 0.75
    tr = row["mdgf"]["training"]
    assert [ph["name"] for ph in tr["phases"]] == ["dense", "decay 1:8", "finetune 1:8"]
    assert tr["total"]["energy_pj"] == pytest.approx(sum(ph["total"]["energy_pj"] for ph in tr["phases"]))
    assert 0 < tr["flops_vs_dense"] < 1 and set(row["dense"]["inference"]) >= {
        "latency_s",
        "energy_pj",
        "pe_utilization",
    }
    assert (tmp_path / "recipes_stc_2x4_like.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "recipes_vegeta_like.png").exists()
    p = run(
        "recipes", str(folder), "--hw", "vegeta_like", "--phases", "--transposable", "--mdgf-forward", "split"
    )
    assert p.returncode == 0, p.stderr
    assert "cost per recipe on vegeta_like" in p.stdout and "decay 1:8" in p.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["traces/zoo/vit_b16.json", "--nm", "1:8", "--scope", "attn"], "scope"),
        (["traces/zoo/vit_b16.json", "--mdgf-forward", "half"], "mdgf_forward"),
        (["traces/zoo/vit_b16.json", "--hw", "no_such_hw"], "hw"),
        (["traces/no_such.json"], "file"),
    ],
)
def test_recipes_bad_input_is_one_line(args: list[str], needle: str) -> None:
    p = run("recipes", *args)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert p.returncode == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, (
        p.stderr
    )
