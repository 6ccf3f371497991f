"""Held energy parameters, ceiling power readings as energy rows, and the shipped H100/H200 MAC energies.

Synthetic rows come from MAC energies chosen here, with static power and DRAM energy read straight from
the config's YAML (what ``--hold`` keeps); the shipped configs' MAC energies are checked against the fit
on the committed measurement file, as the latency calibration tests do for the fitted clocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nmsim
from nmsim.calibration.energy_fit import (
    EnergySample,
    apply_energy_fit,
    ceiling_energy_samples,
    energy_terms,
    fit_energy,
    leave_one_out,
    scale_unfitted_macs,
)
from nmsim.calibration.measurements import load_measurements, parse_measurements
from nmsim.errors import NmsimInputError
from nmsim.io.loaders import read_document, resolve_hardware_path
from tests.conftest import REPO

H100_24 = REPO / "benchmarks" / "results" / "gpu" / "h100_24_calibration.json"
MAC_TRUTH = {"fp16": 1.23, "bf16": 0.87}  # pJ at the config's node, chosen here
SQUARES = (4096, 8192, 12288)


def _config_static_and_dram(name: str) -> tuple[float, float]:
    """Static power (W) and DRAM energy (pJ/byte) as the YAML states them (HBM energy is not node-scaled)."""
    doc = read_document(resolve_hardware_path(name))
    dram = doc["memory"]["levels"][-1]
    assert dram["read_energy"]["pj"] == dram["write_energy"]["pj"]
    return float(doc["energy"]["static"]["watts"]), float(dram["read_energy"]["pj"])


def _compute_rows(hw: nmsim.HardwareConfig, sizes: tuple[int, ...] = SQUARES) -> list[EnergySample]:
    """Dense squares whose energy is static·t + MAC_TRUTH·MACs + config DRAM energy + the fixed terms."""
    static_w, dram_pj = _config_static_and_dram("nvidia_h100_sxm")
    out = []
    for size in sizes:
        for dt, pj in MAC_TRUTH.items():
            seconds = 2 * size**3 / 650e12  # any latency: about 650 TFLOPS
            probe = EnergySample(size, size, size, dt, None, 1.0, seconds, f"{size}³ {dt}")
            t = energy_terms(hw, probe)
            joules = static_w * seconds + (pj * t.issued_macs + dram_pj * t.dram_bytes) * 1e-12 + t.other_j
            out.append(EnergySample(size, size, size, dt, None, joules, seconds, probe.label))
    return out


def test_held_parameters_stay_and_the_free_ones_are_recovered() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    rows = _compute_rows(hw)
    result = fit_energy(hw, rows, ("static", "dram"))
    static_w, dram_pj = _config_static_and_dram("nvidia_h100_sxm")
    assert result.held == ("static", "dram")
    assert result.static_w == static_w and result.dram_pj_per_byte == pytest.approx(dram_pj, rel=1e-12)
    for dt, pj in MAC_TRUTH.items():
        assert result.mac_pj[dt] == pytest.approx(pj, rel=1e-9)
    np.testing.assert_allclose(result.predicted_j, [s.joules for s in rows], rtol=1e-9)
    assert all(abs(x.error) < 1e-9 for x in leave_one_out(hw, rows, ("static", "dram")))


def test_holding_a_mac_energy_fits_the_other_dtype_alone() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    rows = [s for s in _compute_rows(hw) if s.dtype == "bf16"]
    # the fp16 rows priced with the config's own fp16 MAC energy, then held
    result = fit_energy(hw, rows, ("static", "dram", "mac.fp16"))
    assert set(result.mac_pj) == {"bf16"} and result.mac_pj["bf16"] == pytest.approx(
        MAC_TRUTH["bf16"], rel=1e-9
    )


def test_unidentifiable_hold_sets_are_refused() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    one_shape = _compute_rows(hw, (8192,)) * 2  # same MACs and DRAM bytes in every row of a dtype
    with pytest.raises(NmsimInputError, match=r"cannot tell dram, mac\.bf16, mac\.fp16 apart"):
        fit_energy(hw, one_shape, ("static",))  # DRAM bytes ∝ MACs on one shape: rank 2 of 3
    with pytest.raises(NmsimInputError, match="cannot fix 4 parameters"):
        fit_energy(hw, one_shape[:2])
    with pytest.raises(NmsimInputError, match="leaves nothing to fit"):
        fit_energy(hw, one_shape, ("static", "dram", "mac.fp16", "mac.bf16"))
    with pytest.raises(NmsimInputError, match="--hold"):
        fit_energy(hw, one_shape, ("statics",))
    with pytest.raises(NmsimInputError, match="--hold"):
        fit_energy(hw, one_shape, ("mac.fp64",))


def _ceiling_file(limit: float | None, readings: dict[str, dict[str, dict]]) -> dict:
    meta = {} if limit is None else {"power_limit_W": limit}
    row = {"M": 256, "N": 256, "K": 256, "dtype": "fp16", "dense_ms": 0.01}
    return {"convention": "Y^T = W @ X^T", "meta": meta, "ceilings": readings, "rows": [row]}


def test_ceiling_readings_far_from_the_power_limit_are_excluded() -> None:
    readings = {
        "sustained": {
            "dense_fp16_4096_NN": {"ms": 0.2, "power_W": 480.0},  # 4% below the 500 W limit: kept
            "dense_bf16_4096_NT": {"ms": 0.25, "power_W": 430.0},  # 14%: kept
            "dense_fp16_2048": {"ms": 0.05, "power_W": 400.0, "sm_MHz": 1700},  # 20%: excluded
            "d2d_copy_2GiB": {"ms": 1.4},  # no power reading: not a row at all
            "hbm_stream": {"ms": 1.0, "power_W": 490.0},  # not a dense square GEMM
        },
        "burst": {"dense_fp16_8192": {"ms": 1.5, "power_W": 200.0}},  # not at the limit
    }
    kept, excluded = ceiling_energy_samples(parse_measurements(_ceiling_file(500.0, readings)))
    assert [(s.label, s.dtype, s.m, s.clock_state) for s in kept] == [
        ("ceilings.sustained.dense_fp16_4096_NN", "fp16", 4096, "sustained"),
        ("ceilings.sustained.dense_bf16_4096_NT", "bf16", 4096, "sustained"),
    ]
    assert [s.joules for s in kept] == pytest.approx([480.0 * 0.2e-3, 430.0 * 0.25e-3])
    assert [s.seconds for s in kept] == pytest.approx([0.2e-3, 0.25e-3])
    reasons = {x.label: x.reason for x in excluded}
    assert set(reasons) == {"ceilings.sustained.dense_fp16_2048", "ceilings.sustained.hbm_stream",
                            "ceilings.burst.dense_fp16_8192"}  # fmt: skip
    assert (
        "not within 15% of the 500 W power limit, SM clock 1700 MHz"
        in reasons["ceilings.sustained.dense_fp16_2048"]
    )
    assert "not a dense square GEMM" in reasons["ceilings.sustained.hbm_stream"]
    kept, excluded = ceiling_energy_samples(parse_measurements(_ceiling_file(None, readings)))
    assert not kept and len(excluded) == 5 and all("power_limit_W" in x.reason for x in excluded[:2])
    with pytest.raises(NmsimInputError, match=r"ceilings\.burst\.dense_fp16_8192\.power_W"):
        bad = {"burst": {"dense_fp16_8192": {"ms": 1.5, "power_W": -1}}}
        load = parse_measurements(_ceiling_file(500.0, bad))
        ceiling_energy_samples(load)


def test_the_committed_file_keeps_the_three_readings_at_its_power_limit() -> None:
    kept, excluded = ceiling_energy_samples(load_measurements(H100_24))
    assert [s.label.rsplit(".", 1)[1] for s in kept] == ["dense_bf16_8192_NT", "dense_fp16_8192_NN",
                                                         "dense_fp16_8192_NT"]  # fmt: skip
    assert [x.label for x in excluded] == ["ceilings.sustained_run2.dense_bf16_8192_NN"]  # 314.6 W of 700 W
    assert kept[1].joules == pytest.approx(626.225 * 1.6041e-3)  # the file's power_W × ms


@pytest.mark.parametrize("name", ["nvidia_h100_sxm", "nvidia_h200_sxm"])
def test_shipped_gpu_mac_energies_are_the_fit_on_the_committed_readings(name: str) -> None:
    """The shipped fp16/bf16 MAC energies come from `nmsim calibrate --energy --hold static,dram` on the
    committed file (docs/calibration.md); int8/fp8 keep Horowitz's ratios to fp16 (0.3 and 0.6 of 2.0 pJ)."""
    hw = nmsim.load_hardware(name)
    rows, _ = ceiling_energy_samples(load_measurements(H100_24))
    result = scale_unfitted_macs(hw, fit_energy(hw, rows, ("static", "dram")), ["int8", "fp8"], "fp16")
    for dt in ("fp16", "bf16", "int8", "fp8"):
        entry = hw.energy.mac[dt]
        assert entry.node_nm == hw.energy.node_nm
        assert entry.pj == pytest.approx(result.mac_pj[dt], rel=1e-3), dt
    assert hw.energy.mac["int8"].pj / hw.energy.mac["fp16"].pj == pytest.approx(0.3 / 2.0, rel=1e-3)
    assert hw.energy.mac["fp8"].pj / hw.energy.mac["fp16"].pj == pytest.approx(0.6 / 2.0, rel=1e-3)
    static_w, dram_pj = _config_static_and_dram(name)
    assert (static_w, dram_pj) == (80.0, 28.0)  # held: the idle figure and the HBM3 assumption
    assert "h100_24_calibration.json" in hw.energy.mac["fp16"].source
    assert "held at this value" in hw.energy.static.source
    if name == "nvidia_h200_sxm":
        assert "as nvidia_h100_sxm" in hw.energy.mac["fp16"].source


