"""Schedules: the published sequences, decay factors at given steps, GMP cubic, executed phases.

Sequences and their sources: docs/references.md#schedule-tables.
"""

from __future__ import annotations

import itertools
import math

import pytest

pytest.importorskip("torch")

from nmsim import schedules
from nmsim.sparsity import DENSE, NM
from nmsim.train.plan import Plan
from nmsim.train.recipes import load_recipe


def seq(text: str) -> list[NM]:
    return [NM(*map(int, p.split(":"))) for p in text.split(",")]


def test_structure_tables():
    assert schedules.stepwise_patterns(NM(1, 8)) == seq("7:8,4:8,2:8,1:8")
    assert schedules.stepwise_patterns(NM(1, 16)) == seq("15:16,8:16,4:16,2:16,1:16")
    assert schedules.stepwise_patterns(NM(2, 8)) == seq("7:8,4:8,2:8")  # log2(8/2)+1 = 3 frames
    assert schedules.stepwise_patterns(NM(2, 4)) == seq("3:4,2:4")
    assert schedules.geometric_patterns(NM(1, 8), k=16) == seq("16:128,8:64,4:32,2:16,1:8")
    assert schedules.geometric_patterns(NM(1, 8), k=8) == seq("8:64,4:32,2:16,1:8")  # repo "fine"
    assert [p.n for p in schedules.aqt_patterns(NM(1, 16))] == [16, 15, 4, 2, 1]
    assert schedules.densify_patterns(NM(1, 8)) == seq("1:64,1:32,1:16,1:8")
    assert schedules.halving_patterns(NM(1, 8)) == seq("4:8,2:8,1:8")


def sdgf_plan(nm: str, structure: str, total: int) -> Plan:
    rec = load_recipe("sdgf").with_overrides(nm=nm, structure=structure)
    return Plan(rec, total)


@pytest.mark.parametrize(("nm", "expected"), [("1:8", 0.4375), ("1:16", 0.375)])
def test_sdgf_stepwise_average_forward_density(nm, expected):
    # window [0.1T, 0.85T) = [200, 1700) of T = 2000: 1500 steps, split into 4 (1:8) or 5 (1:16) equal parts
    plan = sdgf_plan(nm, "stepwise", 2000)
    dens = [plan.state(t).density for t in range(200, 1700)]
    assert len({plan.state(t).pattern for t in range(200, 1700)}) == (4 if nm == "1:8" else 5)
    assert sum(dens) / len(dens) == pytest.approx(expected, abs=1e-12)


def test_sdgf_geometric_keeps_density_and_even_intervals():
    plan = sdgf_plan("1:8", "geometric", 1000)
    assert {plan.state(t).density for t in range(100, 1000)} == {0.125}
    # k = 8 (the [PGF] code's default): 750 steps / 4 patterns, bounds 100 + floor(i·750/4) = 287, 475, 662
    assert [str(plan.state(t).pattern) for t in (100, 286, 287, 474, 475, 661, 662, 849, 850)] == [
        "8:64", "8:64", "4:32", "4:32", "2:16", "2:16", "1:8", "1:8", "1:8",
    ]  # fmt: skip
    assert plan.structure_k == {1: (8, 8)}
    assert plan.state(850).kind == "finetune" and plan.state(849).kind == "structure"
    assert plan.state(99).sparsity == DENSE


def mdgf_plan(decay: str, total: int = 1000) -> Plan:
    return Plan(load_recipe("mdgf").with_overrides(nm="1:8", decay=decay), total)


def test_mdgf_linear_decay_factor():
    # stage starts at 100, zero_at 0.7 -> 700: beta = 1/600
    plan = mdgf_plan("linear")
    assert plan.decay_at(99) == 1.0  # dense phase
    assert plan.decay_at(100) == 1.0
    assert plan.decay_at(400) == pytest.approx(0.5)
    assert plan.decay_at(550) == pytest.approx(1 - 450 / 600)
    assert plan.decay_at(700) == 0.0 and plan.decay_at(800) == 0.0
    assert plan.decay_at(850) == 0.0  # binary fine-tune


def test_mdgf_exp_decay_factor():
    # beta = ln(1/0.01)/600: D(j) = 0.01^(j/600)
    plan = mdgf_plan("exp")
    assert plan.decay_at(100) == 1.0
    assert plan.decay_at(400) == pytest.approx(0.1)
    assert plan.decay_at(700) == pytest.approx(0.01)
    assert plan.decay_at(800) == pytest.approx(0.01 ** (700 / 600))


