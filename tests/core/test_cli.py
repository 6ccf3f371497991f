"""The CLI as a user runs it: outputs, bad input (one line, exit 2, no file left), determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, mutate, tiny_doc


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=120
    )


def assert_one_line_error(p: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert p.returncode == 2, p.stderr + p.stdout
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_gemm_json_has_the_documented_keys() -> None:
    p = run(
        "gemm",
        "--m",
        "256",
        "--n",
        "256",
        "--k",
        "1024",
        "--hw",
        "stc_2x4_like",
        "--sparsity",
        "1:8",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    for key in (
        "cycles",
        "compute_cycles",
        "stall_cycles",
        "latency_s",
        "dense_macs",
        "issued_macs",
        "pe_utilization",
        "mapping_efficiency",
        "energy_pj",
        "energy_breakdown_pj",
        "dram_bytes",
        "hw_mode",
    ):
        assert key in d
    assert d["hw_mode"] == "2:4"
    assert d["dense_macs"] == 256 * 256 * 1024


def test_gemm_overrides_and_compat_match_the_closed_form() -> None:
    # WS 32x32, M=N=256, K=1024 at 2:4 in SCALE-Sim's rule: K'=512 → 16*8 folds of 2R+C+M-2 = 350
    # (one array: s2ta has cores 1; the default GPU spreads folds over 132 SMs)
    p = run(
        "gemm",
        "--hw",
        "s2ta",
        "--m",
        "256",
        "--n",
        "256",
        "--k",
        "1024",
        "--rows",
        "32",
        "--cols",
        "32",
        "--dataflow",
        "ws",
        "--sparsity",
        "2:4",
        "--compat",
        "scalesim",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["cycles"] == 16 * 8 * 350 - 1


def test_simulate_default_runs_and_prints_totals() -> None:
    p = run("simulate")
    assert p.returncode == 0, p.stderr
    assert "wmt_transformer_1x8_b12" in p.stdout and "totals" in p.stdout and "enc0.ff1" in p.stdout


def test_simulate_outputs_are_deterministic_and_atomic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("simulate", "--hw", "vegeta_like", "--json", "--out", str(a)).returncode == 0
    assert run("simulate", "--hw", "vegeta_like", "--json", "--out", str(b)).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.json", "b.json"]  # no temp files left
    report = json.loads(a.read_text())
    assert report["totals"]["cycles"] == sum(layer["cycles"] for layer in report["layers"])
    c = tmp_path / "c.csv"
    assert run("simulate", "--csv", "--out", str(c)).returncode == 0
    assert c.read_text().splitlines()[0].startswith("name,m,n,k,")


def test_hw_and_trace_commands() -> None:
    p = run("hw", "list")
    assert p.returncode == 0 and "vegeta_like" in p.stdout and "nvidia_h100_sxm" in p.stdout
    p = run("hw", "show", "s2ta_like")
    assert p.returncode == 0 and yaml.safe_load(p.stdout)["sparse"]["modes"] == ["4:8"]
    p = run("trace", "validate", "traces/wmt_transformer_1x8.json")
    assert p.returncode == 0 and p.stdout.startswith("ok:")
    p = run("trace", "schema")
    assert json.loads(p.stdout)["properties"]["schema_version"]["const"] == "2.0"


def test_import_scalesim_conv_topology(tmp_path: Path) -> None:
    topo = tmp_path / "net.csv"
    topo.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv1, 224, 224, 7, 7, 3, 64, 2,\n"
        "FC, 1, 1, 1, 1, 2048, 1000, 1,\n"
    )
    out = tmp_path / "net.json"
    assert run("import-scalesim", str(topo), "--out", str(out)).returncode == 0
    layers = json.loads(out.read_text())["layers"]
    # SCALE-Sim: ofmap (224-7)/2+1 = 109 per side, no padding; K = 7*7*3
    assert (layers[0]["m"], layers[0]["k"], layers[0]["n"]) == (109 * 109, 147, 64)
    assert (layers[1]["m"], layers[1]["k"], layers[1]["n"]) == (1, 2048, 1000)


def _bad_yaml(tmp_path: Path, doc: object) -> str:
    p = tmp_path / f"bad{len(list(tmp_path.iterdir()))}.yaml"
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return str(p)


BAD_GEMM = [
    (["--m", "0", "--n", "4", "--k", "4"], ("m:",)),
    (["--m", "4", "--n", "-3", "--k", "4"], ("n:",)),
    (["--m", "4", "--n", "4", "--k", "4", "--sparsity", "5:4"], ("sparsity", "n must be <= m")),
    (["--m", "4", "--n", "4", "--k", "4", "--sparsity", "0:4"], ("sparsity", ">= 1")),
    (["--m", "4", "--n", "4", "--k", "4", "--dataflow", "diag"], ("array.dataflow", "'os', 'ws' or 'is'")),
    (["--m", "4", "--n", "4", "--k", "4", "--hw", "nonexistent"], ("hw", "unknown config")),
    (["--m", "4", "--n", "4", "--k", "4", "--dtype", "int4"], ("dtype",)),
    (["--m", "4", "--n", "4", "--k", "4", "--compat", "timeloop"], ("compat", "scalesim")),
    (["--m", "4", "--n", "4", "--k", "4", "--rows", "0"], ("array.rows",)),
    # usage errors that the option parser raises (typer's own click): one line too
    (["--m", "4", "--n", "4", "--k", "4", "--split_k", "3"], ("No such option: --split_k",)),
    (["--m", "x", "--n", "4", "--k", "4"], ("'--m'",)),
    (["--n", "4", "--k", "4"], ("Missing option '--m'",)),
]


@pytest.mark.parametrize(
    ("args", "needles"), BAD_GEMM, ids=lambda a: " ".join(a) if isinstance(a, list) else ""
)
def test_bad_gemm_input_is_one_line(args: list[str], needles: tuple[str, ...]) -> None:
    assert_one_line_error(run("gemm", *args), *needles)


def test_bad_files_are_one_line_and_leave_no_output(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    cases = [
        (_bad_yaml(tmp_path, mutate(tiny_doc(), "array.rows", ...)), ("array.rows", "Field required")),
        (_bad_yaml(tmp_path, mutate(tiny_doc(), "array.rows", "many")), ("array.rows",)),
        (_bad_yaml(tmp_path, mutate(tiny_doc(), "array.sources", {})), ("sources.rows",)),  # first field
        (_bad_yaml(tmp_path, mutate(tiny_doc(), "array.colour", 3)), ("array.colour", "Extra inputs")),
        (_bad_yaml(tmp_path, "array: [unclosed"), ("not valid",)),
        (str(tmp_path / "missing.yaml"), ("cannot read",)),
    ]
    for hw_path, needles in cases:
        p = run("simulate", "--hw", hw_path, "--json", "--out", str(out))
        assert_one_line_error(p, *needles)
        assert not out.exists()
        assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".")] == []


def test_bad_traces_are_one_line(tmp_path: Path) -> None:
    good = json.loads((REPO / "traces" / "wmt_transformer_1x8.json").read_text())
    cases = [
        ({**good, "schema_version": "0.9"}, ("schema_version", "1.0")),
        ({**good, "layers": [{"name": "x", "m": 4, "k": 0, "n": 4}]}, ("layers.0.k",)),
        (
            {**good, "layers": [{"name": "x", "m": 4, "k": 8, "n": 4, "pattern": "3:2"}]},
            ("layers.0.pattern",),
        ),
        (
            {**good, "layers": [{"name": "x", "op": "attention", "m": 4, "k": 8, "n": 4, "pattern": "2:4"}]},
            ("attention",),
        ),
        ({k: v for k, v in good.items() if k != "layers"}, ("layers", "Field required")),
    ]
    for doc, needles in cases:
        p = tmp_path / "t.json"
        p.write_text(json.dumps(doc))
        assert_one_line_error(run("trace", "validate", str(p)), *needles)
    p = tmp_path / "broken.json"
    p.write_text("{not json")
    assert_one_line_error(run("simulate", str(p)), "not valid json")


def test_help_works_without_torch_imported() -> None:
    code = "import sys, nmsim, nmsim.cli; nmsim.cli._register_all(); print('torch' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert p.stdout.strip() == "False", p.stderr


def test_gemm_explain_and_mapping_in_json() -> None:
    args = ("gemm", "--m", "512", "--n", "3072", "--k", "768", "--hw", "stc_2x4_like", "--sparsity", "2:4")
    p = run(*args, "--explain")
    assert p.returncode == 0, p.stderr
    for needle in ("loop order", "DRAM-level tile", "ifmap_sram", "dram", "bound"):
        assert needle in p.stdout
    d = json.loads(run(*args, "--json", "--objective", "energy").stdout)
    assert set(d["mapping"]) >= {"loop_order", "tile_m", "tile_n", "tile_k", "bytes_per_level"}
    assert d["fell_back"] is False
    assert_one_line_error(run(*args, "--objective", "power"), "objective")


def test_simulate_residency_option() -> None:
    # one sentence pair: its activations fit stc_2x4_like's buffers, so residency has something to keep
    one = ("simulate", "wmt_transformer_1x8", "--hw", "stc_2x4_like")
    auto = json.loads(run(*one, "--json").stdout)["totals"]
    none = json.loads(run(*one, "--residency", "none", "--json").stdout)["totals"]
    assert auto["dram_bytes"] < none["dram_bytes"] and auto["cycles"] <= none["cycles"]
    assert_one_line_error(run("simulate", "--residency", "maybe"), "residency")
