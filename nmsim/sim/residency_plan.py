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

import itertools
from collections.abc import Collection, Sequence

import numpy as np

from nmsim.dtypes import BYTES_PER_ELEMENT
from nmsim.engine.kernel import evaluate_rows, without_idle_reservations
from nmsim.engine.layout import GEMM, GEMM_LEN, OUT_FIELDS
from nmsim.engine.params import hw_vector
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.gemm import layer_guarantees, layer_mode, objective_code, residency_row, residency_slots
from nmsim.sim.modes import ModeChoice
from nmsim.sim.residency import (
    NO_RESIDENCY,
    LayerResidency,
    backward_layers,
    check_policy,
    last_uses,
    output_bytes,
    plan_residency,
    reads_of,
    residency_budget,
)
from nmsim.sim.software_mode import runs_in_software

Cost = tuple[int, float, int]
"""(cycles, energy in pJ, DRAM bytes) of one layer or a sum of layers."""

_CYC, _EN, _DRAM = (OUT_FIELDS.index(f) for f in ("cycles", "energy_pj", "dram_bytes"))
_A, _O, _W, _R0 = GEMM["input_resident"], GEMM["output_resident"], GEMM["weight_resident"], GEMM["reserved_0"]


def rank(objective: int, cost: Cost) -> tuple[float, ...]:
    """Sort key of a plan's total ``cost`` on ``objective`` (0 latency, 1 energy, 2 edp): lower is better."""
    c, e, d = cost
    if objective == 1:
        return (e, c, d)
    if objective == 2:
        return (c * e, c, d)
    return (c, e, d)


class LayerCosts:
    """Engine cost of each layer of ``layers`` on ``hw`` under residency hooks.

    A layer's hooks are (input_resident, output_resident, weight_resident, reserved bytes in the
    activation level); rows are :func:`nmsim.sim.gemm.residency_row`'s, costed in batches through the
    engine's row kernel. Layers through the software sparse kernel cost nothing here (the same with
    any plan).
    """

    def __init__(
        self, layers: Sequence[Layer], hw: HardwareConfig, objective: int, software: bool, training: bool
    ) -> None:
        self.objective, self.training = objective, training
        self.live = np.array([not runs_in_software(x, software) for x in layers])
        dtypes = sorted({x.dtype or hw.default_dtype for x in layers})
        self._hw_table = np.ascontiguousarray(np.stack([hw_vector(hw, dt) for dt in dtypes]))
        self._hw_of = np.array([dtypes.index(x.dtype or hw.default_dtype) for x in layers], dtype=np.int64)
        slots = residency_slots(hw, LayerResidency(reserved_bytes=1))  # marks the activation level's slot
        self._slot = _R0 + slots.index(1.0)
        self._base = np.zeros((len(layers), GEMM_LEN))
        modes: dict[tuple[object, ...], ModeChoice] = {}  # layers alike in what the mode choice reads
        keys, group = graph_of(layers).row_groups  # layers alike in shape and mode share a row
        live = np.flatnonzero(self.live)
        groups, first = np.unique(group[live], return_index=True)
        table = np.zeros((len(keys), GEMM_LEN))
        for g, i in zip(groups.tolist(), live[first].tolist(), strict=True):
            x = layers[i]
            key = keys[g][3]
            mode = modes.get(key)
            if mode is None:
                mode = modes[key] = layer_mode(x, hw, False)
            table[g] = residency_row(x.m, x.n, x.k, x.repeat, mode, False, objective, NO_RESIDENCY, slots)
        self._base[live] = table[group[live]]

    def fingerprint(self) -> bytes:
        """Everything :meth:`costs` reads, as bytes: equal fingerprints cost every plan alike."""
        head = np.array([self.objective, self.training, self._slot, *self._hw_table.shape], dtype=np.int64)
        parts = (head, self.live, self._hw_of, self._hw_table, self._base)
        return b"|".join(np.ascontiguousarray(a).tobytes() for a in parts)

    def costs(self, idx: np.ndarray, hooks: np.ndarray) -> np.ndarray:
        """Costs (rows: cycles, pJ, DRAM bytes) of layers ``idx`` with ``hooks`` (rows: input, output,
        weight resident as 0/1, reserved bytes); software layers cost 0."""
        res = np.zeros((len(idx), 3))
        live = self.live[idx]
        idx, hooks = idx[live], hooks[live]
        rows = self._base[idx]
        rows[:, _A], rows[:, _W], rows[:, self._slot] = hooks[:, 0], hooks[:, 2], hooks[:, 3]
        rows[:, _O] = 0.0 if self.training else hooks[:, 1]
        hw_idx = self._hw_of[idx]
        canon = np.column_stack(
            [hw_idx.astype(np.float64), without_idle_reservations(self._hw_table, hw_idx, rows)]
        )
        # distinct (hardware, row) pairs (byte for byte), evaluated once
        whole = np.ascontiguousarray(canon).view(np.dtype((np.void, canon.shape[1] * canon.itemsize)))
        _, first, back = np.unique(whole.ravel(), return_index=True, return_inverse=True)
        back = back.reshape(-1)
        distinct = canon[first]
        out = evaluate_rows(
            self._hw_table,
            np.ascontiguousarray(distinct[:, 0].astype(np.int64)),
            np.ascontiguousarray(distinct[:, 1:]),
        )
        res[live] = out[back][:, [_CYC, _EN, _DRAM]]
        res[:, [0, 2]] = np.trunc(res[:, [0, 2]])  # whole cycles and bytes, as GemmResult takes them
        return res


