"""Inter-layer residency: which layer outputs could stay on chip until their consumers have read them.

A trace whose layers carry producer→consumer edges (``Layer.inputs``, ``Layer.residual``, in
execution order) can keep a layer's output in the on-chip level that holds activations instead of
writing it to DRAM and reading it back. The planner walks the layers in order with a liveness
analysis:

- a tensor (one layer's output, ``m·n·repeat`` elements) is live from its producer to its last
  consumer (through ``inputs`` or ``residual``);
- when a layer finishes, its output stays resident if it has a consumer and every tensor resident at
  that point, its own inputs included, plus this output fits in ``budget`` bytes; otherwise it goes to
  DRAM as today (first come, first kept: a resident tensor is never evicted, so a check at creation
  suffices);
- a layer reads its activation operand on chip when every producer in ``inputs`` left its output
  resident (``inputs == []``, the model's input, comes from DRAM), and its residual add on chip when
  every producer in ``residual`` did;
- an ``attention`` layer with two producers multiplies two activations, ``inputs = [left, right]``
  (q·kᵀ: [q, k]; probs·v: [score, v]): its left (activation) operand is on chip when the left
  producer's output is, its right operand (the engine's weight slot) when the right producer's is
  (:func:`operand_producers`). Its right producer stays live until this layer has read it, as any
  other input. Other layers keep the rule above: all ``inputs`` feed the activation operand.

``budget`` is the share of the activation-holding level the planner may fill with resident tensors;
the rest stays free for the layer's own tiles (:func:`reserved_bytes` says how much the mapper loses).
Layers without edges (``inputs is None``) neither keep nor find anything resident: their traffic is
today's DRAM round trip. Policy ``none`` reproduces that round trip for every layer.

This module is the pure liveness and fit logic (:func:`plan_residency`, :func:`drop_tensor`). Fitting
is not paying: the reserved bytes shrink every overlapping layer's tiles, so the plan ``nmsim
simulate``, sweeps and the training cost use is :func:`nmsim.sim.residency_plan.plan_for`, which keeps
a tensor only where the engine finds that it lowers the plan's cost (``banned`` here are the
tensors it drops) and never returns a plan that ranks worse than no residency.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer

ResidencyPolicy = Literal["auto", "none"]
POLICIES: tuple[str, ...] = ("auto", "none")


@dataclass(frozen=True)
class LayerResidency:
    """Where one layer finds its operands and leaves its output (bytes are on-chip bytes)."""

    input_resident: bool = False  # its activation operand is on chip: no DRAM read of it
    output_resident: bool = False  # its output stays on chip for its consumers: no DRAM write
    residual_resident: bool = False  # the tensors its residual add reads are on chip
    reserved_bytes: int = 0  # on-chip bytes held by resident tensors while it runs (its own included)
    weight_resident: bool = False  # its second operand (attention's k or v, an activation) is on chip


NO_RESIDENCY = LayerResidency()


def check_policy(policy: str) -> ResidencyPolicy:
    """``policy`` if allowed, else a one-line :class:`NmsimInputError`."""
    if policy not in POLICIES:
        raise NmsimInputError("residency", f"one of {', '.join(POLICIES)}", policy)
    return policy  # type: ignore[return-value]


def output_bytes(layer: Layer, elem_bytes: int) -> int:
    """Bytes of ``layer``'s output tensor: m·n·repeat elements of ``elem_bytes``."""
    assert layer.m and layer.n
    return layer.m * layer.n * layer.repeat * elem_bytes


def last_uses(layers: Sequence[Layer]) -> dict[str, int]:
    """Index of the last layer that reads each producer's output (producers with no reader absent)."""
    last: dict[str, int] = {}
    for i, layer in enumerate(layers):
        for name in (*(layer.inputs or ()), *(layer.residual or ())):
            last[name] = i
    return last


def operand_producers(layer: Layer) -> tuple[list[str], list[str]]:
    """(producers of the activation operand, producers of the second operand) of ``layer``: an
    ``attention`` layer with exactly two producers reads ``[left, right]``; every other layer reads
    all its ``inputs`` as the activation operand and has weights as its second operand ([])."""
    inputs = layer.inputs or []
    if layer.op == "attention" and len(inputs) == 2:
        return [inputs[0]], [inputs[1]]
    return list(inputs), []


