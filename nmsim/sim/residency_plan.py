"""Cost-aware residency plan: a layer's output stays on chip only where the engine says it pays.

Keeping a tensor resident saves its DRAM write and its readers' DRAM reads, but the bytes it holds
(:attr:`~nmsim.sim.residency.LayerResidency.reserved_bytes`) shrink the capacity the mapper has for the
tiles of every layer that runs while it is live; where one level holds every operand (VEGETA's L2),
the refetches this forces can cost more than the round trip saved. :func:`plan_for` therefore judges
each tensor with the engine itself:

1. the fit plan (:func:`nmsim.sim.residency.plan_residency`: first come, first kept within the budget);
2. for every tensor it keeps, the same plan with only that tensor sent to DRAM
   (:func:`~nmsim.sim.residency.drop_tensor`): the layers of its lifetime (producer to last reader)
   are costed both ways; the tensor pays when the plan's total ranks better with it than without;
3. every tensor that does not pay is banned and the fit plan is redone without them (a freed budget
   can let a later tensor fit, and it is then judged in turn), until every kept tensor pays (each
   round bans at least one producer, so this ends);
4. guard: of the plans met on the way and the plan without residency, the one whose total ranks
   best is returned (ties: no residency), so ``auto`` never ranks worse than ``none``.

Rank: the mapper's objective on the plan's totals (:func:`nmsim.engine.mapper.better`), then DRAM
bytes: latency (cycles, pJ, bytes), energy (pJ, cycles, bytes), edp (cycles·pJ, cycles, bytes). A
layer's cost is the engine's result for its GEMM row with the plan's hooks and reservation (the
same row :func:`nmsim.sim.gemm.simulate_layer` evaluates), so the guard compares the totals
``nmsim simulate`` reports. Layers through the software sparse kernel cost the same either way and
are left out. In a training step outputs are written to DRAM anyway (``training=True``): rows are
costed without the output hook, only the resident reads and the reservation count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from nmsim.dtypes import BYTES_PER_ELEMENT
from nmsim.engine.kernel import evaluate_rows, without_idle_reservations
from nmsim.engine.layout import OUT_FIELDS
from nmsim.engine.params import hw_vector
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.gemm import layer_mode, objective_code, residency_row, residency_slots
from nmsim.sim.residency import (
    NO_RESIDENCY,
    LayerResidency,
    backward_layers,
    check_policy,
    drop_tensor,
    last_uses,
    output_bytes,
    plan_residency,
    residency_budget,
)
from nmsim.sim.software_mode import runs_in_software

Cost = tuple[int, float, int]
"""(cycles, energy in pJ, DRAM bytes) of one layer or a sum of layers."""

_CYC, _EN, _DRAM = (OUT_FIELDS.index(f) for f in ("cycles", "energy_pj", "dram_bytes"))
_FREE: Cost = (0, 0.0, 0)


def rank(objective: int, cost: Cost) -> tuple[float, ...]:
    """Sort key of a plan's total ``cost`` on ``objective`` (0 latency, 1 energy, 2 edp): lower is better."""
    c, e, d = cost
    if objective == 1:
        return (e, c, d)
    if objective == 2:
        return (c * e, c, d)
    return (c, e, d)


class LayerCosts:
    """Engine cost of each layer of ``layers`` on ``hw`` under a residency, memoised per (layer, residency)."""

    def __init__(
        self, layers: Sequence[Layer], hw: HardwareConfig, objective: int, software: bool, training: bool
    ) -> None:
        self.layers, self.hw, self.objective, self.training = layers, hw, objective, training
        self.fixed = [runs_in_software(x, software) for x in layers]
        dtypes = sorted({x.dtype or hw.default_dtype for x in layers})
        self._hw_table = np.ascontiguousarray(np.stack([hw_vector(hw, dt) for dt in dtypes]))
        self._hw_of = [dtypes.index(x.dtype or hw.default_dtype) for x in layers]
        self._modes = [None if f else layer_mode(x, hw, False) for x, f in zip(layers, self.fixed, strict=True)]
        self._memo: dict[tuple[int, LayerResidency], Cost] = {}

    def evaluate(self, pairs: Iterable[tuple[int, LayerResidency]]) -> None:
        """Cost every (layer index, residency) of ``pairs`` not known yet, in one kernel call."""
        todo = list(dict.fromkeys(q for q in pairs if q not in self._memo and not self.fixed[q[0]]))
        if not todo:
            return
        rows = []
        for i, p in todo:
            x, ch = self.layers[i], self._modes[i]
            assert x.m and x.n and x.k and ch is not None
            q = replace(p, output_resident=False) if self.training else p
            rows.append(residency_row(x.m, x.n, x.k, x.repeat, ch, False, self.objective, q, residency_slots(self.hw, q)))
        hw_idx = np.array([self._hw_of[i] for i, _ in todo], dtype=np.int64)
        canon = without_idle_reservations(self._hw_table, hw_idx, np.array(rows, dtype=np.float64))
        _, first, back = np.unique(
            np.column_stack([hw_idx.astype(np.float64), canon]), axis=0, return_index=True, return_inverse=True
        )
        out = evaluate_rows(self._hw_table, np.ascontiguousarray(hw_idx[first]), np.ascontiguousarray(canon[first]))
        for q, o in zip(todo, out[back.reshape(-1)], strict=True):
            self._memo[q] = (int(o[_CYC]), float(o[_EN]), int(o[_DRAM]))

    def cost(self, i: int, p: LayerResidency) -> Cost:
        """Cost of layer ``i`` with residency ``p`` (evaluated before by :meth:`evaluate`)."""
        return _FREE if self.fixed[i] else self._memo[(i, p)]

    def total(self, plan: Sequence[LayerResidency], span: Iterable[int] | None = None) -> Cost:
        """Sum of the costs of ``plan``'s layers (those of ``span`` only, when given), in layer order."""
        idx = range(len(plan)) if span is None else span
        costs = [self.cost(i, plan[i]) for i in idx]
        return (sum(c[0] for c in costs), sum(c[1] for c in costs), sum(c[2] for c in costs))


def cost_aware_plan(
    layers: Sequence[Layer], elem_bytes: Sequence[int], budget: float, costs: LayerCosts
) -> list[LayerResidency]:
    """The residency plan of ``layers`` whose kept tensors all pay on ``costs`` (module docstring),
    never ranking worse than no residency. ``elem_bytes``, ``budget`` as
    :func:`~nmsim.sim.residency.plan_residency` (bytes)."""
    none = [NO_RESIDENCY] * len(layers)
    last = last_uses(layers)
    banned: set[str] = set()
    best: list[LayerResidency] = none
    best_rank: tuple[float, ...] | None = None
    while True:
        plan = plan_residency(layers, elem_bytes, budget, "auto", banned)
        kept = [i for i, p in enumerate(plan) if p.output_resident]
        if not kept:
            break
        spans = {i: range(i, last[layers[i].name] + 1) for i in kept}
        alts = {
            i: drop_tensor(layers, plan, i, spans[i][-1], output_bytes(layers[i], elem_bytes[i])) for i in kept
        }
        pairs = [(j, plan[j]) for j in range(len(plan))]
        pairs += [(j, alts[i][j]) for i in kept for j in spans[i]]
        if best_rank is None:
            pairs += [(j, NO_RESIDENCY) for j in range(len(plan))]
        costs.evaluate(pairs)
        if best_rank is None:
            best_rank = rank(costs.objective, costs.total(none))
        total = costs.total(plan)
        here = rank(costs.objective, total)
        if here < best_rank:
            best, best_rank = plan, here
        harmful = []
        for i in kept:
            with_it, without = costs.total(plan, spans[i]), costs.total(alts[i], spans[i])
            alt = tuple(t - w + o for t, w, o in zip(total, with_it, without, strict=True))
            if rank(costs.objective, alt) < here:  # type: ignore[arg-type]
                harmful.append(layers[i].name)
        if not harmful:
            break
        banned.update(harmful)
    return best


def plan_for(
    layers: Sequence[Layer],
    hw: HardwareConfig,
    policy: str,
    compat: bool,
    objective: str | None = None,
    software: bool = False,
    training: bool = False,
) -> list[LayerResidency]:
    """The residency plan ``nmsim simulate``, sweeps and the training cost use for ``layers`` on ``hw``.

    Compat mode (SCALE-Sim) and policy ``none`` have no residency. Element bytes are each layer's
    dtype (else the config's default). ``objective``: the mapper's (default: the config's
    ``mapper.objective``), which also ranks plans; ``software``: N:M layers run through the
    software sparse kernel (their cost does not depend on the plan); ``training``: outputs go to
    DRAM anyway (module docstring).
    """
    check_policy(policy)
    if compat or policy == "none":
        return [NO_RESIDENCY] * len(layers)
    _, budget = residency_budget(hw)
    elem = [BYTES_PER_ELEMENT[layer.dtype or hw.default_dtype] for layer in layers]
    fit = plan_residency(layers, elem, budget, policy)
    if not any(p.output_resident for p in fit):
        return fit
    costs = LayerCosts(layers, hw, objective_code(objective or hw.mapper.objective), software, training)
    return cost_aware_plan(layers, elem, budget, costs)


def residency_key(hw: HardwareConfig) -> str:
    """Everything :func:`plan_for` reads of ``hw`` (the engine costs the plans on the whole config, so
    all of it but the name): configs with equal keys plan alike."""
    return hw.model_dump_json(exclude={"name"})


def training_plans(
    layers: Sequence[Layer], hw: HardwareConfig, policy: str = "auto"
) -> list[tuple[LayerResidency, LayerResidency]]:
    """Per layer, its (forward, data-gradient) residency in a training step.

    The forward plan is :func:`plan_for`'s on ``layers``, the data-gradient plan :func:`plan_for`'s on
    :func:`~nmsim.sim.residency.backward_layers`, both with ``training=True``. Outputs stay on chip
    *and* go to DRAM in training (the forward output is stashed for the weight gradient, a data
    gradient is the weight gradient's operand), so only the reads of resident inputs are saved.
    """
    fwd = plan_for(layers, hw, policy, False, training=True)
    bwd = list(reversed(plan_for(backward_layers(layers), hw, policy, False, training=True)))
    return list(zip(fwd, bwd, strict=True))
