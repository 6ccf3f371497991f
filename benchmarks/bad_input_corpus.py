"""A corpus of bad inputs over every ``nmsim`` command, run in-process through the real entry point.

Each case is what a hostile or careless user could type or hand over: an option out of range, a huge
or non-finite number (on the command line, in a config, in a trace, in a measurement file), a pattern
that would take unbounded time, a nested or oversized document, an ONNX model ONNX's own full checker
rejects, an output path that cannot be written. A case is *handled* when the command

- exits with status 2,
- prints one ``error:`` line on stderr (at most three lines in all) and no traceback,
- leaves no new file behind, and
- returns within the time limit.

The ``usable`` class holds inputs that must *work* (exit 0): the resolver's shipped names and folders.

Run it with the repository on ``PYTHONPATH`` (``python benchmarks/bad_input_corpus.py``); ``--json``
prints every case's outcome, ``--class`` keeps one class, ``--timeout`` sets the per-case limit (s).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
TRACE = str(REPO / "traces" / "wmt_transformer_1x8.json")
TRAINED = str(REPO / "traces" / "translation" / "sdgf-geometric_1x8_s1.json")
MEASURED = REPO / "benchmarks" / "results" / "gpu" / "h100_24_calibration.json"
HUGE = str(2**62)
HANG_NM = "1:99999999999"

CLASSES = (
    "refusal_exit0",
    "overflow",
    "nonfinite",
    "hang",
    "hostile_file",
    "unwritable_output",
    "odd",
    "usable",
)


@dataclass
class Case:
    """One command line; ``{d}`` in an argument is the case's scratch folder."""

    cls: str
    label: str
    argv: list[str]
    expect: int = 2
    setup: Callable[[Path], None] | None = None
    allowed_new: tuple[str, ...] = field(default_factory=tuple)


# ----------------------------------------------------------------------------- hostile files


def _hw_doc() -> dict[str, Any]:
    return yaml.safe_load((REPO / "hw_configs" / "stc_2x4_like.yaml").read_text())


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
    return doc


def hw_file(name: str, dotted: str, value: Any) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / name).write_text(yaml.safe_dump(_set(_hw_doc(), dotted, value), sort_keys=False))

    return make


def _trace_doc() -> dict[str, Any]:
    return json.loads(Path(TRACE).read_text())


def trace_file(name: str, dotted: str, value: Any) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / name).write_text(json.dumps(_set(_trace_doc(), dotted, value)))

    return make


def measurement_file(name: str, row_changes: dict[str, Any], drop: str = "") -> Callable[[Path], None]:
    """The in-repo H100 measurements with ``row_changes`` in the first row; ``drop``: remove every
    row's fields starting with it."""

    def make(d: Path) -> None:
        doc = json.loads(MEASURED.read_text())
        doc["rows"] = [doc["rows"][0] | row_changes, *doc["rows"][1:]]
        if drop:
            doc["rows"] = [{k: v for k, v in r.items() if not k.startswith(drop)} for r in doc["rows"]]
        (d / name).write_text(json.dumps(doc))

    return make


def text_file(name: str, text: str | bytes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)

    return make


def both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        for m in makers:
            m(d)

    return make


def folder(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).mkdir(parents=True, exist_ok=True)


DEEP = 100_000
DEEP_JSON = "[" * DEEP + "]" * DEEP
DEEP_OBJ = '{"a":' * DEEP + "1" + "}" * DEEP
DEEP_YAML = "[" * DEEP + "]" * DEEP
DEEP_BLOCK_YAML = "".join("  " * i + "a:\n" for i in range(3000)) + "  " * 3000 + "b: 1\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
HUGE_FIELD_CSV = "Layer, M, N, K,\n" + "l1, " + "9" * 200_000 + ", 4, 4,\n"
SCALESIM_HUGE = "Layer, M, N, K,\nl1, " + HUGE + ", 4, 4,\n"
SCALESIM_CONV_HUGE = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    "c1, 3000000, 3000000, 3, 3, 64, 64, 1,\n"
)