def plan_residency(
    layers: Sequence[Layer],
    elem_bytes: Sequence[int],
    budget: float,
    policy: str = "auto",
    banned: Collection[str] = (),
) -> list[LayerResidency]:
    """Residency of every layer by fit alone (see the module docstring). ``elem_bytes[i]``: bytes per
    element of layer ``i``'s output; ``budget``: on-chip bytes resident tensors may use (bytes);
    ``banned``: producers whose output goes to DRAM even where it fits (the cost-aware planner's
    drops, :mod:`nmsim.sim.residency_plan`)."""
    if check_policy(policy) == "none" or budget <= 0:
        return [NO_RESIDENCY] * len(layers)
    last = last_uses(layers)
    freed_after: dict[int, list[str]] = {}  # layer index → producers whose last reader it is
    for name, use in last.items():
        freed_after.setdefault(use, []).append(name)
    live: dict[str, int] = {}  # producer name → bytes resident on chip
    held = 0  # their sum (bytes)
    plan: list[LayerResidency] = []
    for i, layer in enumerate(layers):
        inputs, residual = layer.inputs, layer.residual or []
        left, right = operand_producers(layer)
        in_res = bool(left) and all(name in live for name in left)
        w_res = bool(right) and all(name in live for name in right)
        res_res = bool(residual) and all(name in live for name in residual)
        size = output_bytes(layer, elem_bytes[i])
        keep = (
            inputs is not None and layer.name in last and layer.name not in banned and held + size <= budget
        )
        if keep:
            live[layer.name] = size
            held += size
        plan.append(LayerResidency(in_res, keep, res_res, held, w_res))
        for name in freed_after.get(i, ()):
            held -= live.pop(name, 0)
    return plan


def reserved_bytes(plan: Sequence[LayerResidency]) -> int:
    """The most on-chip bytes resident tensors hold at any layer of ``plan`` (bytes)."""
    return max((p.reserved_bytes for p in plan), default=0)


def drop_tensor(
    layers: Sequence[Layer], plan: Sequence[LayerResidency], index: int, last: int, size: int
) -> list[LayerResidency]:
    """``plan`` with layer ``index``'s resident output (``size`` bytes, last read by layer ``last``)
    sent to DRAM instead, nothing else changed: it is no longer reserved from its producer to its
    last reader, and the layers that read it find that operand in DRAM."""
    out = list(plan)
    out[index] = replace(out[index], output_resident=False)
    for j, (act, second, residual) in enumerate(reads_of(layers, index, last), start=index):
        p = out[j]
        out[j] = replace(
            p,
            reserved_bytes=p.reserved_bytes - size,
            input_resident=p.input_resident and not act,
            weight_resident=p.weight_resident and not second,
            residual_resident=p.residual_resident and not residual,
        )
    return out


def reads_of(layers: Sequence[Layer], index: int, last: int) -> list[tuple[bool, bool, bool]]:
    """For each layer from ``index`` to ``last``: does it read layer ``index``'s output as its
    activation operand, as its second operand (:func:`operand_producers`), as its residual?"""
    name = layers[index].name
    out = []
    for layer in layers[index : last + 1]:
        left, right = operand_producers(layer)
        out.append((name in left, name in right, name in (layer.residual or ())))
    return out


RESIDENT_SHARE = 0.5
"""Share of the activation level's usable bytes that resident tensors may fill; the rest stays
free for the layer's own tiles."""


def residency_budget(hw: HardwareConfig) -> tuple[str | None, float]:
    """(name of the on-chip level holding activations, bytes resident tensors may use there).

    (None, 0) when activations have no on-chip level: nothing can stay.
    """
    slot = hw.memory.level_of("activations")
    if slot < 0:
        return None, 0.0
    level = hw.memory.levels[slot]
    return level.name, RESIDENT_SHARE * level.usable_bytes


def backward_layers(layers: Sequence[Layer]) -> list[Layer]:
    """The data-gradient graph of ``layers``: reversed, each layer's dgrad reading the gradients its
    forward consumers' dgrads produce and producing its own dX (m×k, so ``n`` and ``k`` swap).

    A residual consumer's gradient is counted as arriving with the data gradients (an
    approximation: the layer's gradient is on chip only if every consumer's is). Every backward
    layer is planned as ``linear`` (its ``inputs`` are gradients, all feeding the activation operand):
    an attention layer's dgrad keeps the one-operand rule.
    """
    consumers: dict[str, list[str]] = {}
    for layer in layers:
        for name in (*(layer.inputs or ()), *(layer.residual or ())):
            consumers.setdefault(name, []).append(layer.name)
    out = []
    for layer in reversed(layers):
        inputs = None if layer.inputs is None else consumers.get(layer.name, [])
        update = {"n": layer.k, "k": layer.n, "inputs": inputs, "residual": None, "op": "linear"}
        out.append(layer.model_copy(update=update))
    return out
