"""Clock/power states of the GPU configs: resolution, validation, and the CLI options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nmsim
from nmsim.engine.clock_state import at_clock_state, clocks_ghz, resolve_state
from nmsim.errors import NmsimInputError
from tests.conftest import REPO


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_burst_is_the_config_as_written_and_sustained_uses_its_clocks() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    assert at_clock_state(hw, "burst") is hw
    assert hw.gpu is not None
    sus = at_clock_state(hw, "sustained")
    assert sus.array.clock_ghz == hw.gpu.sustained.dense_ghz
    ratio = hw.gpu.sustained.sparse_ghz / hw.gpu.sustained.dense_ghz
    # a sparse kernel's work, counted in dense-clock cycles, runs at sparse_ghz / dense_ghz of its efficiency
    assert sus.sparse.efficiency["fp16"] == pytest.approx(hw.sparse.efficiency["fp16"] * ratio)
    assert clocks_ghz(hw, "sustained") == (hw.gpu.sustained.dense_ghz, hw.gpu.sustained.sparse_ghz)
    assert resolve_state(hw, None) == hw.gpu.default_clock_state


def test_a_compute_bound_gemm_scales_with_the_state_clock() -> None:
    """Dense 16384³ fp16 is compute-bound: its latency is inversely proportional to the dense clock (hand rule)."""
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    assert hw.gpu is not None
    burst = nmsim.simulate_gemm(16384, 16384, 16384, at_clock_state(hw, "burst"), dtype="fp16")
    sus = nmsim.simulate_gemm(16384, 16384, 16384, at_clock_state(hw, "sustained"), dtype="fp16")
    assert burst.bound == "compute"
    # the µs-denominated launch overhead does not scale with the clock; it is < 0.01% of 13 ms
    expected = burst.latency_s * hw.array.clock_ghz / hw.gpu.sustained.dense_ghz
    assert sus.latency_s == pytest.approx(expected, rel=1e-3)


def test_library_effects_multiply_the_hardware_efficiencies() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    assert hw.gpu is not None and hw.gpu.library is not None
    lib = at_clock_state(hw, "burst", library=True)
    assert lib.array.efficiency["int8"] == pytest.approx(
        hw.array.efficiency["int8"] * hw.gpu.library.dense_efficiency["int8"]
    )
    assert lib.array.efficiency["fp16"] == hw.array.efficiency.get("fp16", 1.0)


def test_states_are_refused_off_gpus_and_unknown_states_are_refused() -> None:
    with pytest.raises(NmsimInputError, match="clock-state"):
        at_clock_state(nmsim.load_hardware("stc_2x4_like"), "burst")
    with pytest.raises(NmsimInputError, match="burst, sustained"):
        at_clock_state(nmsim.load_hardware("nvidia_h100_sxm"), "warm")
    with pytest.raises(NmsimInputError, match="library"):
        at_clock_state(nmsim.load_hardware("stc_2x4_like"), None, library=True)
    assert at_clock_state(nmsim.load_hardware("stc_2x4_like"), None).gpu is None


def test_gemm_cli_reports_its_state() -> None:
    res = run("gemm", "--m", "4096", "--n", "4096", "--k", "4096", "--hw", "nvidia_h100_sxm",
              "--clock-state", "burst", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["clock_state"] == "burst"
    res = run("gemm", "--m", "64", "--n", "64", "--k", "64", "--hw", "stc_2x4_like", "--clock-state", "burst")
    assert res.returncode == 2 and "clock-state" in res.stderr and "Traceback" not in res.stderr


def test_simulate_cli_reports_its_state(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    res = run("simulate", "--hw", "nvidia_h100_sxm", "--clock-state", "sustained", "--out", str(out))
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["clock_state"] == "sustained" and doc["hardware"] == "nvidia_h100_sxm@sustained"
