"""``nmsim sweep``, ``nmsim frontier`` and ``nmsim plot`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

import nmsim
from nmsim.cli import frontier, plot, simulate, sweep
from nmsim.explore.checkpoint import checkpoint_path, read_results
from nmsim.explore.spec import load_spec, parse_param
from nmsim.io.loaders import save_trace
from tests.explore.synthetic import toy_trace, trained

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    for mod in (sweep, frontier, plot, simulate):
        mod.register(app)
    return app


def invoke(app: typer.Typer, *args: str) -> str:
    res = runner.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_a_sweep_row_equals_nmsim_simulate_json(app: typer.Typer, tmp_path: Path) -> None:
    trace = save_trace(toy_trace(ff="1:8"), tmp_path / "toy.json")
    out = tmp_path / "r.csv"
    invoke(app, "sweep", str(trace), "--hw", "vegeta_like", "--param", "rows=16,64", "--out", str(out), "-q")
    table = read_results(out)
    assert len(table) == 2 and not checkpoint_path(out).exists()
    # the same config as a file, simulated by the CLI
    cfg = nmsim.load_hardware("vegeta_like", rows=64)
    hw_file = tmp_path / "hw.yaml"
    hw_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_unset=True)))
    rep = json.loads(invoke(app, "simulate", str(trace), "--hw", str(hw_file), "--json"))
    row = table[table["rows"] == 64].iloc[0]
    for key, want in rep["totals"].items():
        if key == "energy_breakdown_pj":
            for part, v in want.items():
                assert row[f"energy_{part}_pj"] == v, part
        else:
            assert row[key] == want, key


def test_spec_file_flags_and_parquet(app: typer.Typer, tmp_path: Path) -> None:
    save_trace(trained("ste", "2:4", 0.9), tmp_path / "a.json")
    save_trace(trained("ste", "1:8", 0.8), tmp_path / "b.json")
    spec = tmp_path / "sweep.yaml"
    spec.write_text("traces: ['*.json']\nnm: [recorded, 1:8]\nhw: stc_2x4_like\nparams:\n  rows: [32, 64]\n")
    loaded = load_spec(spec)
    assert loaded.nm == ["recorded", "1:8"]  # YAML 1.1 would have read 1:8 as the number 68
    out = tmp_path / "r.parquet"
    invoke(app, "sweep", "--spec", str(spec), "--param", "dataflow=os,ws", "--out", str(out), "-q")
    table = pd.read_parquet(out)
    assert len(table) == 2 * 2 * 2 * 2  # traces × nm × rows × dataflow (flags add to the spec)
    assert set(table["recipe"]) == {"ste"} and set(table["target"]) == {"2:4", "1:8"}
    fig = tmp_path / "f.png"
    invoke(app, "frontier", "--sweep", str(out), "--x", "energy", "--out", str(fig))
    assert fig.stat().st_size > 10_000


def test_param_parsing() -> None:
    assert parse_param("rows=32,64") == ("rows", [32, 64])
    assert parse_param("modes=[2:4],[1:4, 2:4],none") == ("modes", [["2:4"], ["1:4", "2:4"], "none"])
    assert parse_param("memory.ifmap.size_kb=64.5,1e3") == ("memory.ifmap.size_kb", [64.5, 1000.0])
    assert parse_param("dataflow=os,ws") == ("dataflow", ["os", "ws"])


def test_frontier_and_plots_are_deterministic(app: typer.Typer, tmp_path: Path) -> None:
    files = [
        save_trace(t, tmp_path / f"{t.name}.json")
        for t in (
            trained("dense", "dense", 0.95),
            trained("mdgf", "2:4", 0.93, cell="mdgf-step"),
            trained("ste", "1:8", 0.85),
        )
    ]
    outs = []
    for i in range(2):
        png = tmp_path / f"f{i}.png"
        svg = tmp_path / f"f{i}.svg"
        invoke(app, "frontier", *map(str, files), "--hw", "vegeta_like,stc_2x4_like", "--out", str(png))
        invoke(
            app,
            "frontier",
            *map(str, files),
            "--hw",
            "vegeta_like",
            "--x",
            "edp",
            "--out",
            str(svg),
            "--csv",
            str(tmp_path / "p.csv"),
        )
        roof = tmp_path / f"r{i}.png"
        bars = tmp_path / f"b{i}.svg"
        invoke(app, "plot", "roofline", str(files[1]), "--hw", "vegeta_like", "--out", str(roof))
        invoke(app, "plot", "breakdown", str(files[1]), "--hw", "vegeta_like", "--out", str(bars))
        outs.append([p.read_bytes() for p in (png, svg, roof, bars)])
    assert outs[0] == outs[1]
    pts = pd.read_csv(tmp_path / "p.csv")
    assert pts["on_front"].sum() == 3  # dense, mdgf 2:4 and ste 1:8 trade off latency for accuracy


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sweep", "--nm", "5:4", "--out", "r.csv"], "n must be <= m"),
        (["sweep", "--param", "rows=0", "--out", "r.csv"], "array.rows"),
        (["sweep", "--residency", "sometimes", "--out", "r.csv"], "residency"),
        (["frontier", "--x", "speed", "--out", "f.png"], "--x"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_file(tmp_path: Path, args: list[str], needle: str) -> None:
    p = run_cli(*args, cwd=tmp_path)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and needle in lines[0], p.stderr
    assert "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []
