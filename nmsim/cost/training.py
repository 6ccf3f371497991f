"""The cost of a whole training run on one hardware config, phase by phase (a DERIVED model).

For every phase of the trace's executed schedule and every layer, one step's GEMMs
(:func:`nmsim.cost.step.step_gemms`: forward, data gradient, weight gradient) are simulated with the
sparsity each really has on the hardware; a phase costs
``binary steps × binary-step cost + decaying steps × decaying-step cost + refreshes × refresh cost``
per layer (SR-STE adds its regularizer at every step). Layers run back to back, as in
:func:`nmsim.simulate`. The trace's layers describe one training step's forward pass (m = the
tokens of one batch). Non-GEMM work (norms, softmax, the optimizer update) is left out: it is the
same for every recipe. docs/recipes_cost.md states every choice; :class:`CostOptions` switches the
debatable ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nmsim.cost.options import CostOptions
from nmsim.cost.phases import LayerPhase, layer_phase, sparsified_layers
from nmsim.cost.refresh import refresh_cost, srste_cost
from nmsim.cost.step import (
    NO_STEP_RESIDENCY,
    PASSES,
    GemmCache,
    StepGemm,
    StepResidency,
    ideal_densities,
    step_gemms,
)
from nmsim.cost.totals import Cost
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.residency_plan import training_plans

BUCKETS: tuple[str, ...] = (*PASSES, "mask")


@dataclass
class PhaseCost:
    """Cost of one phase: per pass (``fwd``, ``dgrad``, ``wgrad``) and ``mask`` work, and ``total``.

    ``total`` includes the mask work when the options say so. ``decaying_layer_steps``: Σ over layers
    of steps run with D > 0; ``layers``: each layer's state in the phase.
    """

    name: str
    kind: str
    start_step: int
    end_step: int
    by_bucket: dict[str, Cost]
    total: Cost
    decaying_layer_steps: int = 0
    layers: list[LayerPhase] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.end_step - self.start_step

    def to_dict(self, pes: int, with_layers: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "start_step": self.start_step,
            "end_step": self.end_step,
            "steps": self.steps,
            "decaying_layer_steps": self.decaying_layer_steps,
            "total": self.total.to_dict(),
            "pe_utilization": self.total.pe_utilization(pes),
            "by_bucket": {k: v.to_dict() for k, v in self.by_bucket.items()},
        }
        if with_layers:
            d["layers"] = [vars(s).copy() for s in self.layers]
        return d


@dataclass
class TrainingCost:
    """Cost of a whole training run: phases, run total, the mask work apart, and the dense reference.

    ``dense``: the same model trained dense for the same number of steps on the same config.
    """

    trace: str
    hardware: str
    pes: int
    options: CostOptions
    total_steps: int
    phases: list[PhaseCost]
    total: Cost
    mask: Cost
    dense: Cost

    @property
    def flops_vs_dense(self) -> float:
        """Ideal training FLOPs / dense training FLOPs."""
        return self.total.flops / self.dense.flops if self.dense.flops else 1.0

    @property
    def energy_vs_dense(self) -> float:
        return self.total.energy_pj / self.dense.energy_pj if self.dense.energy_pj else 1.0

    @property
    def latency_vs_dense(self) -> float:
        return self.total.latency_s / self.dense.latency_s if self.dense.latency_s else 1.0

    def to_dict(self, with_layers: bool = False) -> dict[str, Any]:
        return {
            "trace": self.trace,
            "hardware": self.hardware,
            "options": self.options.to_dict(),
            "total_steps": self.total_steps,
            "total": self.total.to_dict(),
            "pe_utilization": self.total.pe_utilization(self.pes),
            "mask": self.mask.to_dict(),
            "dense": self.dense.to_dict(),
            "flops_vs_dense": self.flops_vs_dense,
            "energy_vs_dense": self.energy_vs_dense,
            "latency_vs_dense": self.latency_vs_dense,
            "phases": [p.to_dict(self.pes, with_layers) for p in self.phases],
        }


def _add_gemms(buckets: dict[str, Cost], gemms: list[StepGemm], times: int) -> None:
    for g in gemms:
        buckets[g.pass_].add(Cost.of_gemm(g.result, g.flops, g.flops_dense), times)


def _layer_phase_cost(
    layer: Layer,
    state: LayerPhase,
    hw: HardwareConfig,
    cache: GemmCache,
    opts: CostOptions,
    res: StepResidency = NO_STEP_RESIDENCY,
) -> dict[str, Cost]:
    buckets = {b: Cost() for b in BUCKETS}
    if state.binary_steps:
        _add_gemms(buckets, step_gemms(layer, state, False, cache, opts, res), state.binary_steps)
    if state.decaying_steps:
        _add_gemms(buckets, step_gemms(layer, state, True, cache, opts, res), state.decaying_steps)
    if state.sparse:
        refresh = refresh_cost(layer, state.pattern, hw, opts.refresh_lanes, not opts.fused_refresh)
        buckets["mask"].add(refresh, state.refreshes)
        if state.grad_mode == "srste":
            buckets["mask"].add(srste_cost(layer, hw, opts.refresh_lanes), state.steps)
    return buckets


def step_residency(trace: Trace, hw: HardwareConfig, policy: str = "auto") -> list[StepResidency]:
    """Per layer, which of its training passes find their input on chip (``policy``: auto | none)."""
    return [StepResidency(fwd, dgrad) for fwd, dgrad in training_plans(trace.layers, hw, policy)]


def dense_step_cost(
    trace: Trace,
    hw: HardwareConfig,
    cache: GemmCache | None = None,
    residency: list[StepResidency] | None = None,
) -> Cost:
    """One dense training step of ``trace`` (every layer's three passes with dense weights);
    ``residency``: per layer (default :func:`step_residency`)."""
    cache = cache or GemmCache(hw)
    total = Cost()
    plan = residency if residency is not None else step_residency(trace, hw)
    for layer, res in zip(trace.layers, plan, strict=True):
        dense = LayerPhase(layer.name, "dense", 1.0, 0.0, 0.0, "autodiff", 1, 0, 0)
        for g in step_gemms(layer, dense, False, cache, CostOptions(), res):
            total.add(Cost.of_gemm(g.result, g.flops, g.flops_dense))
    return total


def training_flops(trace: Trace) -> tuple[float, int]:
    """(ideal training FLOPs, dense training FLOPs) of ``trace``'s recorded run; no hardware involved.

    Per layer and step: fwd, dgrad and wgrad each 2·m·n·k·repeat FLOPs dense, scaled by
    :func:`~nmsim.cost.step.ideal_densities` (docs/references.md#flops-training).
    """
    rec = trace.training
    if rec is None:
        raise NmsimInputError("training", f"trace '{trace.name}' has no training record", None)
    sparsified = sparsified_layers(trace)
    flops = 0.0
    dense = 0
    for layer in trace.layers:
        assert layer.m and layer.n and layer.k
        f = 2 * layer.m * layer.n * layer.k * layer.repeat
        dense += 3 * f * rec.total_steps
        for phase in rec.phases:
            st = layer_phase(trace, phase, layer, sparsified)
            for decaying, steps in ((False, st.binary_steps), (True, st.decaying_steps)):
                if steps:
                    flops += f * steps * sum(ideal_densities(st, decaying).values())
    return flops, dense


def training_cost(trace: Trace, hw: HardwareConfig, options: CostOptions | None = None) -> TrainingCost:
    """Cost of ``trace``'s recorded training run on ``hw`` (needs ``trace.training``)."""
    rec = trace.training
    if rec is None:
        raise NmsimInputError("training", f"trace '{trace.name}' has no training record", None)
    opts = options or CostOptions()
    cache = GemmCache(hw)
    sparsified = sparsified_layers(trace)
    residency = step_residency(trace, hw, opts.residency)
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    phases: list[PhaseCost] = []
    run_total, run_mask = Cost(), Cost()
    for phase in rec.phases:
        buckets = {b: Cost() for b in BUCKETS}
        states = []
        for layer, res in zip(trace.layers, residency, strict=True):
            state = layer_phase(trace, phase, layer, sparsified)
            states.append(state)
            for b, c in _layer_phase_cost(layer, state, hw, cache, opts, res).items():
                buckets[b].add(c)
        total = Cost()
        for b in BUCKETS:
            if b != "mask" or opts.include_refresh:
                total.add(buckets[b])
        phases.append(
            PhaseCost(
                name=phase.name,
                kind=phase.kind,
                start_step=phase.start_step,
                end_step=phase.end_step,
                by_bucket=buckets,
                total=total,
                decaying_layer_steps=sum(s.decaying_steps for s in states),
                layers=[s for s in states if s.sparse],
            )
        )
        run_total.add(total)
        run_mask.add(buckets["mask"])
    dense = Cost().add(dense_step_cost(trace, hw, cache, residency), rec.total_steps)
    return TrainingCost(
        trace=trace.name,
        hardware=hw.name,
        pes=pes,
        options=opts,
        total_steps=rec.total_steps,
        phases=phases,
        total=run_total,
        mask=run_mask,
        dense=dense,
    )
