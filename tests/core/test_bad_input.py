"""Generated bad input, per class, through the real entry point and through the Python API.

The CLI is driven in-process through :func:`nmsim.cli.main` — the function the ``nmsim`` console script
calls — so the exit-code path is the one users get. Every example must exit 2 with one ``error:`` line
(a few lines at most), no traceback, and no new file in its scratch folder. Examples are capped per class
and each has a deadline; the classes follow the bad-input corpus (``benchmarks/bad_input_corpus.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nmsim
from nmsim import limits
from nmsim.cli import main
from nmsim.errors import NmsimInputError

REPO = Path(__file__).resolve().parents[2]
TRACE = str(REPO / "traces" / "wmt_transformer_1x8.json")
TRAINED = str(REPO / "traces" / "translation" / "dense_s1.json")
MEASURED = REPO / "benchmarks" / "results" / "gpu" / "h100_24_calibration.json"
SHIPPED = sorted(nmsim.io.registry.shipped_hardware())

PER_CLASS = settings(
    max_examples=25,
    deadline=5000,  # ms per example: a hang is a failure, not a slow test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

Setup = Callable[[Path], None]


@pytest.fixture(scope="module", autouse=True)
def _compiled_engine() -> None:
    """Compile the engine before the per-example deadlines start: on a fresh clone the first
    simulation compiles the numba kernels (tens of seconds), which is not a hang."""
    hw = nmsim.load_hardware("stc_2x4_like")
    for sparsity in ("dense", "2:4"):
        nmsim.simulate_gemm(64, 64, 64, hw, sparsity=sparsity)


def run_cli(argv: list[str], setup: Setup | None = None) -> None:
    """Run ``nmsim argv`` in a fresh folder (``{d}`` in an argument is that folder) and assert the
    refusal: exit 2, one error line, no traceback, no new file."""
    with tempfile.TemporaryDirectory(prefix="nmsim_bad_") as tmp:
        d = Path(tmp)
        if setup is not None:
            setup(d)
        before = {p for p in d.rglob("*")}
        args = [a.replace("{d}", tmp) for a in argv]
        out, err = io.StringIO(), io.StringIO()
        old_argv, old_cwd = sys.argv, os.getcwd()
        sys.argv = ["nmsim", *args]
        os.chdir(d)
        code: object = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main()
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.argv = old_argv
            os.chdir(old_cwd)
        text = err.getvalue()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        shown = f"nmsim {' '.join(a[:60] for a in args)}\n{text[-600:]}"
        assert code == 2, shown
        assert "Traceback" not in text + out.getvalue(), shown
        assert sum(ln.startswith("error:") for ln in lines) == 1 and len(lines) <= 3, shown
        assert {p for p in d.rglob("*")} == before, shown


def write(name: str, text: str | bytes) -> Setup:
    def make(d: Path) -> None:
        (d / name).write_bytes(text if isinstance(text, bytes) else text.encode())

    return make


def hw_doc(**changes: Any) -> str:
    doc = yaml.safe_load((REPO / "hw_configs" / "stc_2x4_like.yaml").read_text())
    for dotted, value in changes.items():
        node = doc
        *path, last = dotted.split("__")
        for part in path:
            node = node[part]
        node[last] = value
    return yaml.safe_dump(doc, sort_keys=False)


def trace_doc(**layer0: Any) -> str:
    doc = json.loads(Path(TRACE).read_text())
    doc["layers"][0] = doc["layers"][0] | layer0
    return json.dumps(doc)


BIG = st.integers(limits.MAX_DIM + 1, 2**70)
HUGE_M = st.integers(limits.MAX_M_IN_NM + 1, 10**11)

# ----------------------------------------------------------------------------- refusals that exited 0


@PER_CLASS
@given(
    st.sampled_from(["simulate", "sweep", "recipes", "frontier", "calibrate"]),
    st.sampled_from(["rows", "cols", "cores"]),
    st.integers(1, 256),
    st.integers(1, 256),
    st.sampled_from(SHIPPED),
)
def test_refusals_exit_2(cmd: str, key: str, a: int, b: int, hw: str) -> None:
    argv = {
        "simulate": ["simulate", TRACE, "--json", "--csv", "--out", "{d}/x.json"],
        "sweep": ["sweep", TRACE, "--param", f"{key}={a}", "--param", f"{key}={b}", "--out", "{d}/r.csv", "-q"],
        "recipes": ["recipes", TRAINED, "--hw", hw, "--hw", hw],
        "frontier": ["frontier", TRAINED, "--sweep", "{d}/r.csv", "--out", "{d}/f.png"],
        "calibrate": ["calibrate", "--measurements", str(MEASURED), "--hw", hw, "--fit", "array.clock_ghz",
                      "--out", "{d}/o.yaml", "--holdout", "." * (a % 3 + 1)],
    }[cmd]  # fmt: skip
    setup = write("r.csv", "hw,latency_s\nx,1\n") if cmd == "frontier" else None
    run_cli(argv, setup)


# ----------------------------------------------------------------------------- overflow


@PER_CLASS
@given(
    st.sampled_from(
        ["gemm-dim", "gemm-product", "gemm-array", "config", "trace", "trace-repeat", "csv", "measured"]
    ),
    BIG,
    st.sampled_from(["m", "n", "k"]),
)
def test_huge_numbers_are_refused(where: str, big: int, dim: str) -> None:
    dims = {"m": "64", "n": "64", "k": "64"}
    if where == "gemm-dim":
        dims[dim] = str(big)
    elif where == "gemm-product":  # each dimension admitted, their product not
        dims = {d: str(2**16) for d in dims} | {dim: str(2**14 + big % 2**10)}
    gemm = ["gemm", "--m", dims["m"], "--n", dims["n"], "--k", dims["k"], "--json"]
    if where.startswith("gemm"):
        run_cli([*gemm, "--rows", str(big)] if where == "gemm-array" else gemm)
    elif where == "config":
        field = {"m": "array__rows", "n": "array__cores", "k": "array__tile_folds"}[dim]
        run_cli([*gemm, "--hw", "{d}/h.yaml"], write("h.yaml", hw_doc(**{field: big})))
    elif where in ("trace", "trace-repeat"):
        run_cli(
            ["simulate", "{d}/t.json"],
            write("t.json", trace_doc(**{"repeat" if where == "trace-repeat" else dim: big})),
        )
    elif where == "csv":
        run_cli(
            ["import-scalesim", "{d}/t.csv", "--out", "{d}/t.json"],
            write("t.csv", f"Layer, M, N, K,\nl1, {big}, 4, 4,\n"),
        )
    else:
        doc = json.loads(MEASURED.read_text())
        doc["rows"][0][dim.upper()] = big
        run_cli(["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz",
                 "--out", "{d}/o.yaml"], write("m.json", json.dumps(doc)))  # fmt: skip


def test_a_sweep_combination_past_max_count_is_refused() -> None:
    """Each value alone is admitted; together (1e9 GHz against 1e-6 GB/s) a layer could stall 1e24 cycles."""
    run_cli(["sweep", TRACE, "--param", "dram_bandwidth_gbps=1e-6,10", "--param", "clock_ghz=1e9,1",
             "--scheduler", "inline", "--out", "{d}/r.csv", "-q"])  # fmt: skip


# ----------------------------------------------------------------------------- non-finite


FLOAT_FIELDS = [
    "array__clock_ghz",
    "memory__dram_bandwidth_gbps",
    "energy__node_nm",
    "array__launch_overhead_us",
]


@PER_CLASS
@given(
    st.sampled_from(["hw show", "gemm", "sweep", "train", "trace", "measured"]),
    st.sampled_from([float("inf"), float("-inf"), float("nan")]),
    st.sampled_from(FLOAT_FIELDS),
)
def test_non_finite_numbers_are_refused(where: str, value: float, field: str) -> None:
    text = {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan")
    if where in ("hw show", "gemm"):
        argv = (
            ["hw", "show", "{d}/h.yaml"]
            if where == "hw show"
            else ["gemm", "--m", "8", "--n", "8", "--k", "8", "--hw", "{d}/h.yaml"]
        )
        run_cli(argv, write("h.yaml", hw_doc(**{field: value})))
    elif where == "sweep":
        run_cli(["sweep", TRACE, "--param", f"{field.replace('__', '.')}={text}", "--out", "{d}/r.csv", "-q"])
    elif where == "train":
        run_cli(["train", "--steps", "1", "--lr", text, "--out", "{d}/t.json"])
    elif where == "trace":
        run_cli(["simulate", "{d}/t.json"], write("t.json", trace_doc(density=value)))
    else:
        doc = json.loads(MEASURED.read_text())
        doc["rows"][0].update(dense_ms=value, speedup=None)
        run_cli(["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz",
                 "--out", "{d}/o.yaml"], write("m.json", json.dumps(doc)))  # fmt: skip


# ----------------------------------------------------------------------------- hangs


@PER_CLASS
@given(st.sampled_from(["gemm", "trace", "config", "sweep", "flops", "train"]), st.integers(1, 4), HUGE_M)
def test_huge_group_sizes_are_refused_at_once(where: str, n: int, m: int) -> None:
    nm = f"{n}:{m}"
    if where == "gemm":
        run_cli(["gemm", "--m", "8", "--n", "8", "--k", "64", "--hw", "vegeta_like", "--sparsity", nm])
    elif where == "trace":
        run_cli(["simulate", "{d}/t.json", "--hw", "vegeta_like"], write("t.json", trace_doc(pattern=nm)))
    elif where == "config":
        run_cli(["gemm", "--m", "8", "--n", "8", "--k", "64", "--sparsity", "1:8", "--hw", "{d}/h.yaml"],
                write("h.yaml", hw_doc(sparse__modes=[nm])))  # fmt: skip
    elif where == "sweep":
        run_cli(["sweep", TRACE, "--hw", "vegeta_like", "--nm", nm, "--out", "{d}/r.csv", "-q"])
    elif where == "flops":
        run_cli(["flops", TRACE, "--nm", nm])
    else:
        run_cli(["train", "--steps", "1", "--nm", nm, "--out", "{d}/t.json"])


# ----------------------------------------------------------------------------- hostile files


@PER_CLASS
@given(
    st.sampled_from(["trace", "hw", "spec", "measured", "recipe"]),
    st.sampled_from(["json-list", "json-object", "yaml-flow", "yaml-block"]),
    st.integers(limits.MAX_DOC_DEPTH + 1, 50_000),
)
def test_deeply_nested_documents_are_refused(what: str, shape: str, depth: int) -> None:
    if shape == "json-list":
        text, suffix = "[" * depth + "]" * depth, ".json"
    elif shape == "json-object":
        text, suffix = '{"a":' * depth + "1" + "}" * depth, ".json"
    elif shape == "yaml-flow":
        text, suffix = "[" * depth + "]" * depth, ".yaml"
    else:
        depth = min(depth, 2000)  # block nesting grows as depth², keep the file small
        text, suffix = "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "b: 1\n", ".yaml"
    if what == "hw" and suffix == ".json":
        suffix = ".yaml"  # a config is read by its path: JSON text in a .yaml file is still YAML
    name = "doc" + suffix
    argv = {
        "trace": ["simulate", "{d}/" + name],
        "hw": ["gemm", "--m", "8", "--n", "8", "--k", "8", "--hw", "{d}/" + name],
        "spec": ["sweep", "--spec", "{d}/" + name, "--out", "{d}/r.csv", "-q"],
        "measured": ["calibrate", "--measurements", "{d}/" + name, "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz",
                     "--out", "{d}/o.yaml"],
        "recipe": ["train", "--steps", "1", "--recipe", "{d}/" + name, "--out", "{d}/t.json"],
    }[what]  # fmt: skip
    run_cli(argv, write(name, text))


@PER_CLASS
@given(st.integers(limits.MAX_CSV_FIELD + 1, 4 * limits.MAX_CSV_FIELD), st.sampled_from(["name", "number"]))
def test_huge_csv_fields_are_refused(length: int, column: str) -> None:
    cell = "x" * length if column == "name" else "9" * length
    row = f"{cell}, 4, 4, 4," if column == "name" else f"l1, {cell}, 4, 4,"
    run_cli(
        ["import-scalesim", "{d}/t.csv", "--out", "{d}/t.json"],
        write("t.csv", "Layer, M, N, K,\n" + row + "\n"),
    )


def test_onnx_the_full_checker_rejects_is_refused() -> None:
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((16, 8), dtype=np.float32), "W")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, 16])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4, 5])  # MatMul gives [4, 8]
    graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "g", [x], [y], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    run_cli(["import-onnx", "{d}/m.onnx", "--out", "{d}/t.json"], write("m.onnx", model.SerializeToString()))
    del onnx


# ----------------------------------------------------------------------------- unwritable outputs

WRITERS = {
    "simulate": (["simulate", TRACE, "--out"], ".json"),
    "import-scalesim": (["import-scalesim", "{d}/t.csv", "--out"], ".json"),
    "sweep": (["sweep", TRACE, "-q", "--out"], ".csv"),
    "frontier": (["frontier", TRAINED, "--out"], ".png"),
    "plot": (["plot", "roofline", TRACE, "--out"], ".png"),
    "calibrate": (["calibrate", "--measurements", str(MEASURED), "--hw", "nvidia_h100_sxm", "--fit",
                   "array.clock_ghz", "--out"], ".yaml"),
    "recipes": (["recipes", TRAINED, "--out"], ".json"),
    "train": (["train", "--steps", "1", "--out"], ".json"),
    "frontier --csv": (["frontier", TRAINED, "--out", "{d}/f.png", "--csv"], ".csv"),
    "recipes --plot": (["recipes", TRAINED, "--plot"], ""),
}  # fmt: skip


def _scratch(d: Path) -> None:
    (d / "file.txt").write_text("x")
    (d / "adir.json").mkdir()
    (d / "adir.csv").mkdir()
    (d / "adir.png").mkdir()
    (d / "adir.yaml").mkdir()
    (d / "t.csv").write_text("Layer, M, N, K,\nl1, 4, 4, 4,\n")


@PER_CLASS
@given(st.sampled_from(sorted(WRITERS)), st.sampled_from(["under a file", "onto a folder", "unwritable"]),
       st.text(alphabet="abcdefgh", min_size=1, max_size=8))  # fmt: skip
def test_unwritable_outputs_are_refused_before_work(cmd: str, how: str, stem: str) -> None:
    argv, suffix = WRITERS[cmd]
    if cmd == "recipes --plot":
        path = {"under a file": "{d}/file.txt/" + stem, "onto a folder": "{d}/file.txt",
                "unwritable": "/proc/nmsim_no_such/" + stem}[how]  # fmt: skip
    else:
        path = {"under a file": f"{{d}}/file.txt/{stem}{suffix}", "onto a folder": f"{{d}}/adir{suffix}",
                "unwritable": f"/proc/nmsim_no_such/{stem}{suffix}"}[how]  # fmt: skip
        if how == "onto a folder" and not suffix:
            path = "{d}/file.txt"
    run_cli([*argv, path], _scratch)


# ----------------------------------------------------------------------------- odd cases

JUNK = st.text(alphabet=", -+x\t0", max_size=6).filter(lambda s: not any(c.isdigit() and c != "0" for c in s))


@PER_CLASS
@given(
    st.sampled_from(["seeds", "patterns", "holdout", "sparsity", "fit", "nm-text"]),
    JUNK,
    st.sampled_from(["(", "[", "*", "(?P<", "\\", "a{2,1}", "(?<=a+)b"]),
)
def test_odd_values_are_refused(what: str, junk: str, regex: str) -> None:
    if what in ("seeds", "patterns"):
        run_cli(["train-grid", "--out", "{d}/g", f"--{what}", junk.replace("0", ""), "--steps", "1"])
    elif what == "holdout":
        run_cli(["calibrate", "--measurements", str(MEASURED), "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz",
                 "--out", "{d}/o.yaml", "--holdout", regex])  # fmt: skip
    elif what == "sparsity":
        run_cli(["gemm", "--m", "8", "--n", "8", "--k", "8", "--sparsity", junk + ":" + junk or ":"])
    elif what == "fit":
        run_cli(["calibrate", "--measurements", str(MEASURED), "--hw", "nvidia_h100_sxm", "--fit", junk.replace("0", ""),
                 "--out", "{d}/o.yaml"])  # fmt: skip
    else:
        run_cli(["simulate", str(REPO / "README.md")])


# ----------------------------------------------------------------------------- the Python API


@settings(max_examples=25, deadline=5000, derandomize=True)
@given(
    st.one_of(st.integers(max_value=0), BIG, st.floats(), st.booleans(), st.text(max_size=4), st.none()),
    st.sampled_from(["m", "n", "k", "repeat"]),
)
def test_api_simulate_gemm_refuses_bad_dimensions(bad: object, which: str) -> None:
    hw = nmsim.load_hardware("stc_2x4_like")
    args = {"m": 8, "n": 8, "k": 8, "repeat": 1} | {which: bad}
    with pytest.raises(NmsimInputError):
        nmsim.simulate_gemm(args["m"], args["n"], args["k"], hw, repeat=args["repeat"])  # type: ignore[arg-type]


@settings(max_examples=25, deadline=5000, derandomize=True)
@given(
    st.one_of(
        HUGE_M.map(lambda m: f"1:{m}"), st.text(max_size=8).filter(lambda s: ":" not in s or not s.strip())
    )
)
def test_api_simulate_gemm_refuses_bad_patterns(sparsity: str) -> None:
    if sparsity.strip().lower() in ("", "dense"):
        sparsity = "x"
    with pytest.raises(NmsimInputError):
        nmsim.simulate_gemm(8, 8, 8, nmsim.load_hardware("stc_2x4_like"), sparsity=sparsity)


def test_api_simulate_gemm_refuses_a_non_config() -> None:
    with pytest.raises(NmsimInputError, match="HardwareConfig"):
        nmsim.simulate_gemm(8, 8, 8, "stc_2x4_like")  # type: ignore[arg-type]


@settings(max_examples=25, deadline=5000, derandomize=True)
@given(
    st.sampled_from(["rows", "cols", "cores", "clock_ghz", "dram_bandwidth_gbps", "ifmap_kb"]),
    st.one_of(
        st.integers(2**40, 2**70), st.sampled_from([float("inf"), float("nan"), -1, 0, 1e300, -1e-300])
    ),
)
def test_api_load_hardware_refuses_bad_overrides(key: str, value: object) -> None:
    with pytest.raises(NmsimInputError):
        nmsim.load_hardware("vegeta_like", **{key: value})


@settings(
    max_examples=25,
    deadline=5000,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(["deep", "huge", "nan", "pattern", "folder", "missing"]),
    st.integers(limits.MAX_DOC_DEPTH + 1, 10_000),
)
def test_api_load_trace_refuses_bad_traces(tmp_path: Path, kind: str, n: int) -> None:
    p = tmp_path / f"{kind}.json"
    text = {
        "deep": "[" * n + "]" * n,
        "huge": trace_doc(m=limits.MAX_DIM + n),
        "nan": trace_doc(density=float("nan")),
        "pattern": trace_doc(pattern=f"1:{limits.MAX_M_IN_NM + n}"),
    }.get(kind)
    if text is not None:
        p.write_text(text)
    elif kind == "folder":
        p = tmp_path / "a_folder_of_two"
        p.mkdir(exist_ok=True)
        for i in (1, 2):
            (p / f"{i}.json").write_text(Path(TRACE).read_text())
    with pytest.raises(NmsimInputError):
        nmsim.load_trace(p)


def test_api_sparsifier_refuses_bad_input() -> None:
    torch = pytest.importorskip("torch")
    from nmsim.train.sparsifier import Sparsifier

    model = torch.nn.Sequential(torch.nn.Linear(16, 16))
    for kwargs in (
        {"recipe": "no_such_recipe", "total_steps": 10},
        {"recipe": "sdgf", "total_steps": 10, "nm": f"1:{limits.MAX_M_IN_NM + 1}"},
        {"recipe": "sdgf", "total_steps": 10, "nm": "9:4"},
        {"recipe": "sdgf", "total_steps": limits.MAX_STEPS + 1},
        {"recipe": "sdgf", "total_steps": -3},
        {"recipe": "sdgf", "total_steps": 10, "targets": "re:(["},
        {"recipe": {"name": "r", "stages": [{"name": "s", "modifier": "mask_decay", "decay": {"beta": float("nan")}}]},
         "total_steps": 10},
    ):  # fmt: skip
        with pytest.raises(NmsimInputError):
            Sparsifier(model, **kwargs)  # type: ignore[arg-type]
