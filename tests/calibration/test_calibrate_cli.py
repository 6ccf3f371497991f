"""``nmsim calibrate`` end to end, and the shipped H100 config against GPU measurements it was not fitted on."""

from __future__ import annotations

import copy
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import nmsim
from nmsim.calibration.fit import predict, read_param, speedups
from nmsim.calibration.measurements import load_measurements
from nmsim.io.loaders import apply_overrides, hardware_from_document, read_document, resolve_hardware_path
from tests.conftest import REPO

H100_FILE = REPO / "benchmarks" / "results" / "gpu" / "h100_sxm_transformer_shapes.json"
H200_FILE = REPO / "benchmarks" / "results" / "gpu" / "h200_transformer_shapes.json"
CONVENTION = "Y = X @ W: M = tokens, N = out features (nmsim's own convention)"
TRUTH = {"array.clock_ghz": 1.4, "sparse.efficiency.fp16": 0.7, "sparse.extra_overhead_us": 3.0}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, timeout=300, cwd=REPO
    )


def synthetic_file(path: Path, shapes: list[tuple[int, int, int]], prefix: str) -> Path:
    """A measurement file whose latencies are the H100 config's predictions under TRUTH."""
    doc = apply_overrides(copy.deepcopy(read_document(resolve_hardware_path("nvidia_h100_sxm"))), TRUTH)
    hw = hardware_from_document(doc, "truth")
    rows = []
    for i, (m, n, k) in enumerate(shapes):
        dense = nmsim.simulate_gemm(m, n, k, hw, dtype="fp16").latency_s
        sparse = nmsim.simulate_gemm(m, n, k, hw, sparsity="2:4", dtype="fp16", fallback="never").latency_s
        rows.append({"label": f"{prefix}{i}", "M": m, "N": n, "K": k, "dtype": "fp16",
                     "dense_ms": dense * 1e3, "sparse_ms": sparse * 1e3})  # fmt: skip
    path.write_text(json.dumps({"convention": CONVENTION, "rows": rows}))
    return path


def test_calibrate_two_files_recovers_truth_and_reports_speedups(tmp_path: Path) -> None:
    a = synthetic_file(tmp_path / "big.json", [(4096, 4096, 4096), (8192, 4096, 8192)], "big")
    b = synthetic_file(
        tmp_path / "small.json", [(1024, 512, 512), (2048, 1024, 1024), (4096, 512, 2048)], "small"
    )
    out = tmp_path / "fitted.yaml"
    res = run("calibrate", "--measurements", str(a), "--measurements", str(b), "--hw", "nvidia_h100_sxm",
              "--fit", ",".join(TRUTH), "--holdout", "small2", "--out", str(out), "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    for name, value in TRUTH.items():
        assert summary["params"][name] == pytest.approx(value, rel=0.02), name
    labels = [r["label"] for r in summary["rows"]]
    assert "big:big0 fp16 dense" in labels and "small:small2 fp16 2:4" in labels  # file stem prefixes
    assert [r["role"] for r in summary["rows"]].count("check") == 2  # small2: dense and 2:4
    assert summary["speedup_check"]["count"] == 1 and summary["speedup_fit"]["count"] == 4
    assert summary["speedup_check"]["median_abs_error"] < 0.01  # the truth is recoverable
    hw = nmsim.load_hardware(out)  # the written config is valid and cites the fit
    assert hw.array.clock_ghz == pytest.approx(1.4, rel=0.02)
    assert "fitted by nmsim calibrate to big.json + small.json" in hw.array.sources["clock_ghz"]


def test_calibrate_bad_parameter_is_one_line_exit_2(tmp_path: Path) -> None:
    a = synthetic_file(tmp_path / "m.json", [(4096, 4096, 4096)], "s")
    res = run("calibrate", "--measurements", str(a), "--hw", "nvidia_h100_sxm", "--fit", "array.nope",
              "--out", str(tmp_path / "o.yaml"))  # fmt: skip
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "o.yaml").exists()


