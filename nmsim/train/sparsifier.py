"""The ASP-like entry point: one object from a model and a recipe, one call per optimizer step.

::

    sp = Sparsifier(model, "mdgf", total_steps=1500, nm="1:8")   # masks for step 0 are ready
    for step in range(1500):
        loss = criterion(model(x), y); loss.backward()
        optimizer.step(); optimizer.zero_grad()
        sp.step()                                                  # advance the recipe by one step

or ``sp.attach(optimizer)`` once, and the loop needs no ``sp.step()`` (an optimizer post-step hook).

The sparsifier replaces the ``forward`` of each selected ``nn.Linear``/``nn.Conv2d`` (parameters and
``state_dict`` keys are untouched) so that it uses W̃ = W ⊙ S, S = Φ + D·(1 − Φ), with the gradient rule of
the stage (:mod:`nmsim.train.functions`). Masks are recomputed from |W| when the plan says so; between
refreshes they are state, saved by :meth:`state_dict`. Under ``DistributedDataParallel`` every rank holds
the same weights and therefore computes the same masks (no communication needed).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from nmsim.errors import NmsimInputError
from nmsim.limits import MAX_STEPS, check_int
from nmsim.sparsity import Pattern, Unstructured, parse_pattern
from nmsim.train.functions import effective_weight
from nmsim.train.masks import nm_mask, unstructured_mask
from nmsim.train.plan import Plan, StepState
from nmsim.train.recipes import Recipe, load_recipe
from nmsim.train.selectors import select_layers


@dataclass
class _LayerRun:
    """What a patched layer's forward uses right now."""

    scale: torch.Tensor
    grad_mode: str
    lam: float
    decay: float = 0.0


