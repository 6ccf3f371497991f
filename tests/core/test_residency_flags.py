"""Per-layer residency in `nmsim simulate` results: the flags and reserved bytes agree with the planner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import nmsim
from nmsim.cli import simulate
from nmsim.io.loaders import load_trace
from nmsim.sim.fields import LAYER_COLUMNS, SUMMED
from nmsim.sim.residency_plan import plan_for
from tests.conftest import REPO

TRACE = REPO / "traces" / "translation" / "dense_s1.json"
HW = "vegeta"
FLAGS = ("input_resident", "weight_resident", "output_resident")
runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    simulate.register(app)
    app.command("noop", hidden=True)(lambda: None)  # two commands: typer keeps the subcommand name
    return app


def invoke(app: typer.Typer, *args: str) -> str:
    res = runner.invoke(app, ["simulate", str(TRACE), "--hw", HW, *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_auto_flags_follow_the_planner_layer_by_layer(app: typer.Typer) -> None:
    layers = json.loads(invoke(app, "--residency", "auto", "--json"))["layers"]
    # independent: the planner run directly on the trace and config
    plan = plan_for(load_trace(TRACE).layers, nmsim.load_hardware(HW), "auto", compat=False)
    assert len(layers) == len(plan)
    for row, p in zip(layers, plan, strict=True):
        assert row["input_resident"] is p.input_resident, row["name"]
        assert row["weight_resident"] is p.weight_resident, row["name"]
        assert row["output_resident"] is p.output_resident, row["name"]
        assert row["resident_reserved_bytes"] == p.reserved_bytes, row["name"]
    # the trace exercises every flag both ways (so the comparison above can fail)
    for flag in FLAGS:
        assert {row[flag] for row in layers} == {True, False}, flag
    # a resident output is never written to DRAM: its layer moves fewer bytes than without residency
    none = json.loads(invoke(app, "--residency", "none", "--json"))["layers"]
    for a, b in zip(layers, none, strict=True):
        if a["input_resident"] or a["output_resident"] or a["weight_resident"]:
            assert a["dram_bytes"] < b["dram_bytes"], a["name"]


def test_none_clears_every_flag_and_csv_has_the_columns(app: typer.Typer) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke(app, "--residency", "none", "--csv"))))
    assert rows and set((*FLAGS, "resident_reserved_bytes")) <= set(rows[0])
    for row in rows:
        assert [row[f] for f in FLAGS] == ["False"] * 3, row["name"]
        assert row["resident_reserved_bytes"] == "0", row["name"]
    # the CSV carries the JSON's values under auto
    auto_csv = list(csv.DictReader(io.StringIO(invoke(app, "--csv"))))
    auto_json = json.loads(invoke(app, "--json"))["layers"]
    for c, j in zip(auto_csv, auto_json, strict=True):
        assert [c[f] for f in FLAGS] == [str(j[f]) for f in FLAGS]
        assert int(c["resident_reserved_bytes"]) == j["resident_reserved_bytes"]
    # per-layer columns, never summed into totals
    assert set((*FLAGS, "resident_reserved_bytes")) <= set(LAYER_COLUMNS)
    assert not {f.name for f in SUMMED} & set((*FLAGS, "resident_reserved_bytes"))


def test_json_is_deterministic(app: typer.Typer, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    invoke(app, "--json", "--out", str(a))
    invoke(app, "--json", "--out", str(b))
    assert a.read_bytes() == b.read_bytes()
    assert "resident_reserved_bytes" in a.read_text()
