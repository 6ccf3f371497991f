"""Residency planner: liveness of layer outputs, worked by hand on small graphs."""

from __future__ import annotations

import pytest

from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.residency import NO_RESIDENCY, last_uses, plan_residency, reserved_bytes
from nmsim.workloads.transformer import TransformerSpec, transformer_trace


def _layer(name: str, m: int, n: int, inputs: list[str] | None, residual: list[str] | None = None) -> Layer:
    return Layer(name=name, m=m, k=8, n=n, inputs=inputs, residual=residual)


def _chain() -> list[Layer]:
    # a: 4x10 = 40 B out (int8) → b: 4x20 = 80 B → c: 4x5 = 20 B; c adds a's output (residual)
    return [
        _layer("a", 4, 10, []),
        _layer("b", 4, 20, ["a"]),
        _layer("c", 4, 5, ["b"], ["a"]),
    ]


def test_last_uses_counts_inputs_and_residual() -> None:
    assert last_uses(_chain()) == {"a": 2, "b": 2}


def test_everything_fits() -> None:
    plan = plan_residency(_chain(), [1, 1, 1], budget=1000)
    a, b, c = plan
    assert (a.input_resident, a.output_resident) == (False, True)  # [] = model input, from DRAM
    assert (b.input_resident, b.output_resident) == (True, True)
    assert (c.input_resident, c.residual_resident, c.output_resident) == (True, True, False)  # no reader
    # held while each runs: a: 40; b: 40 + 80; c: 40 + 80 (its output goes to DRAM)
    assert [p.reserved_bytes for p in plan] == [40, 120, 120]
    assert reserved_bytes(plan) == 120


def test_budget_between_tensors() -> None:
    # 100 B: a (40) fits; b (80) would make 120 > 100, so b goes to DRAM; c still finds a on chip
    a, b, c = plan_residency(_chain(), [1, 1, 1], budget=100)
    assert a.output_resident and not b.output_resident
    assert b.input_resident and not c.input_resident and c.residual_resident
    assert b.reserved_bytes == 40


def test_element_bytes_scale_sizes() -> None:
    # fp16: a is 80 B, b 160 B: with 200 B only a stays
    a, b, _ = plan_residency(_chain(), [2, 2, 2], budget=200)
    assert a.output_resident and not b.output_resident


def test_no_edges_and_none_policy_are_todays_round_trip() -> None:
    layers = [_layer("a", 4, 10, None), _layer("b", 4, 20, None)]
    assert plan_residency(layers, [1, 1], budget=1e9) == [NO_RESIDENCY, NO_RESIDENCY]
    assert plan_residency(_chain(), [1, 1, 1], budget=1e9, policy="none") == [NO_RESIDENCY] * 3
    with pytest.raises(NmsimInputError, match="residency"):
        plan_residency(_chain(), [1, 1, 1], budget=1e9, policy="sometimes")


def test_tensors_are_freed_after_their_last_reader() -> None:
    # x → y → z → w: each output 40 B, budget 80 B: x freed after y reads it, so z's output fits
    layers = [
        _layer("x", 4, 10, []),
        _layer("y", 4, 10, ["x"]),
        _layer("z", 4, 10, ["y"]),
        _layer("w", 4, 10, ["z"]),
    ]
    plan = plan_residency(layers, [1] * 4, budget=80)
    assert [p.output_resident for p in plan] == [True, True, True, False]
    assert [p.input_resident for p in plan] == [False, True, True, True]


def test_transformer_block_keeps_the_residual_stream_live() -> None:
    spec = TransformerSpec(name="t", d_model=64, ffn=256, heads=4, enc_layers=2, src_len=16)
    trace: Trace = transformer_trace(spec)
    by_name = {
        p_layer.name: p
        for p_layer, p in zip(
            trace.layers, plan_residency(trace.layers, [1] * len(trace.layers), budget=1e9), strict=True
        )
    }
    # everything fits: every GEMM after the first q/k/v reads on chip; ff2 adds o's output on chip
    assert by_name["enc0.ff1"].input_resident and by_name["enc0.ff2"].residual_resident
    assert by_name["enc1.self.q"].input_resident and by_name["enc1.self.o"].residual_resident
    assert not by_name["enc0.self.q"].input_resident
    # the last ff2 has no reader: its output leaves for DRAM
    assert not by_name["enc1.ff2"].output_resident


