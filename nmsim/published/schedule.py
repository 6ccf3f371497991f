"""The training schedule of a published row: total steps and phases, from the paper's setup table,
the row's stated settings and, for what the paper does not state, the released code's defaults.

Units: optimizer steps. The run has ``T`` steps (the setup's steps, or epochs × ⌊dataset ÷ batch⌋);
a dense phase of ``d`` steps, a fine-tune phase of ``f`` steps at the end, and in between the recipe's
sparsification window ([PGF] Appendix A):

* ``srste``: binary N:M mask from step ``d``, recomputed every step, SR-STE gradient.
* ``mdgf-linear``/``mdgf-exp``: mask decay D(j) = max(1 − βj, 0) or exp(−βj), j counted from ``d``
  ([PGF] §3); the decaying steps (D > 0; for the exponential, D ≥ ``exp_floor``) form a ``decay``
  phase, the rest of the window a binary-mask (``sparse``) phase ``D=0``.
* ``sdgf-stepwise``/``sdgf-geometric``: the window split evenly into frames, one N:M pattern each
  ((M−1):M, M/2:M, … N:M; or k·N:k·M … N:M at constant density); in setups counted in epochs the
  frames start at whole epochs, as the released code does.

A mixed row (FF + QK/QKV) runs one such schedule per layer group (FF at its target, the attention
projections at theirs) over the same run; the phases are cut wherever either group changes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from nmsim.errors import NmsimInputError
from nmsim.published.rows import PublishedRow
from nmsim.published.tables import CodeDefaults, Setup
from nmsim.schedules import geometric_patterns, stepwise_patterns
from nmsim.schemas.trace import GradMode, Phase, PhaseLayerState
from nmsim.sparsity import NM, Pattern


@dataclass(frozen=True)
class Segment:
    """A step range of one layer group: its pattern and, while it decays, D at any step (else 0)."""

    start: int
    end: int
    kind: str
    name: str
    pattern: str
    grad_mode: GradMode
    refresh: int
    decay: Callable[[int], float] | None = None

    def state(self, a: int, b: int) -> PhaseLayerState:
        """The group's state over steps [a, b) inside this segment."""
        d0 = self.decay(a) if self.decay else 0.0
        d1 = self.decay(b - 1) if self.decay else 0.0
        return PhaseLayerState(pattern=self.pattern, decay_factor_start=d0, decay_factor_end=d1)


@dataclass(frozen=True)
class Lengths:
    """The run's step counts: total ``T``, dense ``d``, fine-tune ``f``; ``unit`` steps per epoch (1 if
    the setup counts steps), ``beta`` the MDGF decay rate per step."""

    total: int
    dense: int
    finetune: int
    unit: int
    beta: float


def _decaying_steps(recipe: str, beta: float, floor: float) -> tuple[int, Callable[[int], float]]:
    """(steps with D ≥ floor-or-above-0 counted from the decay start, D(j))."""
    if recipe == "mdgf-linear":
        return math.ceil(round(1.0 / beta, 9)), lambda j: max(1.0 - beta * j, 0.0)
    return math.floor(math.log(1.0 / floor) / beta) + 1, lambda j: math.exp(-beta * j)


