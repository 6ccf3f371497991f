"""Per-phase GEMM accounting of the training-cost model on a hand-worked two-layer example.

Model (tests/cost/_records.py): ff1 = 16×64 · 64×32 and ff2 = 16×32 · 32×64, 32,768 dense MACs per
pass each, so one step's pass over both layers is 65,536 dense MACs and 131,072 dense FLOPs. Hardware:
the tiny 4×4 array of tests/conftest.py (1 GHz, 1 pJ per event, no scaling) with modes 1:8, 2:8, 4:8 and
7:8, so every pattern of the schedules runs in its own mode and issues exactly n/8 of the dense MACs
(K is a multiple of 8 in every GEMM). Expected numbers are worked out by hand in the comments; cycles
are checked against the core's simulate_gemm for the GEMM list worked out by hand.
"""

from __future__ import annotations

import pytest

from nmsim.cost.options import CostOptions
from nmsim.cost.refresh import refresh_cost
from nmsim.cost.training import training_cost, training_flops
from nmsim.sim.gemm import simulate_gemm
from tests.conftest import tiny_hw
from tests.cost._records import MACS, two_layer

HW = tiny_hw(modes=["1:8", "2:8", "4:8", "7:8"])
STEP = 2 * MACS  # dense MACs of one pass over both layers in one step
F = 2 * STEP  # dense FLOPs of one pass over both layers in one step

# (pass, m, n, k) of each layer's three GEMMs: fwd (m,n,k), dgrad (m,k,n), wgrad (k,n,m)
GEMMS = {
    "fwd": [(16, 32, 64), (16, 64, 32)],
    "dgrad": [(16, 64, 32), (16, 32, 64)],
    "wgrad": [(64, 32, 16), (32, 64, 16)],
}


def cycles(pass_: str, sparsity: str | None, steps: int) -> int:
    return steps * sum(simulate_gemm(m, n, k, HW, sparsity=sparsity).cycles for m, n, k in GEMMS[pass_])


def phases_of(recipe: str, **opts: object):
    tc = training_cost(two_layer(recipe), HW, CostOptions(**opts))  # type: ignore[arg-type]
    return {p.name: p for p in tc.phases}, tc


def check(ph, fwd: int, dgrad: int, wgrad: int, flops: tuple[float, float, float]) -> None:
    got = tuple(ph.by_bucket[p].issued_macs for p in ("fwd", "dgrad", "wgrad"))
    assert got == (fwd, dgrad, wgrad)
    assert tuple(ph.by_bucket[p].flops for p in ("fwd", "dgrad", "wgrad")) == pytest.approx(flops)
    assert all(ph.by_bucket[p].flops_dense == ph.steps * F for p in ("fwd", "dgrad", "wgrad"))


def test_dense_recipe_is_three_dense_passes_per_step() -> None:
    ph, tc = phases_of("dense")
    # 16 steps × 65,536 MACs per pass
    check(ph["dense"], 1_048_576, 1_048_576, 1_048_576, (16 * F, 16 * F, 16 * F))
    want = cycles("fwd", None, 16) + cycles("dgrad", None, 16) + cycles("wgrad", None, 16)
    assert ph["dense"].total.cycles == want
    assert tc.total.cycles == tc.dense.cycles and tc.flops_vs_dense == 1.0
    assert tc.mask.cycles == 0


def test_oneshot_fixed_mask_autodiff() -> None:
    ph, tc = phases_of("oneshot")
    check(ph["dense"], 4 * STEP, 4 * STEP, 4 * STEP, (4 * F, 4 * F, 4 * F))
    # 12 steps at 1:8: fwd 12·2·4,096; dgrad and wgrad dense on this hardware; FLOPs ρF each (autodiff)
    ft = ph["finetune 1:8"]
    check(ft, 98_304, 786_432, 786_432, (12 * F / 8, 12 * F / 8, 12 * F / 8))
    assert ft.by_bucket["fwd"].cycles == cycles("fwd", "1:8", 12)
    assert ft.by_bucket["dgrad"].cycles == cycles("dgrad", None, 12)
    assert ft.by_bucket["wgrad"].cycles == cycles("wgrad", None, 12)
    # one refresh per layer at the phase start: 2,048 weights × log2 8 = 6,144 compares on 4 lanes
    assert ft.by_bucket["mask"].cycles == 2 * 1536
    assert ft.by_bucket["mask"].energy_pj == pytest.approx(2 * (6144 + 2048 + 256))
    # ideal training FLOPs: 4 dense steps (3F) + 12 steps at 3F/8, over 16 dense steps
    assert tc.flops_vs_dense == pytest.approx((4 * 3 + 12 * 3 / 8) / (16 * 3))


