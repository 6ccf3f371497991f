"""The operand-mux energy (``energy.mux_select``, pJ per issued MAC in an N:M mode) as a parameter of the
energy fit.

Synthetic rows are generated from parameters chosen here (static power, MAC, DRAM and mux energy, none of
them the shipped values) with the model's structure E = P·t + e_mac·MACs + e_mux·sparse-mode MACs +
e_dram·bytes + the config's SRAM/metadata energy; nmsim's counts come from ``energy_terms``. Dense and 2:4
rows at the same shapes tell e_mux from e_mac: a 2:4 row issues half the MACs, each charged e_mac + e_mux.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nmsim
from nmsim.calibration.energy_fit import (
    EnergySample,
    apply_energy_fit,
    config_energy,
    energy_terms,
    fit_energy,
    leave_one_out,
    parse_hold,
)
from nmsim.errors import NmsimInputError
from nmsim.io.loaders import hardware_from_document, read_document, resolve_hardware_path
from tests.conftest import REPO

TRUTH = {"static": 95.0, "mac.fp16": 1.1, "dram": 33.0, "mux": 0.35}  # pJ/W at the config's node, chosen here
# compute-bound squares and memory-bound weight streams (m = tokens); all run 2:4 in sparse mode on the H100
SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (16, 8192, 8192), (64, 16384, 16384)]
H100_24 = REPO / "benchmarks" / "results" / "gpu" / "h100_24_calibration.json"


def _hw() -> nmsim.HardwareConfig:
    return nmsim.load_hardware("nvidia_h100_sxm")


def _rows(
    hw: nmsim.HardwareConfig, sparsities: tuple[str | None, ...], truth: dict[str, float]
) -> list[EnergySample]:
    """One fp16 row per shape and sparsity, its energy from ``truth`` (a missing key: the config's own term)."""
    out = []
    for m, n, k in SHAPES:
        for sp in sparsities:
            seconds = (
                nmsim.simulate_gemm(m, n, k, hw, sparsity=sp, dtype="fp16").latency_s * 1.11
            )  # any latency
            probe = EnergySample(m, n, k, "fp16", sp, 1.0, seconds, f"{m}x{n}x{k} {sp or 'dense'}")
            t = energy_terms(hw, probe)
            own = {
                "static": hw.energy.static.watts * seconds,
                "mac.fp16": t.mac_j,
                "dram": t.dram_j,
                "mux": t.mux_j,
            }
            given = {
                "static": truth.get("static", 0.0) * seconds,
                "mac.fp16": truth.get("mac.fp16", 0.0) * t.issued_macs * 1e-12,
                "dram": truth.get("dram", 0.0) * t.dram_bytes * 1e-12,
                "mux": truth.get("mux", 0.0) * t.mux_macs * 1e-12,
            }
            joules = t.other_j + sum(given[p] if p in truth else own[p] for p in own)
            out.append(EnergySample(m, n, k, "fp16", sp, joules, seconds, probe.label))
    return out


def test_sparse_mode_macs_are_the_issued_macs_of_n_m_rows_only() -> None:
    """The mux column: a 2:4 row's issued MACs (half the dense ones, K compacted), 0 for a dense row; the
    config's mux energy of the row is that count times its scaled mux_select."""
    hw = _hw()
    dense = energy_terms(hw, EnergySample(8192, 8192, 8192, "fp16", None, 1.0, 1e-3))
    sparse = energy_terms(hw, EnergySample(8192, 8192, 8192, "fp16", "2:4", 1.0, 1e-3))
    assert dense.mux_macs == 0.0 and dense.mux_j == 0.0
    assert sparse.mux_macs == sparse.issued_macs == 8192**3 / 2
    assert sparse.mux_j == pytest.approx(
        sparse.mux_macs * config_energy(hw, "fp16")["mux"] * 1e-12, rel=1e-12
    )


def test_dense_and_24_rows_give_back_every_parameter_mux_included() -> None:
    hw = _hw()
    rows = _rows(hw, (None, "2:4"), TRUTH)
    result = fit_energy(hw, rows)
    assert result.held == () and result.held_no_rows == () and result.is_fitted("mux")
    assert result.static_w == pytest.approx(TRUTH["static"], rel=1e-6)
    assert result.dram_pj_per_byte == pytest.approx(TRUTH["dram"], rel=1e-6)
    assert result.mac_pj["fp16"] == pytest.approx(TRUTH["mac.fp16"], rel=1e-6)
    assert result.mux_pj == pytest.approx(TRUTH["mux"], rel=1e-6)
    assert result.parameters()["energy.mux_select.pj"] == result.mux_pj
    assert result.predict(hw, rows) == pytest.approx([s.joules for s in rows], rel=1e-9)
    assert all(x.error is not None and abs(x.error) < 1e-6 for x in leave_one_out(hw, rows))
    # the written config charges the fitted mux energy (at its node: no scaling) and cites the fit
    doc = read_document(resolve_hardware_path("nvidia_h100_sxm"))
    new = apply_energy_fit(doc, result, "fitted by a test")
    assert new["energy"]["mux_select"] == {"pj": 0.35, "node_nm": 5, "source": "fitted by a test"}
    assert config_energy(hardware_from_document(new, "fitted"), "fp16")["mux"] == pytest.approx(0.35)


def test_dense_rows_only_keep_the_config_mux_energy_reported_as_held_for_lack_of_rows() -> None:
    hw = _hw()
    rows = _rows(hw, (None,), {k: v for k, v in TRUTH.items() if k != "mux"})
    result = fit_energy(hw, rows)
    assert result.held == () and result.held_no_rows == ("mux",) and not result.is_fitted("mux")
    assert result.mux_pj == config_energy(hw, "fp16")["mux"]  # 0.02 pJ at 45 nm, as the engine scales it
    assert result.static_w == pytest.approx(TRUTH["static"], rel=1e-6)
    assert result.mac_pj["fp16"] == pytest.approx(TRUTH["mac.fp16"], rel=1e-6)
    doc = read_document(resolve_hardware_path("nvidia_h100_sxm"))
    assert (
        apply_energy_fit(doc, result, "fitted by a test")["energy"]["mux_select"]
        == doc["energy"]["mux_select"]
    )


def test_holding_mux_with_sparse_rows_fits_the_others_alone() -> None:
    hw = _hw()
    rows = _rows(hw, (None, "2:4"), {k: v for k, v in TRUTH.items() if k != "mux"})  # the config's mux energy
    result = fit_energy(hw, rows, parse_hold("mux"))
    assert result.held == ("mux",) and result.held_no_rows == () and not result.is_fitted("mux")
    assert result.mux_pj == config_energy(hw, "fp16")["mux"]
    assert result.static_w == pytest.approx(TRUTH["static"], rel=1e-6)
    assert result.dram_pj_per_byte == pytest.approx(TRUTH["dram"], rel=1e-6)
    assert result.mac_pj["fp16"] == pytest.approx(TRUTH["mac.fp16"], rel=1e-6)
    doc = read_document(resolve_hardware_path("nvidia_h100_sxm"))
    entry = apply_energy_fit(doc, result, "fitted by a test")["energy"]["mux_select"]
    assert entry["pj"] == doc["energy"]["mux_select"]["pj"] and "held at this value" in entry["source"]


def test_mux_obeys_the_rank_and_positivity_checks() -> None:
    hw = _hw()
    # 2:4 rows only: every issued MAC is a sparse-mode one, so e_mac and e_mux cannot be told apart
    with pytest.raises(NmsimInputError, match=r"cannot tell static, dram, mux, mac\.fp16 apart"):
        fit_energy(hw, _rows(hw, ("2:4",), TRUTH))
    # a 2:4 MAC cheaper than a dense one: the fit gives a negative mux energy, refused
    with pytest.raises(NmsimInputError, match="non-positive mux"):
        fit_energy(hw, _rows(hw, (None, "2:4"), TRUTH | {"mux": -0.2}))


def test_the_only_sparse_row_gets_no_leave_one_out_prediction() -> None:
    hw = _hw()
    rows = _rows(
        hw, (None, "2:4"), {"mac.fp16": TRUTH["mac.fp16"], "mux": TRUTH["mux"]}
    )  # config static, dram
    rows = [s for s in rows if s.sparsity is None or s.m == 8192]
    loo = {x.label: x for x in leave_one_out(hw, rows, ("static", "dram"))}
    assert (
        loo["8192x8192x8192 2:4"].error is None and "only sparse-mode row" in loo["8192x8192x8192 2:4"].reason
    )
    assert loo["8192x8192x8192 dense"].error == pytest.approx(0.0, abs=1e-6)


def test_interim_cli_fit_reports_mux_held_for_lack_of_sparse_rows(tmp_path: Path) -> None:
    """The shipped interim fit (dense power readings only): mux_select is reported and left as it was."""
    out = tmp_path / "h100.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "nmsim", "calibrate", "--energy", "--hold", "static,dram", "--scale-mac",
         "int8,fp8=fp16", "--measurements", str(H100_24), "--hw", "nvidia_h100_sxm", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    row = next(line for line in res.stdout.splitlines() if "energy.mux_select.pj" in line)
    assert "0.0016" in row and "held (no sparse rows)" in row
    shipped = read_document(resolve_hardware_path("nvidia_h100_sxm"))
    assert read_document(out)["energy"]["mux_select"] == shipped["energy"]["mux_select"]


def test_cli_hold_mux_with_sparse_rows(tmp_path: Path) -> None:
    hw = _hw()
    samples = _rows(hw, (None, "2:4"), {k: v for k, v in TRUTH.items() if k != "mux"})
    # _rows gives each shape's dense row, then its 2:4 row: one measurement row per pair
    rows = [
        {"M": d.m, "N": d.n, "K": d.k, "dtype": d.dtype, "dense_ms": d.seconds * 1e3, "dense_energy_j": d.joules,
         "sparse_ms": sp.seconds * 1e3, "sparse_energy_j": sp.joules}
        for d, sp in zip(samples[::2], samples[1::2], strict=True)
    ]  # fmt: skip
    path = tmp_path / "energy.json"
    path.write_text(json.dumps({"convention": "Y = X @ W: M = tokens", "rows": rows}))
    out = tmp_path / "fitted.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "nmsim", "calibrate", "--energy", "--hold", "mux", "--measurements", str(path),
         "--hw", "nvidia_h100_sxm", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["held"] == ["mux"] and summary["held_no_rows"] == []
    assert summary["params"]["energy.mux_select.pj"] == config_energy(hw, "fp16")["mux"]
    assert summary["params"]["energy.mac.fp16.pj"] == pytest.approx(TRUTH["mac.fp16"], rel=1e-6)
    assert "held at this value" in nmsim.load_hardware(out).energy.mux_select.source
