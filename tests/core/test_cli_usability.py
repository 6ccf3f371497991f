"""What a new user meets: one trace resolver everywhere, the simulate table's legend, help without
``<bool>``, the formats named when a file is not one, and the notice while the engine compiles."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import pytest

import nmsim
from nmsim.cli import run
from nmsim.errors import NmsimInputError
from nmsim.io.registry import DEFAULT_HARDWARE, data_dir

REPO = Path(__file__).resolve().parents[2]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_shipped_names_files_folders_and_globs_resolve_the_same_everywhere() -> None:
    by_name = nmsim.load_trace("wmt_transformer_1x8")
    assert by_name == nmsim.load_trace(REPO / "traces" / "wmt_transformer_1x8.json")
    assert (
        nmsim.load_trace("zoo/vit_b16").name
        == nmsim.load_trace(REPO / "traces" / "zoo" / "vit_b16.json").name
    )
    zoo = sorted((data_dir("traces") / "zoo").glob("*.json"))
    assert len(nmsim.load_traces("zoo")) == len(zoo) >= 2
    with pytest.raises(NmsimInputError, match=f"names {len(zoo)} files"):
        nmsim.load_trace("zoo")
    for argv in (("simulate", "wmt_transformer_1x8", "--json"), ("flops", "wmt_transformer_1x8", "--json"),
                 ("trace", "validate", "wmt_transformer_1x8")):  # fmt: skip
        code, _, err = cli(*argv)
        assert code == 0, err


def test_simulate_on_a_folder_gives_one_totals_row_per_trace() -> None:
    zoo = sorted((data_dir("traces") / "zoo").glob("*.json"))
    code, out, err = cli("simulate", str(data_dir("traces") / "zoo"), "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["file"] for r in rows] == [str(p) for p in zoo]
    one = nmsim.simulate(nmsim.load_trace(zoo[0]), nmsim.load_hardware(DEFAULT_HARDWARE))
    assert int(rows[0]["cycles"]) == one.totals.cycles  # the same totals simulate gives for that file


def test_simulate_table_has_latency_and_explains_its_columns() -> None:
    code, out, _ = cli("simulate")
    assert code == 0
    header = next(line for line in out.splitlines() if "layer" in line and "cycles" in line)
    assert "latency" in header and "stall" in header and "×" in header
    legend = " ".join(out.split())
    assert "×: identical copies of the layer" in legend and "stall: share of the layer's cycles" in legend


def test_a_file_that_is_not_json_or_yaml_names_the_formats() -> None:
    code, _, err = cli("simulate", str(REPO / "README.md"))
    assert code == 2 and ".json, .yaml, .yml" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ("simulate",),
        ("gemm",),
        ("sweep",),
        ("recipes",),
        ("frontier",),
        ("train",),
        ("calibrate",),
        ("plot", "roofline"),
    ],
)
def test_help_shows_no_bool_type_for_flags(argv: tuple[str, ...]) -> None:
    code, out, _ = cli(*argv, "--help")
    assert code == 0 and "--help" in out and "<bool>" not in out


def test_a_notice_while_the_engine_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    from nmsim.cli import warmup

    monkeypatch.setattr(warmup, "engine_is_cached", lambda names=("evaluate_gemm",): False)
    _, _, err = cli("gemm", "--m", "8", "--n", "8", "--k", "8")
    assert warmup.NOTICE in err
    _, _, err = cli("hw", "list")  # no engine: no notice
    assert warmup.NOTICE not in err
