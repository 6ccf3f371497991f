"""Residency of attention's second operand: q·kᵀ reads k, probs·v reads v, both activations made on chip.

The engine's ``weight_resident`` row field skips the DRAM read of the second operand exactly as
``input_resident`` skips the activation operand's; the planner sets it for an ``attention`` layer
whose right producer (``inputs = [left, right]``) left its output on chip.
"""

from __future__ import annotations

import pytest

import nmsim
from nmsim.explore.plan import make_plan
from nmsim.explore.spec import make_spec
from nmsim.explore.sweep import run_sweep
from nmsim.explore.variants import apply_nm
from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.residency import plan_residency
from tests.conftest import REPO, tiny_hw

TRACE = REPO / "traces" / "translation" / "dense_s1.json"  # a small Transformer with edges


def _attention_trace() -> Trace:
    # q, k: 16 tokens × 8 features from the model input (linear, k = 8 in_features);
    # score = q · kᵀ: M = 16 tokens, K = 8, N = 16 tokens; its left operand is q's output (16×8),
    # its right operand kᵀ is k's output (16×8 = 8×16 as K×N).
    return Trace(
        name="attn",
        layers=[
            Layer(name="q", m=16, k=8, n=8, inputs=[]),
            Layer(name="k", m=16, k=8, n=8, inputs=[]),
            Layer(name="score", op="attention", role="attn_score", m=16, k=8, n=16, inputs=["q", "k"]),
        ],
    )


def test_planner_marks_each_attention_operand_by_its_own_producer() -> None:
    layers = _attention_trace().layers
    # budget 200 B (int8): q's output (128 B) stays; k's (another 128 B) would make 256 > 200
    q, k, score = plan_residency(layers, [1, 1, 1], budget=200)
    assert q.output_resident and not k.output_resident
    assert score.input_resident and not score.weight_resident
    # enough room for both: both operands are on chip; the score has no reader, so goes to DRAM
    _, _, score = plan_residency(layers, [1, 1, 1], budget=1000)
    assert (score.input_resident, score.weight_resident, score.output_resident) == (True, True, False)
    assert score.reserved_bytes == 256  # q's and k's outputs held while the score runs
    # a linear layer with two producers keeps the one-operand rule: both feed its activations
    lin = [*layers[:2], Layer(name="sum", m=16, k=8, n=16, inputs=["q", "k"])]
    _, _, s = plan_residency(lin, [1, 1, 1], budget=1000)
    assert s.input_resident and not s.weight_resident


def test_hand_worked_score_gemm_dram_bytes() -> None:
    """tiny_hw: 4×4 ws, int8, 1 MiB ifmap/filter/ofmap buffers, every energy 1 pJ per byte, DRAM far
    faster than the array. The score GEMM (M 16, K 8, N 16) fits whole: the mapper reads each operand
    once.

    - ``none``: A (q's output, 16·8 = 128 B) + W (kᵀ, 8·16 = 128 B) + O (16·16 = 256 B) = 512 B;
    - ``auto``: q's and k's outputs stay on chip, the score has no reader: O = 256 B only
      (the one-operand rule alone would leave W: 384 B).

    DRAM energy is 1 pJ per byte either way: 512 pJ vs 256 pJ.
    """
    hw = tiny_hw()
    trace = _attention_trace()
    none = nmsim.simulate(trace, hw, residency="none").layers[2]
    auto = nmsim.simulate(trace, hw, residency="auto").layers[2]
    assert (none.dram_ifmap_bytes, none.dram_filter_bytes, none.dram_ofmap_bytes) == (128, 128, 256)
    assert (auto.dram_ifmap_bytes, auto.dram_filter_bytes, auto.dram_ofmap_bytes) == (0, 0, 256)
    assert (none.dram_bytes, auto.dram_bytes) == (512, 256)
    assert none.energy_breakdown_pj["dram"] == pytest.approx(512.0)
    assert auto.energy_breakdown_pj["dram"] == pytest.approx(256.0)
    # the hook alone, through the public API: the same 128 B of kᵀ are not read from DRAM
    only_w = nmsim.simulate_gemm(16, 16, 8, hw, weight_resident=True)
    assert (only_w.dram_filter_bytes, only_w.dram_bytes) == (0, 384)


@pytest.mark.parametrize("hw_name", ["vegeta", "stc_2x4_like", "nvidia_a100_sxm"])
def test_residency_never_increases_a_layers_dram_bytes(hw_name: str) -> None:
    """Invariant: on a Transformer with edges, every layer moves no more DRAM bytes with ``auto`` than
    with ``none`` (resident operands are not read, resident outputs not written; the reservation only
    shrinks capacities where the planner left room)."""
    trace = nmsim.load_trace(TRACE)
    hw = nmsim.load_hardware(hw_name)
    none = nmsim.simulate(trace, hw, residency="none").layers
    auto = nmsim.simulate(trace, hw, residency="auto").layers
    assert any(layer.op == "attention" for layer in trace.layers)
    for a, b in zip(auto, none, strict=True):
        assert a.dram_bytes <= b.dram_bytes, (hw_name, a.name, a.dram_bytes, b.dram_bytes)
    attn = {x.name for x in trace.layers if x.op == "attention"}
    # some attention GEMM now reads its second operand on chip
    assert any(
        a.name in attn and a.dram_filter_bytes == 0 < b.dram_filter_bytes
        for a, b in zip(auto, none, strict=True)
    )


def test_sweep_equals_simulate_with_attention_operands_resident() -> None:
    trace = nmsim.load_trace(TRACE)
    spec = make_spec(traces=[trace], nm=["dense", "2:4"], hw=["vegeta", "stc_2x4_like"])
    plan = make_plan(spec)
    table = run_sweep(spec, scheduler="inline").table
    for rec in table.to_dict("records"):
        v, h = divmod(rec["point"], plan.n_hw)
        t, nm = plan.variant(v)
        base, _ = plan.combo(h)
        hw = nmsim.load_hardware(plan.hw[base].name, **plan.overrides(h))
        tot = nmsim.simulate(apply_nm(plan.traces[t].trace, nm), hw).totals
        for col in ("cycles", "dram_bytes", "energy_pj", "latency_s"):
            assert rec[col] == getattr(tot, col), (rec["point"], col)