@dataclass
class Segment:
    """A run of executed steps ``[start, end)`` with the same stage, pattern, grad mode and refresh period.

    A decay stage splits where its factor D reaches 0: before, the pruned weights still compute
    (dense cost); from there on they are exactly zero (N:M cost).
    """

    start: int
    end: int
    stage: int | None
    stage_name: str
    kind: str
    pattern: Pattern
    density: float
    decay_start: float
    decay_end: float
    grad_mode: str
    refresh_every: int

    def key(self) -> tuple:
        return (self.stage, self.kind, self.pattern, self.density, self.grad_mode, self.refresh_every,
                self.decay_end > 0.0)  # fmt: skip

    def to_state(self) -> dict[str, Any]:
        """Plain values for a checkpoint (the pattern as its spelling, as checkpoints have always held)."""
        return {**vars(self), "pattern": str(self.pattern)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Segment:
        """The segment :meth:`to_state` saved (an unstructured pattern gets its recorded density back)."""
        return cls(
            **{**state, "pattern": parse_pattern(state["pattern"], "segments.pattern", state["density"])}
        )


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(getattr(model, "module", None), nn.Module) else model


class Sparsifier:
    """Applies ``recipe`` to ``model`` for ``total_steps`` optimizer steps.

    Args:
        model: any ``nn.Module`` (a ``DistributedDataParallel`` wrapper is unwrapped).
        recipe: shipped recipe name, YAML/JSON path, parsed document or :class:`Recipe`.
        total_steps: run length in optimizer steps (default: the recipe's ``total_steps``).
        nm, decay, grad_mode, structure, targets, decay_rate, zero_at: overrides of the recipe's knobs
            (see :meth:`Recipe.with_overrides`).
    """

    def __init__(
        self,
        model: nn.Module,
        recipe: str | os.PathLike[str] | dict[str, Any] | Recipe,
        total_steps: int | None = None,
        *,
        nm: str | None = None,
        decay: str | None = None,
        grad_mode: str | None = None,
        structure: str | None = None,
        targets: list[str] | str | None = None,
        decay_rate: float | None = None,
        zero_at: int | float | None = None,
    ) -> None:
        rec = load_recipe(recipe).with_overrides(
            nm, decay, grad_mode, structure, targets, decay_rate, zero_at
        )
        total = total_steps or rec.total_steps
        if total is None:
            raise NmsimInputError("total_steps", "give total_steps or set it in the recipe")
        check_int("total_steps", total, 1, MAX_STEPS)
        self.recipe: Recipe = rec
        plan = Plan(rec, int(total))
        self.model = _unwrap(model)
        self.axis = rec.axis
        self._stage_layers: dict[int, tuple[str, ...]] = {}
        layers: dict[str, nn.Module] = {}
        for span in plan.spans:
            if span.stage.modifier == "dense":
                self._stage_layers[span.index] = ()
                continue
            tg, ig = plan.targets_for(span.index)
            chosen = select_layers(self.model, tg, ig, f"stages.{span.index}.targets")
            self._stage_layers[span.index] = tuple(chosen)
            layers.update(chosen)
        self.layers: dict[str, nn.Module] = {n: m for n, m in self.model.named_modules() if n in layers}
        lengths = [m.weight.shape[self.axis % m.weight.dim()] for m in self.layers.values()]
        self.plan = Plan(rec, int(total), max_group=math.gcd(*lengths) if lengths else None)
        self.masks: dict[str, torch.Tensor] = {}
        self._mask_keys: dict[str, str] = {}
        self._run: dict[str, _LayerRun] = {}
        self._originals: dict[str, Any] = {}
        self.segments: list[Segment] = []
        self.step_count = 0
        for name, mod in self.layers.items():
            self._patch(name, mod)
        self._enter(0)

    # ------------------------------------------------------------------ forward patching
    def _patch(self, name: str, mod: nn.Module) -> None:
        self._originals[name] = mod.__dict__.get("forward")
        orig = mod.forward
        run = self._run
        is_conv = isinstance(mod, nn.Conv2d)

        def forward(x: torch.Tensor) -> torch.Tensor:
            r = run.get(name)
            if r is None:
                return orig(x)
            w = effective_weight(mod.weight, r.scale, r.grad_mode, r.lam)
            return mod._conv_forward(x, w, mod.bias) if is_conv else F.linear(x, w, mod.bias)

        mod.forward = forward

    def remove(self) -> None:
        """Restore the layers' own ``forward`` (weights are left as they are)."""
        for name, mod in self.layers.items():
            orig = self._originals.get(name)
            if orig is None:
                mod.__dict__.pop("forward", None)
            else:
                mod.forward = orig
        self._run.clear()

    # ------------------------------------------------------------------ schedule
    @property
    def total_steps(self) -> int:
        return self.plan.total_steps

    @property
    def state(self) -> StepState:
        """What the recipe prescribes for the current step (the next forward pass)."""
        return self.plan.state(min(self.step_count, self.total_steps - 1))

    def layers_in_force(self, st: StepState | None = None) -> tuple[str, ...]:
        """Names of the layers the stage of ``st`` (default: current) sparsifies."""
        st = st or self.state
        return self._stage_layers.get(st.stage, ()) if st.active else ()

    def _compute_mask(self, w: torch.Tensor, st: StepState) -> torch.Tensor:
        if st.pattern is None:
            return unstructured_mask(w, st.density)
        return nm_mask(w, st.pattern.n, st.pattern.m, self.axis)

    @torch.no_grad()
    def _enter(self, step: int) -> None:
        st = self.plan.state(step)
        active = set(self.layers_in_force(st))
        key = f"{st.sparsity}@{st.density:.6g}"  # kept as text: checkpoints store it
        previous = dict(self._run)
        self._run.clear()
        for name in self.layers:
            if name not in active:
                continue
            w = self.layers[name].weight
            prev = previous.get(name)
            if (
                not st.refresh
                and self._mask_keys.get(name) == key
                and prev is not None
                and prev.decay == st.decay
            ):
                # mask and D unchanged: reuse the cached scale
                self._run[name] = _LayerRun(prev.scale, st.grad_mode, st.srste_lambda, st.decay)
                continue
            if st.refresh or self._mask_keys.get(name) != key:
                try:
                    self.masks[name] = self._compute_mask(w, st)
                except NmsimInputError as exc:
                    raise NmsimInputError(
                        f"{exc.field} (layer {name}, step {step})", exc.allowed, exc.got
                    ) from None
                self._mask_keys[name] = key
                if st.hard:
                    w.mul_(self.masks[name])
            self._run[name] = _LayerRun(self._scale(name, st.decay), st.grad_mode, st.srste_lambda, st.decay)

    def _scale(self, name: str, decay: float) -> torch.Tensor:
        mask = self.masks[name]
        dtype = self.layers[name].weight.dtype
        scale = mask.to(dtype)
        if decay > 0.0:
            scale = scale + decay * (~mask).to(dtype)
        return scale

    def attach(self, optimizer: torch.optim.Optimizer) -> Any:
        """Call :meth:`step` after every ``optimizer.step()`` (the optimizer's post-step hook), so a
        training loop needs no ``sp.step()`` of its own. Returns the hook handle (``.remove()`` detaches).
        Call either this or :meth:`step` per optimizer step, never both."""
        return optimizer.register_step_post_hook(lambda _opt, _args, _kwargs: self.step())

    @torch.no_grad()
    def step(self) -> StepState:
        """Finish the current optimizer step and prepare the next one; returns the finished step's state."""
        if self.step_count >= self.total_steps:
            raise NmsimInputError("step", f"the recipe's {self.total_steps} steps are already done")
        st = self.plan.state(self.step_count)
        if st.hard:
            for name in self.layers_in_force(st):
                self.layers[name].weight.mul_(self.masks[name])
        self._record(self.step_count, st)
        self.step_count += 1
        if self.step_count < self.total_steps:
            self._enter(self.step_count)
        return st

    def _record(self, step: int, st: StepState) -> None:
        density = round(st.density, 6)
        pattern = Unstructured(density) if st.sparsity.is_unstructured else st.sparsity  # merged at 6 digits
        seg = Segment(step, step + 1, st.stage, st.stage_name, st.kind, pattern, density,
                      st.decay if st.active else 0.0, st.decay if st.active else 0.0, st.grad_mode,
                      st.refresh_every)  # fmt: skip
        last = self.segments[-1] if self.segments else None
        if last is not None and last.end == step and last.key() == seg.key():
            last.end = step + 1
            last.decay_end = seg.decay_end
        else:
            self.segments.append(seg)

    # ------------------------------------------------------------------ results
    @torch.no_grad()
    def effective_weights(self) -> dict[str, torch.Tensor]:
        """W̃ of every sparsified layer as the next forward pass would use it."""
        out = {}
        for name, mod in self.layers.items():
            r = self._run.get(name)
            out[name] = mod.weight.detach() * r.scale if r is not None else mod.weight.detach().clone()
        return out

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Bake W ← W̃ into the stored weights (e.g. before export for deployment)."""
        for name, w in self.effective_weights().items():
            self.layers[name].weight.copy_(w)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Step counter, masks and the executed schedule: everything needed to resume exactly."""
        return {
            "step": self.step_count,
            "total_steps": self.total_steps,
            "recipe": self.recipe.model_dump(mode="json"),
            "masks": {k: v.clone() for k, v in self.masks.items()},
            "mask_keys": dict(self._mask_keys),
            "segments": [s.to_state() for s in self.segments],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` taken from a sparsifier built with the same recipe and length."""
        if state.get("total_steps") != self.total_steps:
            raise NmsimInputError(
                "total_steps", f"checkpoint is for {state.get('total_steps')} steps", self.total_steps
            )
        if state.get("recipe") != self.recipe.model_dump(mode="json"):
            raise NmsimInputError("recipe", "checkpoint was taken with a different recipe", self.recipe.name)
        unknown = set(state["masks"]) - set(self.layers)
        if unknown:
            raise NmsimInputError(
                "masks", "checkpoint names layers this model does not sparsify", sorted(unknown)[0]
            )
        self.step_count = int(state["step"])
        self.masks = {k: v.clone().to(self.layers[k].weight.device) for k, v in state["masks"].items()}
        self._mask_keys = dict(state["mask_keys"])
        self.segments = [Segment.from_state(s) for s in state["segments"]]
        st = self.state
        self._run.clear()
        for name in self.layers_in_force(st):
            self._run[name] = _LayerRun(self._scale(name, st.decay), st.grad_mode, st.srste_lambda, st.decay)
