"""measure_nm.py's energy and clock-state recording, without a GPU (arithmetic and the CPU self-test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmsim.calibration.energy_fit import energy_samples
from nmsim.calibration.measurements import load_measurements
from tests.calibration.test_measurements import load_script


def test_energy_arithmetic_from_counter_readings() -> None:
    mod = load_script()
    # NVML counts mJ: 350 J over 1000 GEMMs is 0.35 J each; 210 J over 3 s of idle is 70 W
    assert mod.energy_per_gemm(1_000_000.0, 1_350_000.0, 1000) == pytest.approx(0.35)
    assert mod.idle_power_w(5_000.0, 215_000.0, 3.0) == pytest.approx(70.0)
    with pytest.raises(ValueError):
        mod.energy_per_gemm(10.0, 5.0, 10)  # a counter never runs backwards
    with pytest.raises(ValueError):
        mod.idle_power_w(0.0, 1.0, 0.0)


def test_energy_shapes_add_memory_bound_rows() -> None:
    mod = load_script()
    args = mod.parse_args(["--only-shapes", "--energy-shapes"])
    shapes = mod.shape_list(args)
    assert {s.N for s in shapes} == set(mod.ENERGY_TOKENS)  # few tokens: weights streamed, memory-bound
    assert all(mod.shape_problem(s) is None for s in shapes)


def test_emulated_energy_rows_load_and_feed_the_energy_fit(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    mod = load_script()
    out = tmp_path / "emu.json"
    argv = ["--emulate-cpu", "--only-shapes", "--shape", "64x32x128", "--dtypes", "fp16", "--repeats", "3",
            "--energy-s", "0.02", "--idle-s", "0.02", "--runs", "3", "--out", str(out)]  # fmt: skip
    assert mod.main(argv) == 0
    doc = load_measurements(out)
    row = doc.rows[0]
    assert row.dense_energy_j and row.sparse_energy_j and row.energy_repeats
    # the stand-in meter is a 100 W board: energy per GEMM = 100 W × the loop's latency per GEMM
    assert row.dense_energy_j == pytest.approx(100.0 * row.dense_energy_ms * 1e-3, rel=0.05)
    assert doc.meta["idle_power_w"] == pytest.approx(100.0, rel=0.05)
    assert doc.plain_clock_state == "sustained"  # no --cooldown-s: back-to-back load
    assert [s.sparsity for s in energy_samples(doc)] == [None, "2:4"]
    assert row.dense_runs_ms is not None and len(row.dense_runs_ms) == 3  # --runs: one median per run


def test_runs_must_be_positive() -> None:
    mod = load_script()
    with pytest.raises(SystemExit):
        mod.parse_args(["--runs", "0"])
