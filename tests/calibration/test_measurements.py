"""The measurement-file format (nmsim.calibration.measurements) and the GPU script's GPU-free parts.

The parser tests need no torch. The script's tensor helpers are tested on CPU where torch is installed.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import nmsim
from nmsim.calibration.measurements import (
    FORMAT,
    MeasurementFile,
    load_measurements,
    measurements_to_json,
    nmsim_dtype,
    parse_convention,
    parse_measurements,
    save_measurements,
)
from nmsim.errors import NmsimInputError
from tests.conftest import load_script as conftest_load_script

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu" / "measure_nm.py"
H100_24 = REPO / "benchmarks" / "results" / "gpu" / "h100_24_calibration.json"

# The convention text of benchmarks/results/gpu/h100_24_calibration.json, verbatim.
H100_CONVENTION = (
    "Y^T = W @ X^T: W is M x K (out x in), pruned 2:4 along K by magnitude, first operand; X is N x K "
    "(N = tokens). In the activations(MxK) x weights(KxN) convention, swap M and N."
)


def h100_like() -> dict[str, Any]:
    """Two rows shaped like the 24-latency H100 file (its field set, its rounding)."""
    return {
        "what": "Measured dense vs 2:4 sparse GEMM on one NVIDIA H100",
        "convention": H100_CONVENTION,
        "timing": "CUDA events around CUDA-graph replays, median",
        "meta": {"gpu": "NVIDIA H100 80GB HBM3", "capability": [9, 0], "sm_count": 132},
        "ceilings": {"burst_run1": {"d2d_copy_2GiB": {"ms": 1.4285}}},
        "rows": [
            {
                "label": "square4096",
                "M": 4096,
                "N": 4096,
                "K": 4096,
                "dtype": "float16",
                "dense_ms": 0.21482,
                "sparse_ms": 0.13197,
                "speedup": 1.628,
                "dense_tflops": 639.8,
                "sparse_tflops_dense_equiv": 1041.5,
                "sustained_dense_ms": 0.22573,
                "sustained_sparse_ms": 0.16574,
                "sustained_speedup": 1.362,
                "sparse_kernel": "cuSPARSELt alg 25 (searched)",
            },
            {
                "label": "ffn_up",
                "M": 11008,
                "N": 2048,
                "K": 4096,
                "dtype": "float8_e4m3fn",
                "dense_ms": 0.5,
                "sparse_ms": 0.4,
                "sustained_dense_ms": None,
                "sustained_sparse_ms": None,
                "sustained_speedup": None,
            },
        ],
    }


def error_of(data: Any) -> NmsimInputError:
    with pytest.raises(NmsimInputError) as info:
        parse_measurements(data, "m.json")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("m.json: ")
    return info.value


# ---------------------------------------------------------------------------------------------- format


def test_h100_like_file_loads_and_swaps_m_and_n() -> None:
    doc = parse_measurements(h100_like())
    assert doc.orientation == "weights_first"
    up = doc.gemms()[1]
    # measurement: W is 11008 (out) x 4096 (in), 2048 tokens → nmsim: m = tokens, k = in, n = out
    assert (up.m, up.k, up.n) == (2048, 4096, 11008)
    assert up.dtype == "fp8" and up.pattern == "2:4"
    assert up.dense_s == pytest.approx(0.5e-3) and up.sparse_s == pytest.approx(0.4e-3)
    assert up.speedup == pytest.approx(1.25)
    sq = doc.gemms(sustained=True)[0]
    assert sq.dense_s == pytest.approx(0.22573e-3) and sq.sparse_s == pytest.approx(0.16574e-3)
    assert doc.gemms(sustained=True)[1].dense_s is None


def test_nmsim_order_convention_keeps_m_and_n() -> None:
    data = h100_like()
    for text in ("Y = X @ W: X is M x K (tokens x in)", "nmsim", "  y = x@w"):
        data["convention"] = text
        g = parse_measurements(data).gemms()[1]
        assert (g.m, g.k, g.n) == (11008, 4096, 2048)
    assert parse_convention("weights_first") == parse_convention("Y^T=W@X^T") == "weights_first"


def test_h100_24_file_conforms() -> None:
    doc = load_measurements(H100_24)
    raw = json.loads(H100_24.read_text())
    assert doc.orientation == "weights_first"
    assert len(doc.gemms()) == len(raw["rows"])
    for g, r in zip(doc.gemms(), raw["rows"], strict=True):
        assert (g.m, g.k, g.n) == (r["N"], r["K"], r["M"])
        assert g.speedup == pytest.approx(r["speedup"], rel=2e-3)
    assert {g.dtype for g in doc.gemms()} == {"fp16", "bf16", "int8", "fp8"}
    # the H100 config's DRAM bandwidth is this file's 2 GiB device-to-device copy (read + write)
    copy_tbps = raw["ceilings"]["burst_run1"]["d2d_copy_2GiB"]["TBps_read_plus_write"]
    assert nmsim.load_hardware("nvidia_h100_sxm").memory.dram_bandwidth_gbps == pytest.approx(
        1e3 * copy_tbps, rel=1e-3
    )


def test_samples_for_the_fit() -> None:
    doc = parse_measurements(h100_like())
    samples = doc.samples()
    assert [(s.sparsity, s.dtype) for s in samples] == [
        (None, "fp16"),
        ("2:4", "fp16"),
        (None, "fp8"),
        ("2:4", "fp8"),
    ]
    first = samples[0]
    assert (first.m, first.n, first.k) == (4096, 4096, 4096)
    assert first.seconds == pytest.approx(0.21482e-3)
    up = samples[2]
    assert (up.m, up.n, up.k) == (2048, 11008, 4096)
    assert len(doc.samples(sustained=True)) == 2  # the fp8 row has no sustained latencies
    assert len(doc.samples(dtypes={"fp8"})) == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("float16", "fp16"),
        ("torch.bfloat16", "bf16"),
        ("int8", "int8"),
        ("float8_e4m3fn", "fp8"),
        ("FP16", "fp16"),
    ],
)
def test_dtype_names(name: str, expected: str) -> None:
    assert nmsim_dtype(name) == expected


def _with_row(**changes: Any) -> dict[str, Any]:
    data = h100_like()
    row = data["rows"][0]
    for key, value in changes.items():
        if value is ...:
            row.pop(key)
        else:
            row[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**h100_like(), "convention": "M is tokens"}, "convention"),
        ({k: v for k, v in h100_like().items() if k != "convention"}, "convention"),
        ({**h100_like(), "rows": []}, "rows"),
        ({**h100_like(), "format": "nmsim-measurements/9"}, "format"),
        ({**h100_like(), "colour": "blue"}, "colour"),
        (_with_row(dtype="float64"), "rows.0.dtype"),
        (_with_row(M=0), "rows.0.M"),
        (_with_row(K="big"), "rows.0.K"),
        (_with_row(dense_ms=-1.0), "rows.0.dense_ms"),
        (_with_row(dense_ms=..., sparse_ms=..., speedup=..., sustained_speedup=...), "rows.0"),
        (_with_row(speedup=2.5), "rows.0"),
        (_with_row(sustained_speedup=1.0), "rows.0"),
        (_with_row(pattern="4:4"), "rows.0.pattern"),
        (_with_row(pattern="2-4"), "rows.0.pattern"),
        (_with_row(tokens=4096), "rows.0.tokens"),
        ([1, 2], "(root)"),
    ],
)
def test_bad_files_are_one_line_naming_the_field(data: Any, field: str) -> None:
    assert error_of(data).field == field


def test_rounded_speedups_and_optional_fields_are_accepted() -> None:
    data = _with_row(speedup=1.6278 * 1.015, pattern="1:8")  # within the 2 % rounding allowance
    data["rows"][1]["sparse_ms"] = None  # dense-only row
    data["rows"][1].pop("sparse_ms")
    data["format"] = FORMAT
    doc = parse_measurements(data)
    assert doc.gemms()[0].pattern == "1:8"
    assert doc.gemms()[1].sparse_s is None and doc.gemms()[1].speedup is None
    assert len(doc.samples()) == 3


def test_round_trip_and_yaml(tmp_path: Path) -> None:
    doc = parse_measurements(h100_like())
    path = save_measurements(doc, tmp_path / "out" / "m.json")
    again = load_measurements(path)
    assert again == doc
    assert "null" not in measurements_to_json(doc)
    yaml_path = tmp_path / "m.yaml"
    import yaml

    yaml_path.write_text(yaml.safe_dump(h100_like()))
    assert load_measurements(yaml_path) == doc
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["m.json"]  # no temporary left behind


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NmsimInputError, match="file"):
        load_measurements(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(NmsimInputError, match="not valid"):
        load_measurements(bad)


def test_model_is_frozen() -> None:
    doc = parse_measurements(h100_like())
    with pytest.raises(ValidationError):
        doc.rows[0].M = 1  # type: ignore[misc]
    assert isinstance(doc, MeasurementFile)


# ---------------------------------------------------------------------------------------------- measure_nm.py


def load_script(monkeypatch: pytest.MonkeyPatch | None = None, hide_torch: bool = False) -> ModuleType:
    if hide_torch and monkeypatch is not None:
        monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` → ImportError
    return conftest_load_script(SCRIPT, "measure_nm_under_test")


def test_script_imports_and_lists_shapes_without_torch(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    mod = load_script(monkeypatch, hide_torch=True)
    assert mod.main(["--list", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[0] == "square4096" and len(out) == 6
    assert mod.check_environment() == "PyTorch is not installed (install a CUDA build of torch to measure)"
    assert mod.main(["--out", "never.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("measure_nm: PyTorch is not installed")
    assert not Path("never.json").exists()


def test_default_shape_list() -> None:
    mod = load_script()
    shapes = mod.shape_list(mod.parse_args([]))
    by_label = {s.label: (s.M, s.N, s.K) for s in shapes}
    # squares + 3 layer types × 4 token counts × 3 models, less d4096.attn_proj.T4096 (= square4096)
    assert len(shapes) == 3 + 3 * 4 * 3 - 1
    assert "d4096.attn_proj.T4096" not in by_label
    for size in (4096, 8192, 16384):
        assert by_label[f"square{size}"] == (size, size, size)
    # the measurement convention: M = out features, N = tokens, K = in features
    assert by_label["d4096.ffn_up.T2048"] == (11008, 2048, 4096)
    assert by_label["d4096.ffn_down.T16384"] == (4096, 16384, 11008)
    assert by_label["d512.attn_proj.T4096"] == (512, 4096, 512)
    assert all(mod.shape_problem(s) is None for s in shapes)


def test_shape_flags() -> None:
    mod = load_script()
    args = mod.parse_args(
        ["--only-shapes", "--shape", "1024x512x256", "--shape", "1024X512X256", "--shape", "64x48x96"]
    )
    shapes = mod.shape_list(args)
    assert [(s.M, s.N, s.K) for s in shapes] == [(1024, 512, 256), (64, 48, 96)]  # duplicates dropped
    assert mod.shape_problem(shapes[1]) is None
    assert "K=40" in mod.shape_problem(mod.Shape("x", 64, 16, 40))
    args = mod.parse_args(
        ["--squares", "1024", "--layers", "256:1024", "--tokens", "512,1024", "--dtypes", "fp16,int8"]
    )
    assert len(mod.shape_list(args)) == 1 + 3 * 2 and args.dtypes == ("fp16", "int8")
    assert mod.parse_args([]).dtypes == ("fp16", "bf16", "int8", "fp8")


@pytest.mark.parametrize(
    "argv",
    [
        ["--shape", "12x34"],
        ["--shape", "0x4x4"],
        ["--dtypes", "fp64"],
        ["--layers", "512"],
        ["--tokens", "a"],
        ["--repeats", "0"],
    ],
)
def test_bad_flags_exit_with_usage(argv: list[str]) -> None:
    mod = load_script()
    with pytest.raises(SystemExit) as info:
        mod.parse_args(argv)
    assert info.value.code == 2


def test_script_document_is_a_valid_measurement_file(tmp_path: Path) -> None:
    mod = load_script()
    shape = mod.Shape("d512.ffn_up.T2048", 2048, 2048, 512)
    timing = {"ms": 0.05, "spread": [0.049, 0.052], "sustained_ms": 0.055}
    row = mod.make_row(
        shape, mod.DTYPES["bf16"], timing, {**timing, "ms": 0.04, "sustained_ms": 0.05}, {"repeats": 9}
    )
    assert row["speedup"] == pytest.approx(1.25) and row["sustained_speedup"] == pytest.approx(1.1)
    assert row["dense_tflops"] == pytest.approx(2 * 2048 * 2048 * 512 / 0.05e-3 / 1e12, rel=1e-4)
    doc = mod.build_document([row], {"gpu": "test"}, [{"label": "x", "reason": "test"}])
    path = mod.write_output(doc, tmp_path / "sub" / "m.json")
    mod.write_output(doc, path)  # overwrite in place
    assert [p.name for p in path.parent.iterdir()] == ["m.json"]
    parsed = load_measurements(path)
    assert parsed.format == FORMAT and parsed.orientation == "weights_first"
    g = parsed.gemms()[0]
    assert (g.m, g.k, g.n, g.dtype) == (2048, 512, 2048, "bf16")
    assert mod.CONVENTION == H100_CONVENTION


# ---------------------------------------------------------------------------------------------- with torch (CPU)


def test_prune_nm_keeps_the_largest_magnitudes() -> None:
    torch = pytest.importorskip("torch")
    mod = load_script()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 16)).astype(np.float32)
    pruned = mod.prune_nm(torch.from_numpy(w)).numpy()
    groups = np.abs(w).reshape(6, 4, 4)
    keep = np.zeros_like(groups, dtype=bool)
    np.put_along_axis(keep, np.argsort(groups, axis=-1)[..., 2:], True, axis=-1)
    assert np.array_equal(pruned, w * keep.reshape(6, 16))
    assert ((pruned.reshape(6, 4, 4) != 0).sum(-1) == 2).all()
    one_of_eight = mod.prune_nm(torch.from_numpy(w), n=1, m=8).numpy()
    assert ((one_of_eight.reshape(6, 2, 8) != 0).sum(-1) == 1).all()
    with pytest.raises(ValueError, match="multiple of 4"):
        mod.prune_nm(torch.ones(4, 6))


def test_no_gpu_is_one_line() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    mod = load_script()
    reason = mod.check_environment()
    assert reason is not None and "no CUDA GPU" in reason and "\n" not in reason


def test_emulated_pipeline_end_to_end(tmp_path: Path, capsys: Any) -> None:
    """The whole measurement loop on CPU stand-ins: operands, rotation, checks, rows, output file."""
    pytest.importorskip("torch")
    mod = load_script()
    out = tmp_path / "emu.json"
    argv = ["--emulate-cpu", "--only-shapes", "--shape", "64x32x128", "--shape", "40x32x64"]
    argv += ["--repeats", "3", "--dtypes", "fp16,int8,bf16", "--sustained-s", "0.01", "--out", str(out)]
    assert mod.main(argv) == 0
    doc = load_measurements(out)
    assert [r.label for r in doc.rows] == ["shape64x32x128"] * 3
    raw = json.loads(out.read_text())
    assert {s["reason"].split(" is ")[0] for s in raw["skipped"]} == {"M=40"}  # not a multiple of 32
    for row in doc.rows:
        tol = mod.DTYPES[nmsim_dtype(row.dtype)].tol
        assert row.dense_rel_err is not None and row.dense_rel_err <= tol
        assert row.sparse_rel_err is not None and row.sparse_rel_err <= tol
        assert row.sustained_speedup is not None
    assert next(r for r in doc.rows if r.dtype == "int8").sparse_rel_err == 0.0
    assert "wrote 3 rows" in capsys.readouterr().out


def test_h100_like_dict_is_not_mutated() -> None:
    data = h100_like()
    before = copy.deepcopy(data)
    parse_measurements(data)
    assert data == before
