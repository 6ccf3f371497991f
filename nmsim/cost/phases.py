"""What each layer's weights are during each phase of a trace's executed training schedule.

Resolution rules (docs/recipes_cost.md §2):

* A layer is *sparsified* when ``training.sparsified_layers`` names it, or — when that list is empty —
  when its final (trace) pattern is not dense. A sparsified layer takes its phase's per-layer override
  if there is one, else the phase's ``default`` state; any other layer is dense unless a phase names it
  in ``layers``. Attention matmuls (two activations) are always dense.
* MDGF decay factor: the phase records D at its first (``decay_factor_start``) and last
  (``decay_factor_end``) step; D is taken as linear in between, so it is zero inside the phase only
  when both ends are zero. Steps with D > 0 are *decaying* steps: the effective weight W⊙(Φ + D·Φ̄)
  has no zeros there.
* A phase's mask keeps ``density`` of the weights when the phase records it (unstructured GMP
  phases), else n/m of its pattern.
* Masks are recomputed at the phase start and then every ``mask_refresh_every`` steps
  (``0`` = once, at the phase start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nmsim.schemas.trace import Layer, Phase, PhaseLayerState, Trace
from nmsim.sim.gemm import layer_density
from nmsim.sparsity import NM, Pattern, parse_pattern


@dataclass(frozen=True)
class LayerPhase:
    """One layer during one phase.

    ``pattern``: 'dense', 'n:m' or 'unstructured' (the binary mask in force); ``density``: fraction
    of weights that mask keeps; ``decaying_steps``: steps with MDGF factor D > 0; ``refreshes``: mask
    recomputations in the phase; ``grad_mode``: how pruned weights get gradients.
    """

    layer: str
    pattern: str
    density: float
    decay_start: float
    decay_end: float
    grad_mode: str
    steps: int
    decaying_steps: int
    refreshes: int

    @property
    def sparse(self) -> bool:
        """True when a mask is in force (pattern not dense)."""
        return not self.sparsity.is_dense

    @property
    def binary_steps(self) -> int:
        """Steps with a binary mask (D = 0)."""
        return self.steps - self.decaying_steps

    @property
    def sparsity(self) -> Pattern:
        """``pattern`` as a typed value."""
        return parse_pattern(self.pattern)

    @property
    def nm(self) -> NM | None:
        return self.sparsity.nm

    @property
    def pruned_weights_get_gradient(self) -> bool:
        """At a binary step: STE and SR-STE pass the gradient to pruned weights, autodiff does not."""
        return self.grad_mode in ("ste", "srste")


def sparsified_layers(trace: Trace) -> frozenset[str]:
    """Names of the layers the recipe sparsifies (see the module docstring)."""
    rec = trace.training
    if rec is not None and rec.sparsified_layers:
        return frozenset(rec.sparsified_layers)
    return frozenset(layer.name for layer in trace.layers if not layer.sparsity.is_dense)


def decaying_steps(d_start: float, d_end: float, steps: int) -> int:
    """Steps of a phase with D > 0 when D runs linearly from ``d_start`` (first) to ``d_end`` (last step)."""
    if steps == 1:
        return 1 if d_start > 0 else 0
    if d_start > 0 and d_end > 0:
        return steps
    if d_start > 0 or d_end > 0:
        return steps - 1
    return 0


def refresh_count(steps: int, every: int) -> int:
    """Mask recomputations in a phase of ``steps`` steps: at step 0, then every ``every`` (0 = once)."""
    return math.ceil(steps / every) if every > 0 else 1


def _density(layer: Layer, state: PhaseLayerState) -> float:
    """Fraction of weights the phase's mask keeps: recorded (GMP phases), else n/m, else measured."""
    pattern = state.sparsity
    if pattern.is_dense:
        return 1.0
    if state.density is not None:
        return state.density
    if pattern.nm is None:  # unstructured with no density recorded for the phase:
        # the layer's measured (final) density, else none pruned
        return layer_density(layer) if layer.sparsity.is_unstructured else 1.0
    return pattern.nm.density


def layer_phase(trace: Trace, phase: Phase, layer: Layer, sparsified: frozenset[str]) -> LayerPhase:
    """The state of ``layer`` during ``phase``."""
    if layer.op == "attention":
        state = None
    elif layer.name in phase.layers:
        state = phase.layers[layer.name]
    elif layer.name in sparsified:
        state = phase.default
    else:
        state = None
    if state is None or state.sparsity.is_dense:
        return LayerPhase(layer.name, "dense", 1.0, 0.0, 0.0, phase.grad_mode, phase.steps, 0, 0)
    dec = decaying_steps(state.decay_factor_start, state.decay_factor_end, phase.steps)
    return LayerPhase(
        layer=layer.name,
        pattern=state.pattern,
        density=_density(layer, state),
        decay_start=state.decay_factor_start,
        decay_end=state.decay_factor_end,
        grad_mode=phase.grad_mode,
        steps=phase.steps,
        decaying_steps=dec,
        refreshes=refresh_count(phase.steps, phase.mask_refresh_every),
    )
