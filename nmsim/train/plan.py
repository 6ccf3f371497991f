"""A recipe resolved against a run length: what is in force at every optimizer step.

:class:`Plan` turns a :class:`~nmsim.train.recipes.Recipe` and ``total_steps`` into a pure function
``state(step) -> StepState`` (pattern, MDGF decay factor D, gradient mode, whether masks are recomputed
before this step's forward). Masks themselves depend on the weights and live in the sparsifier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nmsim import schedules
from nmsim.errors import NmsimInputError
from nmsim.sparsity import DENSE, NM, Pattern, Unstructured, parse_nm
from nmsim.train.recipes import SRSTE_EXCLUDED, Recipe, Span, Stage, resolve_boundary, resolve_spans


@dataclass(frozen=True)
class StepState:
    """Everything the recipe prescribes for one step (before the step's forward pass)."""

    stage: int | None  # index into recipe.stages; None = not covered by any stage (dense)
    stage_name: str
    modifier: str
    kind: str  # trace phase kind: dense | sparse | decay | structure | finetune
    pattern: NM | None  # None: dense or unstructured
    density: float  # fraction of weights kept by the binary mask
    decay: float  # D: multiplier of pruned weights in the forward (0 = binary mask)
    grad_mode: str
    refresh_every: int
    refresh: bool  # recompute masks from |W| before this step's forward
    hard: bool
    srste_lambda: float

    @property
    def active(self) -> bool:
        """False when the layer weights are used as they are (dense)."""
        return self.modifier != "dense" and self.density < 1.0

    @property
    def sparsity(self) -> Pattern:
        """The pattern in force, typed: dense when nothing is pruned, else the N:M pattern, or unstructured
        at this step's density (``str()`` gives the trace spelling)."""
        if self.modifier == "dense" or self.density >= 1.0:
            return DENSE
        return Unstructured(self.density) if self.pattern is None else self.pattern


GEOMETRIC_K = 8  # SDGF-geometric block multiplier of the released [PGF] code ('fine' type)

_DEFAULT_GRAD = {
    "dense": "autodiff",
    "nm": "autodiff",
    "mask_decay": "ste",
    "structure_decay": "ste",
    "gmp": "autodiff",
}


@dataclass(frozen=True)
class _Resolved:
    span: Span
    target: NM
    grad_mode: str
    refresh_every: int
    decay_kind: str = ""
    beta: float = 0.0
    interval: int = 1
    weight: float = 0.0
    cap: int = 16
    windows: tuple[tuple[int, int, NM], ...] = ()
    gmp: tuple[float, float, int, int] = (0.0, 0.0, 1, 1)  # s_i, s_f, n, dt
    gmp_block: int = 0


class Plan:
    """``recipe`` resolved for a run of ``total_steps`` optimizer steps."""

    def __init__(self, recipe: Recipe, total_steps: int, max_group: int | None = None) -> None:
        """``max_group``: the grouped-axis length every sparsified layer divides (e.g. the gcd of their K);
        a geometric structure's k is halved until k·M divides it (16:256 cannot group a K of 128)."""
        if total_steps < 1:
            raise NmsimInputError("steps", "must be >= 1", total_steps)
        self.recipe = recipe
        self.total_steps = total_steps
        self.max_group = max_group
        self.spans = resolve_spans(recipe, total_steps)
        self.structure_k: dict[int, tuple[int, int]] = {}  # geometric stages: index -> (asked k, k run)
        self._res = [self._resolve(sp) for sp in self.spans]
        self._cache: dict[int, StepState] = {}

    # ------------------------------------------------------------------ resolution
    def _resolve(self, span: Span) -> _Resolved:
        st: Stage = span.stage
        i = span.index
        target = parse_nm(st.mask_structure or self.recipe.mask_structure, f"stages.{i}.mask_structure")
        grad = st.grad_mode or self.recipe.grad_mode or _DEFAULT_GRAD[st.modifier]
        if st.modifier in SRSTE_EXCLUDED and grad == "srste":
            raise NmsimInputError(
                f"stages.{i}.grad_mode", f"'srste' cannot be combined with {st.modifier}", grad
            )
        if st.modifier == "dense":
            grad = "autodiff"
        default_refresh = 1 if grad in ("ste", "srste") else 0
        kw: dict = {}
        if st.modifier == "mask_decay":
            kw = self._resolve_decay(span)
            default_refresh = kw["interval"] if kw["decay_kind"] == "step" else 1
        elif st.modifier == "structure_decay":
            spec = st.structure
            kind = spec.type if spec else "stepwise"
            custom = (
                [parse_nm(p, f"stages.{i}.structure.patterns") for p in (spec.patterns or [])] if spec else []
            )
            k = asked = spec.k if spec else GEOMETRIC_K
            while kind == "geometric" and self.max_group and k > 1 and self.max_group % (k * target.m):
                k //= 2
            if kind == "geometric":
                self.structure_k[i] = (asked, k)
            pats = schedules.structure_patterns(kind, target, k, custom)
            wins = schedules.split_window(span.start, span.end, len(pats))
            kw["windows"] = tuple((a, b, p) for (a, b), p in zip(wins, pats, strict=True))
        elif st.modifier == "gmp":
            spec = st.gmp
            s_i = spec.initial_sparsity if spec else 0.0
            s_f = spec.final_sparsity if spec and spec.final_sparsity is not None else 1.0 - target.density
            every = spec.update_every if spec else 0.02
            dt = max(1, round(every * self.total_steps)) if isinstance(every, float) else int(every)
            ramp = spec.ramp_end if spec and spec.ramp_end is not None else "end"
            r_end = (
                span.end
                if ramp == "end"
                else resolve_boundary(ramp, self.total_steps, f"stages.{i}.gmp.ramp_end")
            )
            n = max(1, (min(r_end, span.end) - span.start) // dt)
            kw["gmp"] = (s_i, s_f, n, dt)
            kw["gmp_block"] = spec.block if spec and spec.block else target.m
            default_refresh = dt
        refresh = st.mask_refresh_every if st.mask_refresh_every is not None else default_refresh
        return _Resolved(span, target, grad, refresh, **kw)

    def _resolve_decay(self, span: Span) -> dict:
        i, spec = span.index, span.stage.decay
        if spec is None:
            from nmsim.train.recipes import DecaySpec

            spec = DecaySpec()
        zero = None
        if spec.zero_at is not None:
            zero = resolve_boundary(spec.zero_at, self.total_steps, f"stages.{i}.decay.zero_at") - span.start
        need = (spec.type in ("linear", "exp") and spec.beta is None) or (
            spec.type == "step" and (spec.interval is None or spec.weight is None)
        )
        if need and (zero is None or zero <= 0):
            raise NmsimInputError(
                f"stages.{i}.decay.zero_at",
                "must fall after the stage start (or give beta/interval)",
                spec.zero_at,
            )
        out = {"decay_kind": spec.type, "cap": spec.cap}
        if spec.type == "linear":
            out["beta"] = spec.beta if spec.beta is not None else 1.0 / zero
        elif spec.type == "exp":
            out["beta"] = spec.beta if spec.beta is not None else math.log(1.0 / spec.floor) / zero
        else:
            out["interval"] = spec.interval or max(1, zero // spec.intervals)
            out["weight"] = spec.weight or 1.0 / spec.intervals
        return out

    # ------------------------------------------------------------------ queries
    def span_at(self, step: int) -> _Resolved | None:
        for r in self._res:
            if r.span.start <= step < r.span.end:
                return r
        return None

    def decay_at(self, step: int) -> float:
        """MDGF decay factor D at ``step`` (1.0 before any stage, 0.0 for binary stages)."""
        r = self.span_at(step)
        if r is None or r.span.stage.modifier == "dense":
            return 1.0
        if r.span.stage.modifier != "mask_decay":
            return 0.0
        j = step - r.span.start
        if r.decay_kind == "linear":
            return schedules.decay_linear(j, r.beta)
        if r.decay_kind == "exp":
            return schedules.decay_exp(j, r.beta)
        return schedules.decay_step(j, r.interval, r.weight, r.cap)

    def _pattern_density(self, r: _Resolved, step: int) -> tuple[NM | None, float]:
        mod = r.span.stage.modifier
        if mod == "structure_decay":
            for a, b, p in r.windows:
                if a <= step < b:
                    return p, p.density
        if mod == "gmp":
            s_i, s_f, n, dt = r.gmp
            return None, 1.0 - schedules.gmp_sparsity(step, s_i, s_f, r.span.start, n, dt)
        return r.target, r.target.density

    def state(self, step: int) -> StepState:
        """What the recipe prescribes at ``step`` (0 ≤ step < total_steps)."""
        hit = self._cache.get(step)
        if hit is not None:
            return hit
        r = self.span_at(step)
        if r is None:
            s = StepState(None, "dense", "dense", "dense", None, 1.0, 1.0, "autodiff", 0, False, False, 0.0)
        else:
            st = r.span.stage
            pat, dens = self._pattern_density(r, step)
            j = step - r.span.start
            refresh = j == 0 or (r.refresh_every > 0 and j % r.refresh_every == 0)
            if j > 0 and not refresh:
                prev_pat, prev_dens = self._pattern_density(r, step - 1)
                refresh = prev_pat != pat or prev_dens != dens
            if j == 0 and st.keep_mask and st.modifier == "nm" and step > 0:
                prev = self.state(step - 1)
                refresh = not (prev.pattern == pat and prev.active and prev.decay == 0.0)
            kind = {"dense": "dense", "mask_decay": "decay", "structure_decay": "structure"}.get(
                st.modifier, "sparse"
            )
            if st.modifier == "nm" and st.name.lower().replace("-", "").replace("_", "").startswith("fine"):
                kind = "finetune"
            if st.modifier == "dense":
                dens = 1.0
            s = StepState(
                r.span.index, st.name, st.modifier, kind, pat, dens, self.decay_at(step),
                r.grad_mode, r.refresh_every, refresh, st.hard, st.srste_lambda,
            )  # fmt: skip
        self._cache[step] = s
        return s

    def targets_for(self, stage: int | None) -> tuple[list[str] | str, list[str]]:
        """(targets, ignore) of a stage, falling back to the recipe's."""
        if stage is None:
            return [], []
        st = self.recipe.stages[stage]
        return (st.targets if st.targets is not None else self.recipe.targets), (
            st.ignore if st.ignore is not None else self.recipe.ignore
        )

    def block_for(self, stage: int | None) -> int:
        """Block size for mask statistics of a stage (M of its pattern; GMP: its ``block``)."""
        for r in self._res:
            if r.span.index == stage:
                return r.gmp_block or r.target.m
        return self.recipe.target.m
