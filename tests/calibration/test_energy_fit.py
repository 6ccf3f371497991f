"""The energy fit recovers known parameters from synthetic GPU energy rows, and predicts held-out rows.

The synthetic rows are generated from parameters chosen here (not nmsim's shipped values) with the
model's own structure: E = P·t + e_mac·MACs + e_dram·bytes + the config's mux and fixed SRAM/metadata
terms (the mux energy is held in the noisy fits: too small a share of the energy to fit through noise;
tests/calibration/test_energy_mux_fit.py fits it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nmsim
from nmsim.calibration.energy_fit import EnergySample, energy_terms, fit_energy, predict_energy
from nmsim.errors import NmsimInputError
from tests.conftest import REPO

TRUTH = {"static_w": 112.0, "mac_pj": {"fp16": 0.62, "int8": 0.21}, "dram_pj": 41.0}
# compute-bound squares and memory-bound weight streams (few tokens), nmsim's convention (m = tokens)
COMPUTE = [(4096, 4096, 4096), (8192, 8192, 8192), (2048, 11008, 4096)]
MEMORY = [(16, 8192, 8192), (64, 16384, 16384), (16, 4096, 11008)]


def _rows(shapes: list[tuple[int, int, int]], noise: float, seed: int) -> list[EnergySample]:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    rng = np.random.default_rng(seed)
    out = []
    for m, n, k in shapes:
        for dt in ("fp16", "int8"):
            for sp in (None, "2:4"):
                s = EnergySample(m, n, k, dt, sp, 1.0, 0.0, f"{m}x{n}x{k} {dt} {sp or 'dense'}")
                seconds = (
                    nmsim.simulate_gemm(m, n, k, hw, sparsity=sp, dtype=dt).latency_s * 1.07
                )  # any latency
                t = energy_terms(hw, s)
                joules = (TRUTH["static_w"] * seconds + (TRUTH["mac_pj"][dt] * t.issued_macs
                          + TRUTH["dram_pj"] * t.dram_bytes) * 1e-12 + t.mux_j + t.other_j)  # fmt: skip
                joules *= 1 + noise * rng.standard_normal()
                out.append(EnergySample(m, n, k, dt, sp, joules, seconds, s.label))
    return out


def test_exact_rows_give_back_the_parameters() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    result = fit_energy(hw, _rows(COMPUTE[:2] + MEMORY[:2], 0.0, 0))
    assert result.static_w == pytest.approx(TRUTH["static_w"], rel=1e-6)
    assert result.dram_pj_per_byte == pytest.approx(TRUTH["dram_pj"], rel=1e-6)
    for dt, pj in TRUTH["mac_pj"].items():
        assert result.mac_pj[dt] == pytest.approx(pj, rel=1e-6)


def test_noisy_rows_recover_within_tolerance() -> None:
    """0.5% measurement noise: every parameter within 10% of the truth."""
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    result = fit_energy(hw, _rows(COMPUTE[:2] + MEMORY[:2], 0.005, 1), ("mux",))
    assert result.static_w == pytest.approx(TRUTH["static_w"], rel=0.10)
    assert result.dram_pj_per_byte == pytest.approx(TRUTH["dram_pj"], rel=0.10)
    for dt, pj in TRUTH["mac_pj"].items():
        assert result.mac_pj[dt] == pytest.approx(pj, rel=0.10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_fit_predicts_held_out_shapes(seed: int) -> None:
    """2% noise: the parameters trade off (static power against energy per MAC and per byte, ±25%), but
    the energy of shapes not fitted stays within 3% (median) and 6% (max) of the truth."""
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    result = fit_energy(hw, _rows(COMPUTE[:2] + MEMORY[:2], 0.02, seed), ("mux",))
    held_out = _rows(COMPUTE[2:] + MEMORY[2:], 0.0, 0)
    predicted = predict_energy(hw, held_out, result.static_w, result.mac_pj, result.dram_pj_per_byte)
    err = np.abs(predicted / np.array([s.joules for s in held_out]) - 1)
    assert float(np.median(err)) < 0.03 and float(np.max(err)) < 0.06


def test_too_few_rows_is_an_input_error() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    with pytest.raises(NmsimInputError, match="cannot fix"):
        fit_energy(hw, _rows(COMPUTE[:1], 0.0, 0)[:3])
    with pytest.raises(NmsimInputError, match="no rows"):
        fit_energy(hw, [])


def test_calibrate_energy_cli_writes_the_fitted_entries(tmp_path: Path) -> None:
    rows = []
    for s in _rows(COMPUTE + MEMORY, 0.0, 0):
        if s.sparsity is None:
            rows.append({"label": f"{s.m}x{s.n}x{s.k}", "M": s.m, "N": s.n, "K": s.k, "dtype": s.dtype,
                         "dense_ms": s.seconds * 1e3, "dense_energy_j": s.joules})  # fmt: skip
        else:
            rows[-1].update({"sparse_ms": s.seconds * 1e3, "sparse_energy_j": s.joules})
    path = tmp_path / "energy.json"
    path.write_text(
        json.dumps({"convention": "Y = X @ W: M = tokens", "meta": {"idle_power_w": 70.0}, "rows": rows})
    )
    out = tmp_path / "fitted.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "nmsim", "calibrate", "--energy", "--measurements", str(path), "--hw",
         "nvidia_h100_sxm", "--holdout", "^16x", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["params"]["energy.static.watts"] == pytest.approx(TRUTH["static_w"], rel=1e-3)
    assert summary["median_abs_error_check"] < 1e-3
    hw = nmsim.load_hardware(out)
    assert hw.energy.static.watts == pytest.approx(TRUTH["static_w"], rel=1e-3)
    assert hw.energy.mac["int8"].pj == pytest.approx(TRUTH["mac_pj"]["int8"], rel=1e-3)
    dram = hw.memory.levels[-1].read_energy if hasattr(hw.memory, "levels") else hw.energy.dram_per_byte
    assert "nmsim calibrate --energy" in dram.source