def test_srste_full_weight_gradient_and_per_step_mask_work() -> None:
    ph, _ = phases_of("srste")
    sp = ph["sparse 1:8"]
    # STE-style: pruned weights get gradients, so the ideal wgrad is F
    check(sp, 98_304, 786_432, 786_432, (12 * F / 8, 12 * F / 8, 12 * F))
    # 12 refreshes (1,536 cycles, 8,448 pJ each) and 12 regularizer passes (2,048 MACs on 4 lanes: 512
    # cycles, 2,048 pJ) per layer
    assert sp.by_bucket["mask"].cycles == 12 * 2 * (1536 + 512)
    assert sp.by_bucket["mask"].energy_pj == pytest.approx(12 * 2 * (8448 + 2048))
    assert sp.total.cycles == sum(sp.by_bucket[b].cycles for b in ("fwd", "dgrad", "wgrad", "mask"))


def test_mdgf_decaying_steps_run_dense() -> None:
    ph, tc = phases_of("mdgf")
    dec = ph["decay 1:8"]
    # D runs 1 → 0 over 8 steps: D > 0 on the first 7 (dense passes), the last step is binary 1:8
    check(dec, 7 * STEP + 8192, 8 * STEP, 8 * STEP, (7 * F + F / 8, 7 * F + F / 8, 8 * F))
    assert dec.decaying_layer_steps == 2 * 7
    assert dec.by_bucket["fwd"].cycles == cycles("fwd", None, 7) + cycles("fwd", "1:8", 1)
    ft = ph["finetune 1:8"]
    check(ft, 6 * 8192, 6 * STEP, 6 * STEP, (6 * F / 8, 6 * F / 8, 6 * F))
    assert tc.flops_vs_dense == pytest.approx((2 * 3 + 7 * 3 + (2 / 8 + 1) + 6 * (2 / 8 + 1)) / (16 * 3))


def test_mdgf_split_runs_the_sparse_and_the_complementary_gemm() -> None:
    ph, _ = phases_of("mdgf", mdgf_forward="split")
    dec = ph["decay 1:8"]
    # 1:8 + 7:8 issue 4,096 + 28,672 = 32,768 MACs per layer: the dense count, in two GEMMs
    assert dec.by_bucket["fwd"].issued_macs == 7 * STEP + 8192
    assert dec.by_bucket["fwd"].cycles == cycles("fwd", "1:8", 8) + cycles("fwd", "7:8", 7)
    assert dec.by_bucket["fwd"].flops == pytest.approx(7 * F + F / 8)
    assert dec.by_bucket["fwd"].dense_macs == 8 * STEP