def onnx_file(name: str, kind: str) -> Callable[[Path], None]:
    """A small ONNX model: 'bad_shape' (the full checker's strict shape inference rejects it),
    'huge' (a 2**40-token input), 'ok' (a valid two-layer model)."""

    def make(d: Path) -> None:
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        tokens = 2**40 if kind == "huge" else 4
        w = numpy_helper.from_array(np.ones((16, 8), dtype=np.float32), "W")
        x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [tokens, 16])
        out_shape = [tokens, 5] if kind == "bad_shape" else [tokens, 8]
        y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, out_shape)
        node = helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")
        graph = helper.make_graph([node], "g", [x], [y], initializer=[w])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        (d / name).write_bytes(model.SerializeToString())
        del onnx

    return make


# ----------------------------------------------------------------------------- the cases


def build_cases() -> list[Case]:
    c: list[Case] = []

    def add(cls: str, label: str, argv: list[str], **kw: Any) -> None:
        c.append(Case(cls, label, argv, **kw))

    # a table, one case per line
    # fmt: off
    gemm = ["gemm", "--m", "64", "--n", "64", "--k", "64"]
    meas = measurement_file("m.json", {})
    hw_ok = hw_file("hw.yaml", "name", "mine")

    # -- refusals that go through cli.fail()
    add("refusal_exit0", "simulate --json --csv", ["simulate", TRACE, "--json", "--csv", "--out", "{d}/x.json"])
    add("refusal_exit0", "recipes same --hw twice", ["recipes", TRAINED, "--hw", "vegeta_like", "--hw", "vegeta_like"])
    add("refusal_exit0", "sweep --param twice", ["sweep", TRACE, "--param", "rows=32", "--param", "rows=64", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("refusal_exit0", "frontier traces and --sweep", ["frontier", TRAINED, "--sweep", "{d}/r.csv", "--out", "{d}/f.png"], setup=text_file("r.csv", "a,b\n1,2\n"))
    add("refusal_exit0", "calibrate --holdout . (nothing left)", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml", "--holdout", "."], setup=meas)
    add("refusal_exit0", "calibrate --sustained without sustained rows", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml", "--sustained"], setup=measurement_file("m.json", {}, drop="sustained_"))

    # -- silent overflow: huge dims on the CLI, in configs, in traces, in imports, in measurements
    for dim in ("--m", "--n", "--k"):
        argv = [*gemm]
        argv[argv.index(dim) + 1] = HUGE
        add("overflow", f"gemm {dim} 2**62", [*argv, "--json"])
    add("overflow", "gemm m,n,k 2**21 each (product 2**63)", ["gemm", "--m", str(2**21), "--n", str(2**21), "--k", str(2**21), "--json"])
    add("overflow", "gemm m=n=k=2**20 on a 1x1 array", ["gemm", "--m", str(2**20), "--n", str(2**20), "--k", str(2**20), "--rows", "1", "--cols", "1", "--json"])
    add("overflow", "gemm --rows 2**62", [*gemm, "--rows", HUGE, "--json"])
    add("overflow", "gemm --cols 2**40", [*gemm, "--cols", str(2**40), "--json"])
    add("overflow", "gemm --m 2**70 (beyond int64)", ["gemm", "--m", str(2**70), "--n", "4", "--k", "4"])
    for dotted, value in (
        ("array.rows", 2**62),
        ("array.cols", 2**40),
        ("array.cores", 2**62),
        ("array.tile_folds", 2**62),
        ("array.tile_overhead_cycles", 1e300),
        ("array.launch_overhead_us", 1e300),
        ("memory.levels.0.capacity_bytes", 1e300),
        ("memory.levels.-1.bandwidth_gbps", 1e-300),
        ("array.clock_ghz", 1e300),
        ("sparse.mux_extra_cycles", 2**62),
        ("energy.mac.int8.pj", 1e308),
    ):
        name = dotted.replace(".", "_") + ".yaml"
        add("overflow", f"config {dotted}={value:g}", [*gemm, "--hw", "{d}/" + name, "--json"], setup=hw_file(name, dotted, value))
    for dotted, value in (
        ("layers.0.m", 2**62),
        ("layers.0.k", 2**40),
        ("layers.0.n", 2**33),
        ("layers.0.repeat", 2**62),
    ):
        name = dotted.replace(".", "_") + ".json"
        add("overflow", f"trace {dotted}=2**{value.bit_length() - 1}", ["simulate", "{d}/" + name, "--json"], setup=trace_file(name, dotted, value))
    add("overflow", "trace m·k·n·repeat 2**64 (each dim small)", ["simulate", "{d}/p.json", "--json"], setup=trace_file("p.json", "layers.0", {"name": "big", "m": 2**16, "k": 2**16, "n": 2**16, "repeat": 2**16}))
    add("overflow", "trace conv input 2**40", ["simulate", "{d}/conv.json"], setup=trace_file("conv.json", "layers.0", {"name": "c", "op": "conv2d", "conv": {"in_channels": 3, "out_channels": 8, "kernel_h": 3, "kernel_w": 3, "input_h": 2**40, "input_w": 2**40}}))
    add("overflow", "trace validate 2**62 dims", ["trace", "validate", "{d}/t.json"], setup=trace_file("t.json", "layers.0.m", 2**62))
    add("overflow", "trace 100k layers", ["simulate", "{d}/many.json"], setup=trace_file("many.json", "layers", [{"name": f"l{i}", "m": 4, "k": 4, "n": 4} for i in range(100_000)]))
    add("overflow", "import-scalesim M 2**62", ["import-scalesim", "{d}/t.csv", "--out", "{d}/t.json"], setup=text_file("t.csv", SCALESIM_HUGE))
    add("overflow", "import-scalesim conv 3e6x3e6", ["import-scalesim", "{d}/t.csv"], setup=text_file("t.csv", SCALESIM_CONV_HUGE))
    add("overflow", "import-onnx 2**40 tokens", ["import-onnx", "{d}/h.onnx", "--out", "{d}/t.json"], setup=onnx_file("h.onnx", "huge"))
    add("overflow", "import-onnx --seq-len 2**62", ["import-onnx", "{d}/ok.onnx", "--seq-len", HUGE], setup=onnx_file("ok.onnx", "ok"))
    add("overflow", "import-onnx --batch 2**62", ["import-onnx", "{d}/ok.onnx", "--batch", HUGE], setup=onnx_file("ok.onnx", "ok"))
    add("overflow", "sweep --param rows=2**62", ["sweep", TRACE, "--param", f"rows={HUGE}", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("overflow", "sweep --param cores=2**62", ["sweep", TRACE, "--param", f"cores={HUGE}", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("overflow", "sweep --param memory.ifmap.size_kb=1e300", ["sweep", TRACE, "--param", "memory.ifmap.size_kb=1e300", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("overflow", "sweep --chunk-points 2**62", ["sweep", TRACE, "--chunk-points", HUGE, "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("overflow", "sweep --workers 2**62", ["sweep", TRACE, "--workers", HUGE, "--out", "{d}/r.csv", "-q"])
    add("overflow", "calibrate K=2**62 row", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml"], setup=measurement_file("m.json", {"K": 2**62}))
    add("overflow", "recipes --refresh-lanes 2**62", ["recipes", TRAINED, "--refresh-lanes", HUGE])
    add("overflow", "plot roofline --label-top 2**62", ["plot", "roofline", TRACE, "--out", "{d}/r.png", "--label-top", HUGE])
    add("overflow", "train --steps 2**62", ["train", "--steps", HUGE, "--out", "{d}/t.json"])
    add("overflow", "train --batch-size 2**40", ["train", "--steps", "1", "--batch-size", str(2**40), "--out", "{d}/t.json"])
    add("overflow", "train-grid --steps 2**62", ["train-grid", "--out", "{d}/g", "--steps", HUGE, "--limit", "1"])
    add("overflow", "train-grid --seeds 2**70", ["train-grid", "--out", "{d}/g", "--seeds", str(2**70), "--limit", "1", "--steps", "1"])

    # -- non-finite numbers
    for dotted, value in (
        ("array.clock_ghz", float("inf")),
        ("array.clock_ghz", float("nan")),
        ("memory.levels.-1.bandwidth_gbps", float("inf")),
        ("memory.levels.0.capacity_bytes", float("nan")),
        ("array.launch_overhead_us", float("inf")),
        ("energy.mac.int8.pj", float("nan")),
        ("energy.static.watts", float("inf")),
        ("energy.node_nm", float("inf")),
    ):
        name = dotted.replace(".", "_") + f"_{value}.yaml"
        add("nonfinite", f"hw show: config {dotted}={value}", ["hw", "show", "{d}/" + name], setup=hw_file(name, dotted, value))
        add("nonfinite", f"gemm: config {dotted}={value}", [*gemm, "--hw", "{d}/" + name, "--json"], setup=hw_file(name, dotted, value))
    for value in ("inf", "nan", "-inf"):
        add("nonfinite", f"sweep --param clock_ghz={value}", ["sweep", TRACE, "--param", f"clock_ghz={value}", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
        add("nonfinite", f"train --lr {value}", ["train", "--steps", "1", "--lr", value, "--out", "{d}/t.json"])
    add("nonfinite", "sweep --param memory.dram_bandwidth_gbps=nan", ["sweep", TRACE, "--param", "memory.dram_bandwidth_gbps=nan", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("nonfinite", "trace density NaN", ["simulate", "{d}/t.json"], setup=trace_file("t.json", "layers.0.density", float("nan")))
    add("nonfinite", "trace metrics.accuracy Infinity", ["trace", "validate", "{d}/t.json"], setup=lambda d: (d / "t.json").write_text(json.dumps(_trace_doc() | {"metrics": {"task": "x", "accuracy": float("inf")}})))
    add("nonfinite", "calibrate dense_ms Infinity", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml"], setup=measurement_file("m.json", {"dense_ms": float("inf"), "speedup": None}))
    add("nonfinite", "calibrate sparse_ms NaN", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml"], setup=measurement_file("m.json", {"sparse_ms": float("nan"), "speedup": None}))
    add("nonfinite", "recipe yaml beta .nan", ["train", "--steps", "1", "--recipe", "{d}/r.yaml", "--out", "{d}/t.json"], setup=text_file("r.yaml", "name: r\nmask_structure: '1:8'\nstages:\n  - {name: d, modifier: mask_decay, decay: {type: exp, beta: .nan}}\n"))
    add("nonfinite", "recipe yaml start .inf", ["train", "--steps", "1", "--recipe", "{d}/r.yaml", "--out", "{d}/t.json"], setup=text_file("r.yaml", "name: r\nmask_structure: '1:8'\nstages:\n  - {name: d, start: .inf, modifier: nm}\n"))

    # -- hangs: patterns whose M is astronomically large
    add("hang", f"gemm --sparsity {HANG_NM}", [*gemm, "--sparsity", HANG_NM])
    add("hang", "gemm --sparsity 1:2**40 on vegeta", [*gemm, "--hw", "vegeta_like", "--sparsity", f"1:{2**40}"])
    add("hang", "trace pattern 1:99999999999", ["simulate", "{d}/t.json", "--hw", "vegeta_like"], setup=trace_file("t.json", "layers.0.pattern", HANG_NM))
    add("hang", "config modes [1:99999999999]", [*gemm, "--hw", "{d}/h.yaml", "--sparsity", "1:8"], setup=hw_file("h.yaml", "sparse.modes", [HANG_NM]))
    add("hang", "config mode_ranges m 1e11", [*gemm, "--hw", "{d}/h.yaml", "--sparsity", "1:8"], setup=hw_file("h.yaml", "sparse", {"kind": "dbb", "modes": [], "mode_ranges": [{"m": 99999999999, "n_max": 2}]}))
    add("hang", "config mode_ranges n_max 1e11", [*gemm, "--hw", "{d}/h.yaml"], setup=hw_file("h.yaml", "sparse", {"kind": "dbb", "modes": [], "mode_ranges": [{"m": 99999999999, "n_max": 99999999998}]}))
    add("hang", f"sweep --nm {HANG_NM}", ["sweep", TRACE, "--hw", "vegeta_like", "--nm", HANG_NM, "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("hang", f"flops --nm {HANG_NM}", ["flops", TRACE, "--nm", HANG_NM])
    add("hang", f"recipes --nm {HANG_NM}", ["recipes", TRACE, "--nm", HANG_NM, "--hw", "vegeta_like"])
    add("hang", f"import-onnx --nm {HANG_NM}", ["import-onnx", "{d}/ok.onnx", "--nm", HANG_NM, "--scope", "all"], setup=onnx_file("ok.onnx", "ok"))
    add("hang", "trace mask_stats block 2**20", ["simulate", "{d}/t.json", "--hw", "s2ta_like"], setup=trace_file("t.json", "layers.0.mask_stats", {"block": 2**20, "histogram": [1] * (2**20 + 1)}))
    add("hang", "sweep 2**25 points", ["sweep", TRACE, "--param", "rows=" + ",".join(str(i) for i in range(1, 4097)), "--param", "cols=" + ",".join(str(i) for i in range(1, 4097)), "--param", "cores=1,2", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("hang", "train --nm 1:99999999999", ["train", "--steps", "1", "--nm", HANG_NM, "--recipe", "sdgf", "--out", "{d}/t.json"])
    add("hang", "train-grid --patterns 1:99999999999", ["train-grid", "--out", "{d}/g", "--patterns", HANG_NM, "--steps", "1", "--limit", "1"])

    # -- hostile files
    for label, name, text in (
        ("deep JSON list", "deep.json", DEEP_JSON),
        ("deep JSON object", "deepo.json", DEEP_OBJ),
        ("deep YAML flow", "deep.yaml", DEEP_YAML),
        ("deep YAML block", "deepb.yaml", DEEP_BLOCK_YAML),
        ("YAML alias bomb", "laughs.yaml", LAUGHS),
        ("binary garbage", "bin.json", bytes(range(256)) * 64),
    ):
        add("hostile_file", f"trace: {label}", ["simulate", "{d}/" + name], setup=text_file(name, text))
        add("hostile_file", f"hw: {label}", [*gemm, "--hw", "{d}/" + name.replace(".json", ".yaml")], setup=text_file(name.replace(".json", ".yaml"), text))
    add("hostile_file", "trace validate: deep JSON", ["trace", "validate", "{d}/deep.json"], setup=text_file("deep.json", DEEP_JSON))
    add("hostile_file", "sweep --spec deep YAML", ["sweep", "--spec", "{d}/deep.yaml", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"], setup=text_file("deep.yaml", DEEP_YAML))
    add("hostile_file", "calibrate deep JSON", ["calibrate", "--measurements", "{d}/deep.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml"], setup=text_file("deep.json", DEEP_OBJ))
    add("hostile_file", "train --recipe deep YAML", ["train", "--steps", "1", "--recipe", "{d}/deep.yaml", "--out", "{d}/t.json"], setup=text_file("deep.yaml", DEEP_YAML))
    add("hostile_file", "recipes: deep JSON trace", ["recipes", "{d}/deep.json"], setup=text_file("deep.json", DEEP_JSON))
    add("hostile_file", "frontier --sweep huge CSV field", ["frontier", "--sweep", "{d}/r.csv", "--out", "{d}/f.png"], setup=text_file("r.csv", "hw,latency_s\n" + "x" * 200_000 + ",1\n"))
    add("hostile_file", "import-scalesim huge CSV field", ["import-scalesim", "{d}/t.csv"], setup=text_file("t.csv", HUGE_FIELD_CSV))
    add("hostile_file", "import-scalesim binary", ["import-scalesim", "{d}/t.csv"], setup=text_file("t.csv", bytes(range(256)) * 8))
    add("hostile_file", "import-onnx full checker rejects", ["import-onnx", "{d}/bad.onnx", "--out", "{d}/t.json"], setup=onnx_file("bad.onnx", "bad_shape"))
    add("hostile_file", "import-onnx garbage", ["import-onnx", "{d}/g.onnx"], setup=text_file("g.onnx", b"\x08\x07garbage" * 100))
    add("hostile_file", "trace 65 MiB", ["trace", "validate", "{d}/big.json"], setup=text_file("big.json", " " * (65 * 2**20) + "{}"))
    add("hostile_file", "trace is a folder", ["trace", "validate", "{d}/dir.json"], setup=folder("dir.json"))

    # -- outputs that cannot be written (checked before any work)
    under_file = "{d}/file.txt/out"
    mk_file = text_file("file.txt", "x")
    for label, argv, suffix in (
        ("simulate --out", ["simulate", TRACE, "--out"], ".json"),
        ("import-scalesim --out", ["import-scalesim", "{d}/t.csv", "--out"], ".json"),
        ("import-onnx --out", ["import-onnx", "{d}/ok.onnx", "--out"], ".json"),
        ("sweep --out", ["sweep", TRACE, "--scheduler", "inline", "-q", "--out"], ".csv"),
        ("frontier --out", ["frontier", TRAINED, "--out"], ".png"),
        ("plot roofline --out", ["plot", "roofline", TRACE, "--out"], ".png"),
        ("plot breakdown --out", ["plot", "breakdown", TRACE, "--out"], ".png"),
        ("calibrate --out", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out"], ".yaml"),
        ("recipes --out", ["recipes", TRAINED, "--out"], ".json"),
        ("train --out", ["train", "--steps", "1", "--out"], ".json"),
    ):
        setup = both(mk_file, text_file("t.csv", "Layer, M, N, K,\nl1, 4, 4, 4,\n"), onnx_file("ok.onnx", "ok"), meas, folder("adir" + suffix))
        add("unwritable_output", f"{label} under a file", [*argv, under_file + suffix], setup=setup)
        add("unwritable_output", f"{label} onto a folder", [*argv, "{d}/adir" + suffix], setup=setup)
        add("unwritable_output", f"{label} unwritable parent", [*argv, "/proc/nmsim_no_such/out" + suffix], setup=setup)
    add("unwritable_output", "recipes --plot under a file", ["recipes", TRAINED, "--plot", "{d}/file.txt/plots"], setup=mk_file)
    add("unwritable_output", "frontier --csv under a file (all or none)", ["frontier", TRAINED, "--out", "{d}/f.png", "--csv", "{d}/file.txt/p.csv"], setup=mk_file)
    add("unwritable_output", "frontier --csv missing parent is fine? no: unwritable", ["frontier", TRAINED, "--out", "{d}/f.png", "--csv", "/proc/nmsim_no_such/p.csv"])
    add("unwritable_output", "train-grid --out is a file", ["train-grid", "--out", "{d}/file.txt", "--steps", "1", "--limit", "1"], setup=mk_file)
    add("unwritable_output", "recipes --out and --plot same bad", ["recipes", TRAINED, "--out", "{d}/ok.json", "--plot", "{d}/file.txt"], setup=mk_file)

    # -- odd cases
    add("odd", "train-grid --seeds ''", ["train-grid", "--out", "{d}/g", "--seeds", "", "--steps", "1"])
    add("odd", "train-grid --seeds ,,", ["train-grid", "--out", "{d}/g", "--seeds", ",,", "--steps", "1"])
    add("odd", "train-grid --patterns ''", ["train-grid", "--out", "{d}/g", "--patterns", "", "--steps", "1"])
    add("odd", "train-grid --seeds -1", ["train-grid", "--out", "{d}/g", "--seeds", "-1", "--steps", "1", "--limit", "1"])
    add("odd", "calibrate --holdout '(['", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.clock_ghz", "--out", "{d}/o.yaml", "--holdout", "(["], setup=meas)
    add("odd", "calibrate --fit ''", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "", "--out", "{d}/o.yaml"], setup=meas)
    add("odd", "calibrate --fit no.such", ["calibrate", "--measurements", "{d}/m.json", "--hw", "nvidia_h100_sxm", "--fit", "array.nope", "--out", "{d}/o.yaml"], setup=meas)
    add("odd", "simulate README.md", ["simulate", str(REPO / "README.md")])
    add("odd", "simulate a .py file", ["simulate", str(REPO / "nmsim" / "__init__.py")])
    add("odd", "gemm --m 0", ["gemm", "--m", "0", "--n", "4", "--k", "4"])
    add("odd", "gemm --m -5", ["gemm", "--m", "-5", "--n", "4", "--k", "4"])
    add("odd", "gemm --m abc", ["gemm", "--m", "abc", "--n", "4", "--k", "4"])
    add("odd", "gemm --sparsity 5:4", [*gemm, "--sparsity", "5:4"])
    add("odd", "gemm --sparsity 0:4", [*gemm, "--sparsity", "0:4"])
    add("odd", "gemm --sparsity 1:4:8", [*gemm, "--sparsity", "1:4:8"])
    add("odd", "gemm --sparsity 10**5000 digits", [*gemm, "--sparsity", "1:" + "9" * 5000])
    add("odd", "gemm --dtype fp64", [*gemm, "--dtype", "fp64"])
    add("odd", "gemm --dataflow xy", [*gemm, "--dataflow", "xy"])
    add("odd", "gemm --compat foo", [*gemm, "--compat", "foo"])
    add("odd", "gemm --hw nope", [*gemm, "--hw", "nope"])
    add("odd", "gemm --rows 0", [*gemm, "--rows", "0"])
    add("odd", "sweep --param rows=", ["sweep", TRACE, "--param", "rows=", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("odd", "sweep --param nope=1", ["sweep", TRACE, "--param", "nope=1", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("odd", "sweep --param rows=0", ["sweep", TRACE, "--param", "rows=0", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("odd", "sweep --out r.txt", ["sweep", TRACE, "--out", "{d}/r.txt", "--scheduler", "inline", "-q"])
    add("odd", "sweep --scheduler bogus", ["sweep", TRACE, "--out", "{d}/r.csv", "--scheduler", "bogus", "-q"])
    add("odd", "sweep --workers 0", ["sweep", TRACE, "--out", "{d}/r.csv", "--workers", "0", "-q"])
    add("odd", "sweep --chunk-points 0", ["sweep", TRACE, "--out", "{d}/r.csv", "--chunk-points", "0", "--scheduler", "inline", "-q"])
    add("odd", "sweep no such trace", ["sweep", "{d}/none.json", "--out", "{d}/r.csv", "--scheduler", "inline", "-q"])
    add("odd", "frontier --x bogus", ["frontier", TRAINED, "--x", "bogus", "--out", "{d}/f.png"])
    add("odd", "frontier --y bogus", ["frontier", TRAINED, "--y", "bogus", "--out", "{d}/f.png"])
    add("odd", "frontier --out f.gif", ["frontier", TRAINED, "--out", "{d}/f.gif"])
    add("odd", "flops --scope bogus", ["flops", TRACE, "--nm", "1:8", "--scope", "bogus"])
    add("odd", "recipes --mdgf-forward bogus", ["recipes", TRAINED, "--mdgf-forward", "bogus"])
    add("odd", "recipes --refresh-lanes -1", ["recipes", TRAINED, "--refresh-lanes", "-1"])
    add("odd", "recipes --nm 9:4", ["recipes", TRACE, "--nm", "9:4"])
    add("odd", "plot breakdown --by bogus", ["plot", "breakdown", TRACE, "--out", "{d}/b.png", "--by", "bogus"])
    add("odd", "plot roofline --label-top -5", ["plot", "roofline", TRACE, "--out", "{d}/b.png", "--label-top", "-5"])
    add("odd", "train --device tpu", ["train", "--steps", "1", "--device", "tpu", "--out", "{d}/t.json"])
    add("odd", "train --lr -1", ["train", "--steps", "1", "--lr", "-1", "--out", "{d}/t.json"])
    add("odd", "train --lr 0", ["train", "--steps", "1", "--lr", "0", "--out", "{d}/t.json"])
    add("odd", "train --recipe nope", ["train", "--steps", "1", "--recipe", "nope", "--out", "{d}/t.json"])
    add("odd", "train --targets re:([", ["train", "--steps", "1", "--recipe", "sdgf", "--targets", "re:([", "--out", "{d}/t.json"])
    add("odd", "train-table not a folder", ["train-table", "{d}/none"])
    add("odd", "hw show nope", ["hw", "show", "nope"])
    add("odd", "trace validate missing", ["trace", "validate", "{d}/none.json"])
    add("odd", "import-onnx --batch 0", ["import-onnx", "{d}/ok.onnx", "--batch", "0"], setup=onnx_file("ok.onnx", "ok"))
    add("odd", "import-scalesim header only", ["import-scalesim", "{d}/t.csv"], setup=text_file("t.csv", "Layer, M, N, K,\n"))
    add("odd", "hw.yaml ok but --hw twice in recipes", ["recipes", TRAINED, "--hw", "{d}/hw.yaml", "--hw", "{d}/hw.yaml"], setup=hw_ok)

    # -- things that must work (exit 0): one resolver everywhere
    add("usable", "simulate a shipped name", ["simulate", "wmt_transformer_1x8", "--json"], expect=0)
    add("usable", "simulate a folder", ["simulate", str(REPO / "traces" / "zoo"), "--csv"], expect=0)
    add("usable", "simulate a glob", ["simulate", str(REPO / "traces" / "zoo" / "vit*.json"), "--json"], expect=0)
    add("usable", "flops a shipped name", ["flops", "wmt_transformer_1x8", "--json"], expect=0)
    add("usable", "trace validate a shipped name", ["trace", "validate", "wmt_transformer_1x8"], expect=0)
    # fmt: on
    return c


# ----------------------------------------------------------------------------- running


class CaseTimeout(BaseException):
    """Raised by the alarm: the command ran past the time limit."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_case(case: Case, base: Path, timeout: float) -> dict[str, Any]:
    """Run ``case`` in a fresh folder under ``base``; its outcome and verdict."""
    from nmsim.cli import main

    d = Path(tempfile.mkdtemp(dir=base))
    if case.setup is not None:
        case.setup(d)
    before = _snapshot(d)
    argv = [a.replace("{d}", str(d)) for a in case.argv]
    out, err = io.StringIO(), io.StringIO()
    code: int | str = 0
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = ["nmsim", *argv]
    os.chdir(d)
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except CaseTimeout:
        code = "timeout"
    except BaseException as exc:  # a crash that escaped main(): what the user would see as a traceback
        import traceback

        code = "crash"
        err.write("Traceback (most recent call last):\n" + "".join(traceback.format_exception(exc))[-400:])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.argv = old_argv
        os.chdir(old_cwd)
    elapsed = time.perf_counter() - start
    new = sorted(_snapshot(d) - before)
    new += [p for p in ("/proc/nmsim_no_such",) if os.path.exists(p)]
    text = err.getvalue()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    if case.expect == 0:
        handled = code == 0
    else:
        handled = (
            code == 2
            and len(errors) == 1
            and len(lines) <= 3
            and "Traceback" not in text + out.getvalue()
            and not new
        )
    return {
        "class": case.cls,
        "label": case.label,
        "handled": handled,
        "exit": code,
        "seconds": round(elapsed, 2),
        "new_files": new[:3],
        "stderr": (errors[0] if errors else (lines[-1] if lines else ""))[:160],
        "stderr_lines": len(lines),
    }


def run_corpus(classes: tuple[str, ...] = CLASSES, timeout: float = 20.0) -> list[dict[str, Any]]:
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cases = [c for c in build_cases() if c.cls in classes]
    results = []
    with tempfile.TemporaryDirectory(prefix="nmsim_corpus_") as tmp:
        # compile the engine first so no case pays the one-time numba compilation
        import nmsim

        nmsim.simulate_gemm(64, 64, 64, nmsim.load_hardware("stc_2x4_like"))
        for case in cases:
            results.append(run_case(case, Path(tmp), timeout))
    return results


def summary(results: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """class → (handled, total)."""
    out: dict[str, tuple[int, int]] = {}
    for r in results:
        h, t = out.get(r["class"], (0, 0))
        out[r["class"]] = (h + int(r["handled"]), t + 1)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print every case's outcome as JSON")
    ap.add_argument("--class", dest="cls", action="append", choices=CLASSES, help="only this class")
    ap.add_argument("--timeout", type=float, default=20.0, help="per-case limit (s)")
    ap.add_argument("--failures", action="store_true", help="list the cases not handled")
    args = ap.parse_args(argv)
    results = run_corpus(tuple(args.cls or CLASSES), args.timeout)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    if args.failures:
        for r in results:
            if not r["handled"]:
                print(
                    f"NOT HANDLED [{r['class']}] {r['label']}: exit {r['exit']} ({r['seconds']} s) "
                    f"new={r['new_files']} :: {r['stderr']}"
                )
    total_h = total = 0
    print(f"{'class':<20} handled / cases")
    for cls, (h, t) in summary(results).items():
        print(f"{cls:<20} {h:>3} / {t:<3}  ({t - h} not handled)")
        total_h, total = total_h + h, total + t
    print(f"{'all':<20} {total_h:>3} / {total:<3}  ({total - total_h} not handled)")


if __name__ == "__main__":
    main()
