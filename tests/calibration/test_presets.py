"""The one-machine presets reproduce their sources' peak rates (docs/presets.md)."""

from __future__ import annotations

import pytest

import nmsim


def _peak_ops(name: str, dtype: str) -> float:
    """Peak operations per second (2 per MAC) the config's array can issue in ``dtype``."""
    hw = nmsim.load_hardware(name)
    a = hw.array
    return a.rows * a.cols * a.cores * a.k_per_pe.get(dtype, 1) * 2 * a.clock_ghz * 1e9  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("name", "dtype", "published"),
    [
        ("nvidia_a100_sxm", "fp16", 312e12),  # [A100-WP]: 312 TFLOPS dense fp16/bf16
        ("nvidia_a100_sxm", "int8", 624e12),  # [A100-WP]: 624 TOPS dense int8
        ("tpu_v1_dense", "int8", 92e12),  # [TPUv1]: 92 TOPS peak
    ],
)
def test_peak_rates_match_the_sources(name: str, dtype: str, published: float) -> None:
    assert _peak_ops(name, dtype) == pytest.approx(published, rel=0.005)


def test_a100_reaches_its_peak_and_its_2_4_ratio_on_a_large_square() -> None:
    """Uncalibrated: a compute-bound 16384³ fp16 GEMM runs at the 312 TFLOPS peak and 2:4 doubles it, no more."""
    hw = nmsim.load_hardware("nvidia_a100_sxm")
    dense = nmsim.simulate_gemm(16384, 16384, 16384, hw)
    sparse = nmsim.simulate_gemm(16384, 16384, 16384, hw, sparsity="2:4")
    assert 2 * 16384**3 / dense.latency_s == pytest.approx(312e12, rel=0.01)
    assert 1.9 < dense.latency_s / sparse.latency_s <= 2.0
    assert hw.gpu is not None and hw.gpu.sustained is None  # burst only until an A100 is measured