def _speedups(hw_name: str, path: Path, label: str) -> list[tuple[float, float]]:
    """(measured, predicted) 2:4 speedup of every row whose label matches ``label``.

    This project's own files were measured under continuous load: the sustained clock state.
    """
    samples = [
        s for s in load_measurements(path).samples(plain_state="sustained") if re.search(label, s.label)
    ]
    measured = speedups(samples, np.array([s.seconds for s in samples]))
    predicted = speedups(samples, predict(nmsim.load_hardware(hw_name), samples))
    return [(measured[k], predicted[k]) for k in measured]


@pytest.mark.parametrize(
    ("hw_name", "path", "label"),
    [
        # rows the shipped H100 config was not fitted on (docs/fidelity.md)
        ("nvidia_h100_sxm", H100_FILE, r"T4096|T8192"),
        # another chip entirely: nothing of the H200 file was fitted
        ("nvidia_h200_sxm", H200_FILE, r"."),
    ],
)
def test_gpu_config_predicts_unfitted_speedups(hw_name: str, path: Path, label: str) -> None:
    """The issue's targets: median speedup error ≤ 10 %, faster/slower verdict right on ≥ 90 %."""
    pairs = _speedups(hw_name, path, label)
    assert len(pairs) >= 68
    assert statistics.median(abs(p / m - 1) for m, p in pairs) <= 0.10
    assert sum((m > 1) == (p > 1) for m, p in pairs) >= 0.9 * len(pairs)
    # the measured small-GEMM slowdown: 512×512 weights × 4096 tokens, fp16, sparse slower than dense
    if path == H100_FILE:
        ((measured, predicted),) = _speedups(hw_name, path, r"d512\.attn_proj\.T4096 fp16")
        assert measured < 1 and predicted < 1


# The fit of docs/fidelity.md, as documented there: in-repo measurement files only.
H100_24_FILE = REPO / "benchmarks" / "results" / "gpu" / "h100_24_calibration.json"
H100_FIT = (
    "array.clock_ghz,gpu.sustained.dense_ghz,gpu.sustained.sparse_ghz,array.efficiency.fp8,"
    "sparse.efficiency.fp16,sparse.efficiency.bf16,sparse.efficiency.fp8,gpu.library.dense_efficiency.int8,"
    "gpu.library.sparse_efficiency.int8,array.launch_overhead_us,sparse.extra_overhead_us,array.tile_overhead_cycles"
)
H100_TIES = (
    "--tie",
    "array.efficiency.int8=array.efficiency.fp8",
    "--tie",
    "sparse.efficiency.int8=sparse.efficiency.fp8",
)


def test_documented_h100_fit_reproduces_the_shipped_config(tmp_path: Path) -> None:
    """From a start far from the shipped values, the documented command lands on them again."""
    shipped = read_document(resolve_hardware_path("nvidia_h100_sxm"))
    start = {"array.clock_ghz": 1.6, "gpu.sustained.dense_ghz": 1.6, "gpu.sustained.sparse_ghz": 1.5,
             "array.efficiency.fp8": 0.7, "gpu.library.dense_efficiency.int8": 0.9,
             "gpu.library.sparse_efficiency.int8": 0.8, "array.launch_overhead_us": 2.0,
             "sparse.extra_overhead_us": 1.0, "array.tile_overhead_cycles": 1000.0,
             "sparse.efficiency.fp16": 0.9, "sparse.efficiency.bf16": 0.9, "sparse.efficiency.fp8": 0.9}  # fmt: skip
    base = tmp_path / "h100_start.yaml"
    base.write_text(yaml.safe_dump(apply_overrides(copy.deepcopy(shipped), start)))
    res = run("calibrate", "--measurements", str(H100_24_FILE), "--measurements", str(H100_FILE),
              "--hw", str(base), "--fit", H100_FIT, *H100_TIES, "--holdout", "T4096|T8192",
              "--measured-in", "h100_sxm_transformer_shapes=sustained",
              "--out", str(tmp_path / "refit.yaml"), "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert set(summary["params"]) == set(start)
    for name, value in summary["params"].items():
        assert value == pytest.approx(read_param(shipped, name), rel=0.02), name
    assert summary["rms_log_error_fit"] == pytest.approx(0.1012, abs=0.002)  # docs/fidelity.md
    assert summary["speedup_check"]["count"] == 68 and summary["speedup_check"]["verdict_right"] >= 66