def test_apply_leaves_held_entries_and_cites_the_scaling() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    doc = read_document(resolve_hardware_path("nvidia_h100_sxm"))
    result = scale_unfitted_macs(hw, fit_energy(hw, _compute_rows(hw), ("static", "dram")), ["int8"], "fp16")
    new = apply_energy_fit(doc, result, "fitted by a test")
    assert new["energy"]["static"]["watts"] == doc["energy"]["static"]["watts"]
    assert (
        new["memory"]["levels"][-1]["read_energy"]["pj"] == doc["memory"]["levels"][-1]["read_energy"]["pj"]
    )
    assert new["energy"]["mac"]["fp16"] == {"pj": 1.23, "node_nm": 5, "source": "fitted by a test"}
    assert "assumption: no int8 reading" in new["energy"]["mac"]["int8"]["source"]
    assert new["energy"]["mac"]["fp8"] == doc["energy"]["mac"]["fp8"]  # neither fitted nor scaled


def test_calibrate_energy_hold_cli(tmp_path: Path) -> None:
    out = tmp_path / "h100_energy.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "nmsim", "calibrate", "--energy", "--hold", "static,dram", "--measurements",
         str(H100_24), "--hw", "nvidia_h100_sxm", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "excluded ceilings.sustained_run2.dense_bf16_8192_NN: 314.564 W" in res.stderr
    summary = json.loads(res.stdout)
    shipped = nmsim.load_hardware("nvidia_h100_sxm")
    assert summary["held"] == ["static", "dram"]
    for dt in ("fp16", "bf16"):
        assert summary["params"][f"energy.mac.{dt}.pj"] == pytest.approx(shipped.energy.mac[dt].pj, rel=1e-3)
    loo = {r["label"].rsplit(".", 1)[1]: r for r in summary["rows"]}
    assert (
        loo["dense_bf16_8192_NT"]["loo_error"] is None
        and "only bf16" in loo["dense_bf16_8192_NT"]["loo_note"]
    )
    # by hand: refitted on the other fp16 reading alone, a row is predicted as that reading's energy with
    # the held 80 W static power moved to its own latency (the same GEMM: same MACs, bytes, SRAM energy)
    (e_nn, t_nn), (e_nt, t_nt) = (626.225 * 1.6041e-3, 1.6041e-3), (678.1 * 1.9801e-3, 1.9801e-3)
    assert loo["dense_fp16_8192_NN"]["loo_error"] == pytest.approx(
        (e_nt - 80 * (t_nt - t_nn)) / e_nn - 1, rel=1e-6
    )
    assert loo["dense_fp16_8192_NT"]["loo_error"] == pytest.approx(
        (e_nn + 80 * (t_nt - t_nn)) / e_nt - 1, rel=1e-6
    )
    assert nmsim.load_hardware(out).energy.mac["fp16"].pj == shipped.energy.mac["fp16"].pj


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--energy", "--hold", "statics"], "--hold: comma-separated names from static, dram, mac.<dtype>"),
        (["--energy", "--scale-mac", "int8"], "--scale-mac: expected DT[,DT]=SOURCE"),
        (["--energy", "--hold", "static"], "cannot tell dram, mac.bf16, mac.fp16 apart"),
        (["--fit", "array.clock_ghz", "--hold", "static"], "--hold: only with --energy"),
    ],
)
def test_calibrate_energy_bad_options_are_one_line(tmp_path: Path, args: list[str], field: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "nmsim", "calibrate", "--measurements", str(H100_24), "--hw", "nvidia_h100_sxm",
         "--out", str(tmp_path / "x.yaml"), *args],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    lines = [line for line in res.stderr.splitlines() if not line.startswith("excluded ")]
    assert res.returncode == 2 and len(lines) == 1 and field in lines[0], res.stderr
    assert not (tmp_path / "x.yaml").exists()