def test_backward_graph_and_training_plans() -> None:
    """dgrad runs in reverse: b's incoming gradient is c's data gradient (c reads b), a's is b's and
    c's (c adds a as residual); each dX is m×k (n and k swap)."""
    from nmsim.sim.residency import backward_layers, residency_budget
    from nmsim.sim.residency_plan import training_plans
    from tests.conftest import tiny_hw

    back = backward_layers(_chain())
    assert [(la.name, la.inputs, la.n) for la in back] == [
        ("c", [], 8),
        ("b", ["c"], 8),
        ("a", ["b", "c"], 8),
    ]
    plans = training_plans(_chain(), tiny_hw())
    assert residency_budget(tiny_hw())[0] == "ifmap_sram"  # the level their reserved bytes are held in
    fwd, dgrad = zip(*plans, strict=True)
    assert [p.input_resident for p in fwd] == [False, True, True]
    assert [p.input_resident for p in dgrad] == [True, True, False]  # a: b's and c's; b: c's; c: the loss


def test_training_step_saves_resident_reads_only() -> None:
    """With residency the dense step reads less from DRAM and writes exactly as much (outputs are
    stashed for the backward pass); without edges nothing changes."""
    import nmsim
    from nmsim.cost import training as tr
    from nmsim.cost.step import StepResidency
    from nmsim.schemas.trace import Trace

    trace = transformer_trace(
        TransformerSpec(name="t", d_model=64, ffn=256, heads=4, enc_layers=2, src_len=32)
    )
    hw = nmsim.load_hardware("stc_2x4_like")
    auto = tr.dense_step_cost(trace, hw)
    none_ = tr.dense_step_cost(trace, hw, residency=[StepResidency()] * len(trace.layers))
    assert auto.energy_pj < none_.energy_pj
    assert auto.energy_breakdown_pj["dram"] < none_.energy_breakdown_pj["dram"]
    plain = Trace(
        name="t", layers=[la.model_copy(update={"inputs": None, "residual": None}) for la in trace.layers]
    )
    assert (
        tr.dense_step_cost(plain, hw).energy_pj
        == tr.dense_step_cost(plain, hw, residency=[StepResidency()] * len(trace.layers)).energy_pj
    )


def test_layer_residency_object_equals_the_public_keywords() -> None:
    """A layer's ``LayerResidency`` (its reserved bytes in the activation level) and the public
    keywords of ``simulate_gemm`` with those bytes named at that level run the same row: equal
    results, the hooks recorded as given."""
    import nmsim
    from nmsim.sim.gemm import simulate_layer
    from nmsim.sim.residency import LayerResidency
    from tests.conftest import tiny_hw

    hw = tiny_hw(buffers_kb=1.0)
    layer = Layer(name="gemm", m=64, n=64, k=32)
    for flag in (True, False):
        p = LayerResidency(
            input_resident=flag, output_resident=flag, reserved_bytes=512, weight_resident=flag
        )
        by_object = simulate_layer(layer, hw, residency=p)
        by_keywords = nmsim.simulate_gemm(
            64, 64, 32, hw, input_resident=flag, output_resident=flag, weight_resident=flag,
            reserved={"ifmap_sram": 512},
        )  # fmt: skip
        assert by_object == by_keywords
        assert (by_object.input_resident, by_object.output_resident, by_object.weight_resident) == (flag,) * 3
        assert by_object.resident_reserved_bytes == 512
    assert (
        by_object.dram_ifmap_bytes > 0 and by_object.dram_filter_bytes > 0 and by_object.dram_ofmap_bytes > 0
    )
    # the reservation reaches the mapper: half the 1 KiB ifmap level held leaves tiles that re-read more
    assert by_object.dram_bytes > simulate_layer(layer, hw).dram_bytes