def test_sdgf_intervals_run_at_their_own_pattern() -> None:
    ph, _ = phases_of("sdgf")
    for n in (7, 4, 2, 1):
        p = ph[f"structure {n}:8"]
        # 3 steps: fwd n/8 of 65,536 MACs; dgrad, wgrad dense; ideal FLOPs (n/8)F, (n/8)F, F (STE)
        check(p, 3 * STEP * n // 8, 3 * STEP, 3 * STEP, (3 * F * n / 8, 3 * F * n / 8, 3 * F))
        assert p.by_bucket["fwd"].cycles == cycles("fwd", f"{n}:8", 3)


def test_gmp_unstructured_phases_use_their_recorded_density() -> None:
    ph, _ = phases_of("gmp")
    half = ph["gmp density 0.5"]
    # unstructured: no N:M guarantee, runs dense; ideal FLOPs 0.5F per pass (autodiff: wgrad too)
    check(half, 6 * STEP, 6 * STEP, 6 * STEP, (3 * F, 3 * F, 3 * F))
    # refresh every 2 steps over 6 steps: 3 per layer, each a sort of 2,048 weights (2,048·11 compares)
    assert half.by_bucket["mask"].cycles == 2 * 3 * (2048 * 11 // 4)
    eighth = ph["gmp density 0.125"]
    assert eighth.by_bucket["fwd"].flops == pytest.approx(6 * F / 8)


def test_transposable_masks_make_the_data_gradient_sparse() -> None:
    ph, _ = phases_of("oneshot", transposable=True)
    ft = ph["finetune 1:8"]
    # dgrad GEMMs (16,64,32) and (16,32,64) at 1:8 along their K: 16·64·4 = 16·32·8 = 4,096 MACs each
    assert ft.by_bucket["dgrad"].issued_macs == 12 * 8192
    assert ft.by_bucket["dgrad"].cycles == cycles("dgrad", "1:8", 12)


def test_output_sparse_wgrad_only_without_gradient_to_pruned_weights() -> None:
    ph, _ = phases_of("oneshot", output_sparse_wgrad=True)
    # autodiff through a binary mask: dW rows of kept weights only, M = K' = 8 (ff1) and 4 (ff2):
    # 8·32·16 = 4·64·16 = 4,096 MACs per layer and step
    ft = ph["finetune 1:8"]
    assert ft.by_bucket["wgrad"].issued_macs == 12 * 8192
    want = 12 * (simulate_gemm(8, 32, 16, HW).cycles + simulate_gemm(4, 64, 16, HW).cycles)
    assert ft.by_bucket["wgrad"].cycles == want
    ph, _ = phases_of("srste", output_sparse_wgrad=True)
    assert ph["sparse 1:8"].by_bucket["wgrad"].issued_macs == 12 * STEP  # SR-STE: every weight's gradient


def test_refresh_can_be_left_out_of_the_totals_but_is_still_reported() -> None:
    _, with_mask = phases_of("srste")
    _, without = phases_of("srste", include_refresh=False)
    assert without.mask.cycles == with_mask.mask.cycles > 0
    assert with_mask.total.cycles - without.total.cycles == with_mask.mask.cycles


def test_refresh_cost_is_hand_worked() -> None:
    layer = two_layer("oneshot").layers[0]
    c = refresh_cost(layer, "1:8", HW)
    # 64·32 = 2,048 weights: 2,048·3 compares on 4 lanes = 1,536 cycles; 2,048 B read + 256 B mask written
    assert (c.cycles, c.energy_pj) == (1536, pytest.approx(6144 + 2304))
    assert refresh_cost(layer, "1:8", HW, lanes=16).cycles == 384
    # fused with the optimizer's weight pass: no weight read, only the 256-byte mask write
    assert refresh_cost(layer, "1:8", HW, read_weights=False).energy_pj == pytest.approx(6144 + 256)
    _, fused = phases_of("srste", fused_refresh=True)
    assert fused.mask.energy_pj == pytest.approx(12 * 2 * (6144 + 256 + 2048))


def test_training_flops_needs_no_hardware_and_agrees() -> None:
    for recipe in ("dense", "oneshot", "srste", "mdgf", "sdgf", "gmp"):
        t = two_layer(recipe)
        flops, dense = training_flops(t)
        tc = training_cost(t, HW)
        assert flops == pytest.approx(tc.total.flops)
        assert dense == tc.dense.flops == 16 * 3 * F


def test_attention_matmuls_and_unsparsified_layers_stay_dense() -> None:
    from nmsim.schemas.trace import Layer

    t = two_layer("oneshot")
    extra = [
        Layer(name="scores", op="attention", role="attn_score", m=8, k=8, n=8, repeat=2),
        Layer(name="head", role="head", m=16, k=32, n=8),
    ]
    t = t.model_copy(update={"layers": [*t.layers, *extra]})
    tc = training_cost(t, HW)
    ft = next(p for p in tc.phases if p.kind == "finetune")
    assert {s.layer for s in ft.layers} == {"ff1", "ff2"}
    extra_macs = 3 * (8 * 8 * 8 * 2) + 3 * (16 * 32 * 8)
    assert sum(ft.by_bucket[p].issued_macs for p in ("fwd", "dgrad", "wgrad")) == 12 * (
        8192 + 2 * STEP + extra_macs
    )
