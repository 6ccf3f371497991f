"""Training costs across recipes follow from their schedules.

Schedules (1,000 steps, the shipped recipe YAMLs' fractions): dense warm-up 10 %, then
oneshot (fixed 1:8 mask, autodiff) / SR-STE (1:8, refresh every step) to the end; MDGF: D > 0 from 10 %
to 70 % (the paper's recommendation), binary 1:8 after; SDGF-stepwise: 7:8, 4:8, 2:8, 1:8 over equal
parts of 10 %–90 %, fine-tune 1:8. Expected: the SDGF window averages (7+4+2+1)/8/4 = 0.4375 of the
dense forward work (1:16: (15+8+4+2+1)/16/5 = 0.375; docs/references.md#schedule-tables), and the run costs order
dense > MDGF > SDGF > SR-STE > oneshot on hardware that holds every pattern.
"""

from __future__ import annotations

import pytest

from nmsim.cost.training import training_cost
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer, Phase, PhaseLayerState, Trace, TrainingRecord
from tests.conftest import tiny_hw

FLEX = tiny_hw(modes=["1:8", "2:8", "4:8", "7:8", "1:16", "2:16", "4:16", "8:16", "15:16"])
STC = tiny_hw(modes=["2:4"])
LAYERS = [
    Layer(name="ff1", role="ff", m=32, k=128, n=64, pattern="1:8"),
    Layer(name="ff2", role="ff", m=32, k=64, n=128, pattern="1:8"),
]


def _ph(name: str, kind: str, a: int, b: int, pat: str = "dense", d0: float = 0, d1: float = 0,
        grad: str = "ste", refresh: int = 1) -> Phase:  # fmt: skip
    layers = (
        {}
        if pat == "dense"
        else dict.fromkeys(
            ("ff1", "ff2"), PhaseLayerState(pattern=pat, decay_factor_start=d0, decay_factor_end=d1)
        )
    )
    return Phase(name=name, kind=kind, start_step=a, end_step=b, layers=layers, grad_mode=grad,  # type: ignore[arg-type]
                 mask_refresh_every=refresh if pat != "dense" else 0)  # fmt: skip


def stepwise(target: str) -> list[str]:
    return {"1:8": ["7:8", "4:8", "2:8", "1:8"], "1:16": ["15:16", "8:16", "4:16", "2:16", "1:16"]}[target]


def schedule(recipe: str, target: str = "1:8") -> list[Phase]:
    dense = _ph("dense", "dense", 0, 100)
    if recipe == "dense":
        return [_ph("dense", "dense", 0, 1000)]
    if recipe == "oneshot":
        return [dense, _ph("finetune", "finetune", 100, 1000, target, grad="autodiff", refresh=0)]
    if recipe == "srste":
        return [dense, _ph("sparse", "sparse", 100, 1000, target, grad="srste")]
    if recipe == "mdgf":
        return [dense, _ph("decay", "decay", 100, 700, target, 1.0, 0.002),
                _ph("decay D=0", "decay", 700, 850, target), _ph("finetune", "finetune", 850, 1000, target)]  # fmt: skip
    if recipe == "sdgf":
        pats = stepwise(target)
        bounds = [100 + i * 800 // len(pats) for i in range(len(pats) + 1)]
        out = [dense] + [
            _ph(f"structure {p}", "structure", a, b, p)
            for p, a, b in zip(pats, bounds, bounds[1:], strict=False)
        ]
        return [*out, _ph("finetune", "finetune", 900, 1000, target)]
    raise AssertionError(recipe)


def trace(recipe: str, target: str = "1:8") -> Trace:
    rec = TrainingRecord(recipe=recipe, target=target if recipe != "dense" else "dense", total_steps=1000,
                         sparsified_layers=["ff1", "ff2"], phases=schedule(recipe, target))  # fmt: skip
    layers = [la.model_copy(update={"pattern": target if recipe != "dense" else "dense"}) for la in LAYERS]
    return Trace(name=f"toy-{recipe}", layers=layers, training=rec)


def window_fwd(recipe: str, target: str, hw: HardwareConfig) -> tuple[float, float]:
    """(ideal FLOPs, issued MACs) of the forward passes in the structure window, relative to dense."""
    tc = training_cost(trace(recipe, target), hw)
    win = [p for p in tc.phases if p.kind == "structure"]
    flops = sum(p.by_bucket["fwd"].flops for p in win) / sum(p.by_bucket["fwd"].flops_dense for p in win)
    macs = sum(p.by_bucket["fwd"].issued_macs for p in win) / sum(p.by_bucket["fwd"].dense_macs for p in win)
    return flops, macs


def test_sdgf_stepwise_1x8_averages_0_4375_of_dense_forward_work() -> None:
    flops, macs = window_fwd("sdgf", "1:8", FLEX)  # 800 steps = 4 intervals of 200
    assert flops == pytest.approx(0.4375) and macs == pytest.approx(0.4375)


def test_sdgf_stepwise_1x16_averages_0_375() -> None:
    flops, macs = window_fwd("sdgf", "1:16", FLEX)  # 800 steps = 5 intervals of 160
    assert flops == pytest.approx(0.375) and macs == pytest.approx(0.375)


def test_sdgf_on_2x4_only_hardware_runs_7x8_and_4x8_dense() -> None:
    # 7:8 and 4:8 do not fit 2:4 (dense); 2:8 and 1:8 run in the 2:4 mode (half the MACs)
    flops, macs = window_fwd("sdgf", "1:8", STC)
    assert flops == pytest.approx(0.4375)
    assert macs == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)


@pytest.mark.parametrize("hw", [FLEX, STC], ids=["flexible", "2:4-only"])
def test_run_costs_follow_the_schedules(hw: HardwareConfig) -> None:
    costs = {r: training_cost(trace(r), hw) for r in ("dense", "mdgf", "sdgf", "srste", "oneshot")}
    flops = [costs[r].total.flops for r in ("dense", "mdgf", "sdgf", "srste", "oneshot")]
    assert flops == sorted(flops, reverse=True) and len(set(flops)) == 5
    energy = [costs[r].total.energy_pj for r in ("dense", "mdgf", "sdgf", "srste", "oneshot")]
    assert energy == sorted(energy, reverse=True)
    # MDGF's forward is dense while D > 0 (10 %–70 %): 0.1 + 0.6 + 0.3/8 of the dense forward work
    fwd = costs["mdgf"]
    ratio = sum(p.by_bucket["fwd"].flops for p in fwd.phases) / sum(
        p.by_bucket["fwd"].flops_dense for p in fwd.phases
    )
    assert ratio == pytest.approx(0.1 + 0.6 + 0.3 / 8)
    for r in ("mdgf", "sdgf", "srste", "oneshot"):
        assert costs[r].dense.flops == costs["dense"].total.flops