def group_segments(recipe: str, target: NM, run: Lengths, defaults: CodeDefaults) -> list[Segment]:
    """One layer group's segments over the whole run (contiguous, from 0 to ``run.total``)."""
    t, d, f = run.total, run.dense, run.finetune
    refresh = defaults.mask_refresh_every
    tgt = str(target)
    segs: list[Segment] = []
    if d:
        segs.append(Segment(0, d, "dense", "dense", "dense", "autodiff", 0))
    end = t - f
    if recipe == "srste":
        segs.append(Segment(d, end, "sparse", f"sparse {tgt}", tgt, "srste", refresh))
    elif recipe.startswith("mdgf"):
        z, fn = _decaying_steps(recipe, run.beta, defaults.exp_floor)
        stop = min(d + z, end)
        segs.append(Segment(d, stop, "decay", f"decay {tgt}", tgt, "ste", refresh, lambda s: fn(s - d)))
        if stop < end:
            tail = (
                f"decay {tgt} D=0"
                if recipe == "mdgf-linear"
                else f"decay {tgt} D<{defaults.exp_floor:g} as 0"
            )
            segs.append(Segment(stop, end, "sparse", tail, tgt, "ste", refresh))
    else:
        frames = (
            stepwise_patterns(target)
            if recipe == "sdgf-stepwise"
            else geometric_patterns(target, defaults.geometric_k)
        )
        window = end - d
        starts = [d + (i * window // len(frames)) // run.unit * run.unit for i in range(len(frames))]
        bounds = [*starts, end]
        for i, nm in enumerate(frames):
            if bounds[i + 1] > bounds[i]:
                segs.append(
                    Segment(bounds[i], bounds[i + 1], "structure", f"structure {nm}", str(nm), "ste", refresh)
                )
    if f:
        segs.append(
            Segment(
                end, t, "finetune", f"finetune {tgt}", tgt, "srste" if recipe == "srste" else "ste", refresh
            )
        )
    return segs


def run_lengths(row: PublishedRow, setup: Setup, defaults: CodeDefaults) -> tuple[Lengths, dict[str, str]]:
    """The row's step counts and decay rate, with where each number comes from (``provenance``)."""
    s = row.settings
    unit = setup.steps_per_epoch or 1
    units = setup.epochs or setup.total_steps
    total = setup.total_steps
    table = f"paper, Table {setup.table}"
    prov: dict[str, str] = {}
    if setup.epochs is not None:
        prov["total_steps"] = (
            f"{table}: {setup.epochs} epochs × ⌊{setup.dataset_size} ÷ {setup.batch}⌋ = {unit} steps per epoch "
            "(derived: the dataset's training-set size, the last partial batch dropped)"
        )
    else:
        prov["total_steps"] = f"{table}: {setup.steps} steps"
    prov["batch_size"] = f"{table}: {setup.batch}"
    if setup.lr_decay_rate is not None:
        prov["lr_decay_rate"] = f"{table}: the learning-rate schedule's decay rate (not an MDGF decay rate)"
    cites = ", ".join(f"Table {t}" for t in row.tables)

    def fraction_steps(stated: float | None, default: float, flag: str) -> tuple[int, str]:
        """Whole units (epochs, or steps) of the run's fraction, in steps, and where it comes from."""
        frac = default if stated is None else stated
        where = f"paper, {cites}: {frac:g} of the run" if stated is not None else (
            f"derived: the released code's default {flag} {frac:g}"
        )  # fmt: skip
        return int(units * frac) * unit, where

    if s.dense_steps is not None:
        dense = s.dense_steps
        prov["dense_steps"] = f"paper, {cites}: {dense} dense steps"
    else:
        dense, prov["dense_steps"] = fraction_steps(
            s.dense_fraction, defaults.dense_fraction, "--dense-steps"
        )
    finetune, prov["finetune_steps"] = fraction_steps(
        s.finetune_fraction, defaults.finetune_fraction, "--fine-tune-steps"
    )
    beta = defaults.decay_coef
    if row.recipe.startswith("mdgf"):
        if s.decay_coef is not None:
            beta = s.decay_coef
            prov["decay_coef"] = f"paper, {cites}: beta {beta:g} per step"
        elif row.recipe == "mdgf-exp" and setup.mdgf_exp_decay_coef is not None:
            beta = setup.mdgf_exp_decay_coef
            prov["decay_coef"] = f"derived: the released training config's decay_coef {beta:g} (EXP)"
        else:
            prov["decay_coef"] = f"derived: the released code's default --decay-coef {beta:g}"
        if row.recipe == "mdgf-exp":
            prov["exp_floor"] = (
                f"derived: D = exp(-beta j) below {defaults.exp_floor:g} is counted as a binary mask "
                "(the paper's D never reaches 0)"
            )
    if row.recipe.startswith("sdgf"):
        prov["frames"] = "paper, Section 3: the window split evenly into frames" + (
            "; frames start at whole epochs (derived: the released code)" if setup.epochs else ""
        )
        if row.recipe == "sdgf-geometric":
            prov["geometric_k"] = f"paper, Section 3: k = {defaults.geometric_k}"
    if row.recipe != "dense":
        prov["mask_refresh_every"] = "derived: the released code recomputes masks at every forward"
        prov["grad_mode"] = "derived: the released code (STE for MDGF/SDGF, SR-STE's own backward)"
    if row.recipe == "srste":
        prov["srste_lambda"] = f"derived: the released code's lambda_w {defaults.srste_lambda:g}"
    if dense + finetune >= total:
        raise ValueError(f"{row.key}: dense + fine-tune steps ({dense} + {finetune}) leave no sparse window")
    return Lengths(total, dense, finetune, unit, beta), prov


def _sparse_target(pattern: Pattern, field: str) -> NM:
    """A sparse recipe's target: an N:M pattern (dense or unstructured has no N:M schedule)."""
    if not isinstance(pattern, NM):
        raise NmsimInputError(field, "an 'n:m' pattern for a sparse recipe", str(pattern))
    return pattern


def phases(row: PublishedRow, run: Lengths, defaults: CodeDefaults, attn_layers: list[str]) -> list[Phase]:
    """The run's phases; a mixed row's attention projections (``attn_layers``) get per-layer overrides."""
    if row.recipe == "dense":
        return [Phase(name="dense", kind="dense", start_step=0, end_step=run.total, grad_mode="autodiff")]
    ff = group_segments(row.recipe, _sparse_target(row.target, "target"), run, defaults)
    attn = group_segments(row.recipe, _sparse_target(row.attn, "attn"), run, defaults) if row.attn else []
    cuts = sorted({s.start for s in ff} | {s.start for s in attn} | {run.total})
    out: list[Phase] = []
    for a, b in itertools.pairwise(cuts):
        seg = next(s for s in ff if s.start <= a < s.end)
        state = seg.state(a, b)
        layers: dict[str, PhaseLayerState] = {}
        name = seg.name
        if attn:
            aseg = next(s for s in attn if s.start <= a < s.end)
            astate = aseg.state(a, b)
            if astate != state:
                layers = dict.fromkeys(attn_layers, astate)
                name += f"; {row.scope.removeprefix('ff+')} {aseg.name.split(' ', 1)[-1]}"
        out.append(
            Phase(
                name=name,
                kind=seg.kind,  # type: ignore[arg-type]
                start_step=a,
                end_step=b,
                default=state,
                layers=layers,
                mask_refresh_every=seg.refresh,
                grad_mode=seg.grad_mode,
            )
        )
    return out
