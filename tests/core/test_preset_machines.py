"""The presets of docs/presets.md: one machine each, its own baseline beside it, legacy ones marked."""

from __future__ import annotations

import pytest

import nmsim
from nmsim.cli.hw import is_legacy
from nmsim.io.registry import DEFAULT_HARDWARE, shipped_hardware
from tests.conftest import REPO, load_script

LEGACY = {"stc_2x4_like", "tpu_like_dense", "vegeta_like", "s2ta_like"}


def test_legacy_presets_are_marked_and_current_ones_are_not() -> None:
    marked = {name for name in shipped_hardware() if is_legacy(nmsim.load_hardware(name).description)}
    assert marked == LEGACY
    assert DEFAULT_HARDWARE not in LEGACY


def test_s2ta_baseline_is_the_same_machine_without_the_dbb_datapath() -> None:
    # [S2TA] compares against a zero-gated dense array in the same technology: only the sparse section differs
    s2ta, base = nmsim.load_hardware("s2ta"), nmsim.load_hardware("s2ta_baseline_zvcg")
    assert (s2ta.sparse.kind, [str(m) for m in s2ta.sparse.mode_set]) == ("dbb", ["4:8"])
    assert base.sparse.kind == "none"
    for section in ("array", "pe", "memory", "energy", "default_dtype"):
        a, b = getattr(s2ta, section), getattr(base, section)
        if section == "array":  # sources are worded for each file; the numbers must match
            a, b = a.model_dump(exclude={"sources"}), b.model_dump(exclude={"sources"})
        assert a == b, section


def test_vegeta_runs_its_published_patterns_and_a_dense_mode() -> None:
    # [VEGETA] abstract: N:4 with N in {1, 2, 4}; 4:4 is the engine's own dense mode (the baseline)
    hw = nmsim.load_hardware("vegeta")
    assert [str(m) for m in hw.sparse.mode_set] == ["1:4", "2:4"]
    dense = nmsim.simulate_gemm(512, 768, 3072, hw)
    assert dense.hw_mode == "dense"
    assert nmsim.simulate_gemm(512, 768, 3072, hw, sparsity="1:8").hw_mode == "1:4"


def test_zvcg_energy_drops_only_the_mac_energy_of_zero_weights() -> None:
    mod = load_script(REPO / "benchmarks" / "published_accelerators.py", "published_under_test")
    # hand-worked: 100 pJ in all, 40 of them MACs, half the weights zero → 100 - 40 × 0.5 = 80 pJ
    assert mod.zvcg_energy_pj(100.0, 40.0, 0.5) == pytest.approx(80.0)
    assert mod.zvcg_energy_pj(100.0, 40.0, 1.0) == pytest.approx(100.0)  # dense weights: nothing gated
