"""The GPU configs' hardware model: sparse never beats the hardware's peak ratio, cycles never fall as K grows.

Library effects (``torch._int_mm``'s weak dense int8 kernel) live in ``gpu.library`` and are applied only
on request; these properties are of the hardware model, in both clock states.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nmsim
from nmsim.engine.clock_state import at_clock_state
from nmsim.sparsity import parse_nm

GPUS = ("nvidia_h100_sxm", "nvidia_h200_sxm")
CONFIGS = {
    (name, state): at_clock_state(nmsim.load_hardware(name), state)
    for name in GPUS
    for state in ("burst", "sustained")
}
LIBRARY = {
    (name, state): at_clock_state(nmsim.load_hardware(name), state, library=True)
    for name in GPUS
    for state in ("burst", "sustained")
}  # with the measured software stack (``--library``): a weak dense int8 kernel, per dtype
dims = st.integers(min_value=1, max_value=20000)


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(sorted(CONFIGS)),
    m=dims,
    n=dims,
    k=st.integers(min_value=1, max_value=20000),
    dtype=st.sampled_from(["int8", "fp8", "fp16", "bf16"]),
    pattern=st.sampled_from([None, "2:4", "1:4", "1:8"]),
)
def test_cycles_never_fall_as_k_grows(
    key: tuple[str, str], m: int, n: int, k: int, dtype: str, pattern: str | None
) -> None:
    hw = CONFIGS[key]
    a = nmsim.simulate_gemm(m, n, k, hw, sparsity=pattern, dtype=dtype)
    b = nmsim.simulate_gemm(m, n, k + 1, hw, sparsity=pattern, dtype=dtype)
    assert b.cycles >= a.cycles


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(sorted(LIBRARY)),
    m=dims,
    n=dims,
    k=st.integers(min_value=1, max_value=8),  # small K: where a 2:4 mode drops nothing (K < 4) and just above
    dtype=st.sampled_from(["int8", "fp8", "fp16", "bf16"]),
    pattern=st.sampled_from([None, "2:4", "1:4", "1:8"]),
)
def test_cycles_never_fall_as_k_grows_with_the_library(
    key: tuple[str, str], m: int, n: int, k: int, dtype: str, pattern: str | None
) -> None:
    """With ``--library`` the dense int8 kernel is the weaker one: a 2:4 GEMM whose K drops nothing must
    still run at the faster of dense and sparse, as it does one K later."""
    hw = LIBRARY[key]
    a = nmsim.simulate_gemm(m, n, k, hw, sparsity=pattern, dtype=dtype)
    b = nmsim.simulate_gemm(m, n, k + 1, hw, sparsity=pattern, dtype=dtype)
    assert b.cycles >= a.cycles


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(sorted(CONFIGS)),
    m=dims,
    n=dims,
    k=dims,
    dtype=st.sampled_from(["int8", "fp8", "fp16", "bf16"]),
    pattern=st.sampled_from(["2:4", "1:4", "1:8"]),
)
def test_sparse_speedup_never_above_the_peak_ratio(
    key: tuple[str, str], m: int, n: int, k: int, dtype: str, pattern: str
) -> None:
    """The hardware runs every pattern in its 2:4 mode: at most 2× the dense rate (NVIDIA whitepapers)."""
    hw = CONFIGS[key]
    dense = nmsim.simulate_gemm(m, n, k, hw, dtype=dtype)
    sparse = nmsim.simulate_gemm(m, n, k, hw, sparsity=pattern, dtype=dtype)
    mode = parse_nm(sparse.hw_mode) if sparse.hw_mode != "dense" else None
    peak = mode.m / mode.n if mode else 1.0
    assert dense.latency_s / sparse.latency_s <= peak + 1e-9


@pytest.mark.parametrize("state", ["burst", "sustained"])
def test_the_issue_shapes(state: str) -> None:
    """nvidia_h200_sxm 13096×9711 at 1:8 int8: K = 2 → 3 no longer falls; 2:4 int8 at 16384³ ≤ 2×."""
    hw = CONFIGS[("nvidia_h200_sxm", state)]
    k2 = nmsim.simulate_gemm(13096, 9711, 2, hw, sparsity="1:8", dtype="int8").cycles
    k3 = nmsim.simulate_gemm(13096, 9711, 3, hw, sparsity="1:8", dtype="int8").cycles
    assert k3 >= k2
    lib = LIBRARY[("nvidia_h200_sxm", state)]  # the issue's --library case: K = 2 runs sparse too
    k2 = nmsim.simulate_gemm(13096, 9711, 2, lib, sparsity="1:8", dtype="int8").cycles
    k3 = nmsim.simulate_gemm(13096, 9711, 3, lib, sparsity="1:8", dtype="int8").cycles
    assert k3 >= k2
    dense = nmsim.simulate_gemm(16384, 16384, 16384, hw, dtype="int8")
    sparse = nmsim.simulate_gemm(16384, 16384, 16384, hw, sparsity="2:4", dtype="int8")
    assert dense.latency_s / sparse.latency_s <= 2.0


def test_the_measured_stack_reproduces_torch_int8_speedups() -> None:
    """With gpu.library the int8 2:4 speedup is the measured stack's, above 2× as measured (2.27× burst, 16384³)."""
    hw = at_clock_state(nmsim.load_hardware("nvidia_h100_sxm"), "burst", library=True)
    dense = nmsim.simulate_gemm(16384, 16384, 16384, hw, dtype="int8")
    sparse = nmsim.simulate_gemm(16384, 16384, 16384, hw, sparsity="2:4", dtype="int8")
    measured = 9.90793 / 4.36845  # benchmarks/results/gpu/h100_24_calibration.json, square16384 int8
    assert dense.latency_s / sparse.latency_s == pytest.approx(measured, rel=0.15)