def test_mdgf_step_staircase_aqt():
    # 8 intervals of 600/8 = 75 steps, D = 1 - k/8, mask refreshed at each interval
    plan = mdgf_plan("step")
    assert [plan.decay_at(100 + j) for j in (0, 74, 75, 150, 525, 599, 600, 749)] == [
        1.0, 1.0, 0.875, 0.75, 0.125, 0.125, 0.0, 0.0,
    ]  # fmt: skip
    assert plan.state(175).refresh and not plan.state(176).refresh
    assert plan.state(175).refresh_every == 75
    # the AQT cap: k >= cap -> 0
    assert schedules.decay_step(16 * 10, 10, 0.01, cap=16) == 0.0
    assert schedules.decay_step(15 * 10, 10, 0.01, cap=16) == pytest.approx(0.85)


def test_decay_primitives():
    assert schedules.decay_linear(250, 0.002) == pytest.approx(0.5)
    assert schedules.decay_linear(600, 0.002) == 0.0
    assert schedules.decay_exp(1000, 0.0002) == pytest.approx(math.exp(-0.2))


def test_gmp_cubic_hand_values():
    # s_f = 0.875, s_i = 0, t0 = 0, n = 10, dt = 10
    f = lambda t: schedules.gmp_sparsity(t, 0.0, 0.875, 0, 10, 10)  # noqa: E731
    assert f(0) == 0.0
    assert f(50) == pytest.approx(0.875 * (1 - 0.5**3))
    assert f(59) == f(50)  # held between pruning steps
    assert f(100) == pytest.approx(0.875) and f(500) == pytest.approx(0.875)


def test_gmp_plan_reaches_matched_density():
    plan = Plan(load_recipe("gmp").with_overrides(nm="1:8"), 1000)
    assert plan.state(50).sparsity == DENSE
    assert plan.state(700).density == pytest.approx(0.125)
    assert plan.state(999).sparsity.is_unstructured and str(plan.state(999).sparsity) == "unstructured"
    d = [plan.state(t).density for t in range(100, 1000)]
    assert all(a >= b for a, b in itertools.pairwise(d))  # monotone


def test_oneshot_and_srste_phases():
    plan = Plan(load_recipe("oneshot").with_overrides(nm="2:4"), 200)
    assert plan.state(19).sparsity == DENSE and plan.state(20).sparsity == NM(2, 4)
    assert plan.state(20).refresh and not plan.state(21).refresh  # mask computed once
    assert plan.state(20).grad_mode == "autodiff"
    sr = Plan(load_recipe("srste"), 200)
    assert sr.state(50).grad_mode == "srste" and sr.state(50).refresh and sr.state(51).refresh
    assert sr.state(50).srste_lambda == 2e-4


def test_gradual_halving_then_fixed_finetune():
    plan = Plan(load_recipe("gradual").with_overrides(nm="1:8"), 1000)
    # window [100, 700) in 3 parts of 200
    assert [str(plan.state(t).pattern) for t in (100, 299, 300, 500, 699, 700)] == [
        "4:8", "4:8", "2:8", "1:8", "1:8", "1:8",
    ]  # fmt: skip
    assert plan.state(300).refresh and not plan.state(301).refresh
    assert not plan.state(700).refresh  # keep_mask: the fine-tune keeps the last mask
    assert plan.state(500).hard


def test_geometric_k_is_halved_to_fit_the_layers_and_recorded():
    # 1:32 with k = 8 would start at 8:256; layers with K = 128 cap it at k = 4 (4:128 ... 1:32)
    rec = load_recipe("sdgf").with_overrides(nm="1:32", structure="geometric")
    plan = Plan(rec, 1000, max_group=128)
    seen = [str(plan.state(t).pattern) for t in range(100, 850, 150)]
    assert seen[0] == "4:128" and seen[-1] == "1:32"
    assert len({plan.state(t).pattern for t in range(100, 850)}) == 3
    assert plan.structure_k == {1: (8, 4)}  # asked, ran: the trainer writes both into the trace
    # 1:8 with an explicit k = 16 fits K = 128 and keeps it
    doc = rec.with_overrides(nm="1:8").model_dump(exclude_none=True)
    doc["stages"][1]["structure"]["k"] = 16
    plan8 = Plan(load_recipe(doc), 1000, max_group=128)
    assert str(plan8.state(100).pattern) == "16:128" and plan8.structure_k == {1: (16, 16)}
