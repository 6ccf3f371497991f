"""Recipe files: SparseML/llm-compressor-style YAML with stages over step ranges.

A recipe is a list of non-overlapping *stages*; each stage applies one *modifier* to its *targets* over
``[start, end)``. Steps not covered by any stage are dense. Boundaries are absolute steps (int) or
fractions of the run's total steps (float in [0, 1]); ``end: end`` means the last step. Example::

    name: mdgf
    mask_structure: "1:8"        # default target pattern of every stage (CLI --nm overrides)
    targets: [ff]                # presets ff | qkvo | ff+qkvo | all, module names, Linear/Conv2d, "re:<regex>"
    grad_mode: ste
    stages:
      - {name: dense, start: 0, end: 0.1, modifier: dense}
      - {name: decay, start: 0.1, end: 0.85, modifier: mask_decay,
         decay: {type: exp, zero_at: 0.7}}
      - {name: finetune, start: 0.85, end: end, modifier: nm}

Errors are :class:`~nmsim.errors.NmsimInputError` lines naming the field (``stages.1.decay.type: ...``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from nmsim.errors import NmsimInputError
from nmsim.io.loaders import read_document, validate_model
from nmsim.limits import MAX_M_IN_NM, MAX_STEPS
from nmsim.schemas.common import Strict
from nmsim.schemas.trace import GradMode
from nmsim.sparsity import NM, parse_nm

Modifier = Literal["dense", "nm", "mask_decay", "structure_decay", "gmp"]
Boundary = int | float | Literal["end"]

ALIASES = {"pmd": "mdgf", "ssd": "sdgf"}  # the seed paper's names: pruning mask decay, sparse structure decay
SRSTE_EXCLUDED = ("mask_decay", "structure_decay", "gmp")  # modifiers srste is rejected with (as AQT does)
SRSTE_LAMBDA = (
    2e-4  # λ_w of SR-STE (Zhou et al. 2021, reference code default; docs/references.md#recipe-srste)
)


def _check_nm(text: str) -> str:
    try:
        return str(parse_nm(text, "mask_structure"))
    except NmsimInputError as exc:
        raise ValueError(exc.allowed) from None


class DecaySpec(Strict):
    """MDGF decay factor D(j) of pruned weights, j = steps since the stage start.

    ``linear``: D = max(1 − β·j, 0); ``exp``: D = exp(−β·j); ``step``: the AQT staircase
    D = max(1 − ⌊j/interval⌋·weight, 0) (0 from the ``cap``-th interval on). β is the authors' per-step
    rate (CLI ``--decay-rate``); unset β/interval are derived from ``zero_at`` (CLI ``--zero-at``; absolute
    step or fraction of total steps): linear and step reach 0 there, exp reaches ``floor`` there.
    ``step`` with the recipe's default grad mode ``ste`` is AQT's staircase with the [PGF] code's STE
    backward, a pairing neither source ran; with ``grad_mode: autodiff`` it is AQT's own pairing.
    """

    type: Literal["step", "linear", "exp"] = "exp"
    beta: float | None = Field(None, gt=0, description="per-step rate β (linear/exp)")
    zero_at: int | float | None = Field(0.7, description="step or fraction where D reaches 0 (or floor)")
    floor: float = Field(0.01, gt=0, lt=1, description="exp only: D at zero_at")
    intervals: int = Field(8, ge=1, le=MAX_STEPS, description="step only: staircase steps until D = 0")
    interval: int | None = Field(None, ge=1, le=MAX_STEPS, description="step only: steps per staircase step")
    weight: float | None = Field(None, gt=0, le=1, description="step only: D drop per staircase step")
    cap: int = Field(
        16, ge=1, le=MAX_STEPS, description="step only: D = 0 from this interval on (AQT num_update_sparsity)"
    )


class StructureSpec(Strict):
    """SDGF pattern sequence, run over equal parts of the stage ([PGF] §3; docs/references.md#recipe-sdgf)."""

    type: Literal["stepwise", "geometric", "densify", "aqt", "halving", "custom"] = "stepwise"
    k: int = Field(
        8,
        ge=1,
        le=MAX_M_IN_NM,
        description="geometric only: block multiplier at the first interval ([PGF] code: 8)",
    )
    patterns: list[str] | None = Field(None, description="custom only: the 'n:m' sequence")


class GmpSpec(Strict):
    """Unstructured gradual magnitude pruning (Zhu & Gupta): cubic ramp from initial to final sparsity."""

    initial_sparsity: float = Field(0.0, ge=0, lt=1)
    final_sparsity: float | None = Field(None, gt=0, lt=1, description="None: 1 − N/M (matched density)")
    update_every: int | float = Field(0.02, gt=0, description="Δt: steps, or fraction of total steps")
    ramp_end: int | float | None = Field(
        None, description="step/fraction where s_f is reached; None: stage end"
    )
    block: int | None = Field(
        None, ge=1, le=MAX_M_IN_NM, description="trace mask_stats block; None: M of mask_structure"
    )


class Stage(Strict):
    """One step range of a recipe and the modifier in force over it."""

    name: str = Field(min_length=1)
    start: Boundary = 0
    end: Boundary = "end"
    modifier: Modifier
    mask_structure: str | None = Field(None, description="'n:m'; None: the recipe's")
    targets: list[str] | str | None = None
    ignore: list[str] | None = None
    grad_mode: GradMode | None = None
    mask_refresh_every: int | None = Field(
        None, ge=0, le=MAX_STEPS, description="0: once at stage start; k: every k steps"
    )
    hard: bool = Field(False, description="also zero pruned weights in the stored weights after every step")
    keep_mask: bool = Field(
        False, description="nm only: keep the previous stage's mask if the pattern agrees"
    )
    srste_lambda: float = Field(SRSTE_LAMBDA, ge=0)
    decay: DecaySpec | None = None
    structure: StructureSpec | None = None
    gmp: GmpSpec | None = None

    @field_validator("mask_structure")
    @classmethod
    def _nm(cls, v: str | None) -> str | None:
        return None if v is None else _check_nm(v)

    @model_validator(mode="after")
    def _specs(self) -> Stage:
        if self.decay is not None and self.modifier != "mask_decay":
            raise ValueError("'decay' belongs to modifier 'mask_decay'")
        if self.structure is not None and self.modifier != "structure_decay":
            raise ValueError("'structure' belongs to modifier 'structure_decay'")
        if self.gmp is not None and self.modifier != "gmp":
            raise ValueError("'gmp' belongs to modifier 'gmp'")
        if self.modifier in SRSTE_EXCLUDED and self.grad_mode == "srste":
            raise ValueError(f"grad_mode 'srste' cannot be combined with modifier '{self.modifier}'")
        return self


class Recipe(Strict):
    """A whole recipe: defaults (pattern, targets, grad mode) and the stages."""

    name: str = Field(min_length=1)
    description: str = ""
    mask_structure: str = "2:4"
    targets: list[str] | str = "ff"
    ignore: list[str] = Field(default_factory=list)
    grad_mode: GradMode | None = None
    axis: int = Field(1, description="grouping axis of the weight; 1 = in_features / input channels")
    total_steps: int | None = Field(None, ge=1, le=MAX_STEPS)
    stages: list[Stage] = Field(min_length=1)

    @field_validator("mask_structure")
    @classmethod
    def _nm(cls, v: str) -> str:
        return _check_nm(v)

    @property
    def target(self) -> NM:
        return parse_nm(self.mask_structure, "mask_structure")

    def with_overrides(
        self,
        nm: str | None = None,
        decay: str | None = None,
        grad_mode: str | None = None,
        structure: str | None = None,
        targets: list[str] | str | None = None,
        decay_rate: float | None = None,
        zero_at: int | float | None = None,
    ) -> Recipe:
        """A copy with the CLI-level knobs replaced in the recipe and in every stage that uses them.

        ``decay_rate`` (per-step β of linear/exp decays) and ``zero_at`` (step or fraction where D
        reaches 0, or the exp floor) apply to every ``mask_decay`` stage; give one of them, not both.
        """
        if decay_rate is not None and zero_at is not None:
            raise NmsimInputError("zero-at", "give --decay-rate or --zero-at, not both", zero_at)
        if decay_rate is not None and not decay_rate > 0:
            raise NmsimInputError("decay-rate", "a per-step rate > 0", decay_rate)
        doc = self.model_dump(exclude_none=True)
        if nm is not None:
            doc["mask_structure"] = str(parse_nm(nm, "nm"))
            for st in doc["stages"]:
                st.pop("mask_structure", None)
        if targets is not None:
            doc["targets"] = targets
            for st in doc["stages"]:
                st.pop("targets", None)
        for st in doc["stages"]:
            if decay is not None and st["modifier"] == "mask_decay":
                st["decay"] = {**st.get("decay", {}), "type": decay}
            if st["modifier"] == "mask_decay" and (decay_rate is not None or zero_at is not None):
                spec = dict(st.get("decay", {}))
                if decay_rate is not None:
                    if spec.get("type", "exp") == "step":
                        raise NmsimInputError("decay-rate", "applies to linear and exp decays (step: use --zero-at)",
                                              decay_rate)  # fmt: skip
                    spec["beta"] = decay_rate
                else:
                    spec.pop("beta", None)
                    spec.pop("interval", None)
                    spec["zero_at"] = zero_at
                st["decay"] = spec
            if structure is not None and st["modifier"] == "structure_decay":
                st["structure"] = {**st.get("structure", {}), "type": structure}
            if grad_mode is not None and st["modifier"] != "dense":
                st.pop("grad_mode", None)
        if grad_mode is not None:
            doc["grad_mode"] = grad_mode
        return validate_recipe(doc, f"recipe {self.name}")


def validate_recipe(doc: Any, source: str | None = None) -> Recipe:
    """Validate a parsed recipe document; errors become one :class:`NmsimInputError` line."""
    return validate_model(Recipe, doc, source, "expected a mapping with 'name' and 'stages'")


def shipped_recipes() -> dict[str, Path]:
    """Name → path of the recipe YAML files shipped in ``nmsim/train/recipes/``."""
    folder = resources.files("nmsim.train") / "recipes"
    return {
        Path(str(p)).stem: Path(str(p)) for p in sorted(folder.iterdir(), key=str) if str(p).endswith(".yaml")
    }


def load_recipe(name_or_path: str | os.PathLike[str] | dict[str, Any] | Recipe) -> Recipe:
    """A shipped recipe's name (``mdgf``), a YAML/JSON path, a parsed document or a :class:`Recipe`."""
    if isinstance(name_or_path, Recipe):
        return name_or_path
    if isinstance(name_or_path, dict):
        return validate_recipe(name_or_path, "recipe")
    text = ALIASES.get(str(name_or_path), str(name_or_path))
    shipped = shipped_recipes()
    if text in shipped:
        return validate_recipe(read_document(shipped[text]), str(shipped[text]))
    p = Path(text)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        return validate_recipe(read_document(p), str(p))
    names = ", ".join([*shipped, *ALIASES])
    raise NmsimInputError("recipe", f"one of {names} or a path to a recipe .yaml", text)


@dataclass(frozen=True)
class Span:
    """A resolved stage: integer step range ``[start, end)`` and its index in the recipe."""

    index: int
    start: int
    end: int
    stage: Stage


def resolve_boundary(value: Boundary, total: int, field: str) -> int:
    """An absolute step from an int step, a float fraction of ``total`` or ``'end'``."""
    if value == "end":
        return total
    if isinstance(value, bool):
        raise NmsimInputError(field, "an int step, a fraction in [0, 1] or 'end'", value)
    if isinstance(value, float):
        if not 0.0 <= value <= 1.0:
            raise NmsimInputError(field, "a float is a fraction of total steps and must be in [0, 1]", value)
        return round(value * total)
    if value < 0:
        raise NmsimInputError(field, "a step must be >= 0", value)
    return min(int(value), total)


def resolve_spans(recipe: Recipe, total: int) -> list[Span]:
    """Stages with absolute step ranges; checks that they are ordered and do not overlap."""
    spans: list[Span] = []
    last = 0
    for i, st in enumerate(recipe.stages):
        a = resolve_boundary(st.start, total, f"stages.{i}.start")
        b = resolve_boundary(st.end, total, f"stages.{i}.end")
        if b < a:
            raise NmsimInputError(f"stages.{i}.end", f"must not be before start ({a})", b)
        if a < last:
            raise NmsimInputError(
                f"stages.{i}.start", f"stages must be ordered and not overlap (previous ends at {last})", a
            )
        if b > a:
            spans.append(Span(i, a, b, st))
        last = b
    return spans