def _hooks(plan: Sequence[LayerResidency]) -> np.ndarray:
    return np.array(
        [(p.input_resident, p.output_resident, p.weight_resident, p.reserved_bytes) for p in plan],
        dtype=np.float64,
    )


def _keep_masks(layers: Sequence[Layer], last: dict[str, int]) -> dict[int, np.ndarray]:
    """Per producer ``i`` with a reader: over layers ``i``..its last reader, the factors (1 keeps, 0
    clears) of the input, output and weight hooks once its output goes to DRAM
    (:func:`~nmsim.sim.residency.drop_tensor` on hook arrays; the producer's output hook is cleared)."""
    out = {}
    for i, layer in enumerate(layers):
        if layer.name in last:
            keep = [(1.0 - a, 1.0, 1.0 - w) for a, w, _ in reads_of(layers, i, last[layer.name])]
            keep[0] = (keep[0][0], 0.0, keep[0][2])
            out[i] = np.array(keep)
    return out


class LayerGraph:
    """What the planner reads of ``layers`` alone, worked out once per list of layers: the last
    reader of each producer, the keep masks (:func:`_keep_masks`), each layer's row key (shape and
    what the mode choice reads) and the fit plans met so far (:func:`plan_residency` is a pure
    function of the layers and its arguments)."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)  # held, so that the ids keying it stay theirs
        self.last = last_uses(self.layers)
        self._masks: dict[int, np.ndarray] | None = None
        self._row_groups: tuple[list[tuple[object, ...]], np.ndarray] | None = None
        self._fits: dict[tuple[object, ...], list[LayerResidency]] = {}
        self._structure_id: int | None = None

    @property
    def structure_id(self) -> int:
        """Id of what the planner reads of the layers (names, ops, edges, m, n, repeat): graphs with
        equal ids plan alike on equal costs. Ids are never reused."""
        if self._structure_id is None:
            key = tuple(
                (x.name, x.op, tuple(x.inputs or ()), tuple(x.residual or ()), x.m, x.n, x.repeat)
                for x in self.layers
            )
            sid = _STRUCTURES.get(key)
            if sid is None:
                if len(_STRUCTURES) >= _GRAPHS_HELD:
                    _STRUCTURES.clear()
                sid = _STRUCTURES[key] = next(_STRUCTURE_IDS)
            self._structure_id = sid
        return self._structure_id

    @property
    def masks(self) -> dict[int, np.ndarray]:
        if self._masks is None:
            self._masks = _keep_masks(self.layers, self.last)
        return self._masks

    @property
    def row_groups(self) -> tuple[list[tuple[object, ...]], np.ndarray]:
        """(distinct row keys (m, n, repeat, (k, guarantees, k runs, mask histogram)), each layer's
        index into them): layers with equal keys have equal mode choices and base rows on any config."""
        if self._row_groups is None:
            ids: dict[tuple[object, ...], int] = {}
            group = []
            for x in self.layers:
                stats = (x.mask_stats.block, *x.mask_stats.histogram) if x.mask_stats else None
                key = (x.m, x.n, x.repeat, (x.k, layer_guarantees(x), x.conv_k_runs, stats))
                group.append(ids.setdefault(key, len(ids)))
            self._row_groups = (list(ids), np.array(group, dtype=np.int64))
        return self._row_groups

    def fit(
        self, elem_bytes: Sequence[int], budget: float, policy: str, banned: Collection[str] = ()
    ) -> list[LayerResidency]:
        """:func:`plan_residency` of the layers (the list is shared: do not modify it)."""
        key = (tuple(elem_bytes), budget, policy, frozenset(banned))
        plan = self._fits.get(key)
        if plan is None:
            plan = self._fits[key] = plan_residency(self.layers, elem_bytes, budget, policy, banned)
        return plan


_GRAPHS: dict[tuple[int, ...], LayerGraph] = {}
_STRUCTURES: dict[tuple[object, ...], int] = {}
_STRUCTURE_IDS = itertools.count()
_GRAPHS_HELD = 64


def graph_of(layers: Sequence[Layer]) -> LayerGraph:
    """The :class:`LayerGraph` of ``layers``, memoised on the identity of its (frozen) layers."""
    key = tuple(map(id, layers))
    graph = _GRAPHS.get(key)
    if graph is None:
        if len(_GRAPHS) >= _GRAPHS_HELD:
            _GRAPHS.clear()
        graph = _GRAPHS[key] = LayerGraph(layers)
    return graph


def _total(costs: np.ndarray) -> Cost:
    """Sum of per-layer costs in layer order (as :func:`nmsim.sim.report.totals_of` sums)."""
    ints = costs[:, [0, 2]].astype(np.int64).sum(axis=0).tolist()
    return (ints[0], sum(costs[:, 1].tolist()), ints[1])


def cost_aware_plan(
    layers: Sequence[Layer],
    elem_bytes: Sequence[int],
    budget: float,
    costs: LayerCosts,
    fit: list[LayerResidency] | None = None,
) -> list[LayerResidency]:
    """The residency plan of ``layers`` whose kept tensors all pay on ``costs`` (module docstring),
    never ranking worse than no residency. ``elem_bytes``, ``budget`` as
    :func:`~nmsim.sim.residency.plan_residency` (bytes); ``fit``: its plan with nothing banned, when
    already made."""
    n = len(layers)
    none = [NO_RESIDENCY] * n
    graph = graph_of(layers)
    all_idx = np.arange(n)
    best: list[LayerResidency] = none
    best_rank = rank(costs.objective, _total(costs.costs(all_idx, _hooks(none))))
    banned: set[str] = set()
    masks = graph.masks
    while True:
        plan = fit if fit is not None and not banned else graph.fit(elem_bytes, budget, "auto", banned)
        kept = [i for i, p in enumerate(plan) if p.output_resident]
        if not kept:
            break
        # every kept tensor's alternative: its lifetime's hooks with only it sent to DRAM
        lengths = np.array([len(masks[i]) for i in kept])
        span_idx = np.concatenate([np.arange(i, i + len(masks[i])) for i in kept])
        hooks = _hooks(plan)
        alts = hooks[span_idx]
        alts[:, :3] *= np.concatenate([masks[i] for i in kept])
        sizes = [output_bytes(layers[i], elem_bytes[i]) for i in kept]
        alts[:, 3] -= np.repeat(np.array(sizes, dtype=np.float64), lengths)
        out = costs.costs(np.concatenate([all_idx, span_idx]), np.concatenate([hooks, alts]))
        mine = out[:n]
        total = _total(mine)
        here = rank(costs.objective, total)
        if here < best_rank:
            best, best_rank = plan, here
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        deltas = np.add.reduceat(out[n:] - mine[span_idx], starts, axis=0)
        harmful = [
            layers[i].name
            for i, d in zip(kept, deltas.tolist(), strict=True)
            if rank(costs.objective, (total[0] + d[0], total[1] + d[1], total[2] + d[2])) < here
        ]
        if not harmful:
            break
        banned.update(harmful)
    return list(best)


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
    elem, budget, fit = _fit_plan(layers, hw)
    if not any(p.output_resident for p in fit):
        return list(fit)
    costs = LayerCosts(layers, hw, objective_code(objective or hw.mapper.objective), software, training)
    # equal graphs, element sizes, budgets and costing inputs plan alike (e.g. two N:M choices that
    # land in the same hardware mode): the plan is made once
    key = (graph_of(layers).structure_id, tuple(elem), budget, policy, costs.fingerprint())
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLANS_HELD:
            _PLANS.clear()
        plan = _PLANS[key] = cost_aware_plan(layers, elem, budget, costs, fit)
    return list(plan)


_PLANS: dict[tuple[object, ...], list[LayerResidency]] = {}
_PLANS_HELD = 512


def clear_plan_caches() -> None:
    """Forget every memoised graph and plan (benchmarks time a cold planner with it)."""
    _GRAPHS.clear()
    _STRUCTURES.clear()
    _PLANS.clear()


def fit_key(hw: HardwareConfig) -> tuple[str | None, float, str]:
    """Everything the fit plan (:func:`~nmsim.sim.residency.plan_residency` as :func:`plan_for` calls
    it) reads of ``hw``: the activation level, its budget (bytes) and the default dtype."""
    name, budget = residency_budget(hw)
    return name, budget, hw.default_dtype


def fit_keeps(layers: Sequence[Layer], hw: HardwareConfig) -> bool:
    """Does the fit plan of ``layers`` on ``hw`` keep any tensor? When not, :func:`plan_for` returns
    no residency without costing anything, alike for every config with the same :func:`fit_key`."""
    return any(p.output_resident for p in _fit_plan(layers, hw)[2])


def _fit_plan(layers: Sequence[Layer], hw: HardwareConfig) -> tuple[list[int], float, list[LayerResidency]]:
    """(bytes per element of each layer's output, the budget in bytes, the fit plan with policy
    ``auto``) of ``layers`` on ``hw``: what :func:`plan_for` starts from."""
    _, budget = residency_budget(hw)
    elem = [BYTES_PER_ELEMENT[layer.dtype or hw.default_dtype] for layer in layers]
    return elem, budget, graph_of(layers).fit(elem, budget, "auto")


def residency_key(hw: HardwareConfig, costed: bool = True) -> str:
    """Everything :func:`plan_for` reads of ``hw``: configs with equal keys plan alike. ``costed``:
    some plan keeps a tensor (:func:`fit_keeps`), so the engine costs it on the whole config (all of
    it but the name); else only :func:`fit_key` matters."""
    return hw.model_dump_json(exclude={"name"}) if costed else repr(fit_key(hw))


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
