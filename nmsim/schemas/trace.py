"""Layer-trace schema (``traces/*.json``): the workload, its weights' sparsity, and how it was trained.

Written by the training library (:mod:`nmsim.train`), the model-zoo builders, the importers and the
published-results builder; read by the simulator. GEMM convention: activations ``m``×``k``, weights
``k``×``n``, output ``m``×``n``; N:M sparsity is on the weights along ``k``.

Schema versions: ``1.0`` (first generation) and ``2.0``, which adds, all optional: producer→consumer
edges between layers (``Layer.inputs``, ``Layer.residual``; layers then list in execution order), the
target density of unstructured masks and a settings hash (``TrainingRecord``), and the provenance of a
metric (``Metrics.source``/``dataset``/``split``/``citation``/``variant``/``caveat``/``task_info``).
A 1.0 document is read as 2.0 unchanged (:data:`READABLE_VERSIONS`); writers always write 2.0.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from nmsim.dtypes import DType
from nmsim.limits import (
    MAX_DIM,
    MAX_LAYERS,
    MAX_MACS,
    Count,
    Dim,
    PatternM,
    PosCount,
    Repeat,
    Step,
    Steps,
)
from nmsim.schemas.common import Strict
from nmsim.sparsity import NM, Pattern, parse_pattern

SCHEMA_VERSION = "2.0"
READABLE_VERSIONS: tuple[str, ...] = ("1.0", "2.0")

OpKind = Literal["linear", "conv2d", "attention"]
Role = Literal[
    "ff", "q", "k", "v", "qkv", "out", "attn_score", "attn_context", "embedding", "head", "conv", "other"
]
GradMode = Literal["autodiff", "ste", "srste"]


def check_pattern(text: str, field: str = "pattern") -> str:
    """Normalise a pattern string: ``'dense'``, ``'unstructured'`` or ``'n:m'`` (``'4:4'`` → ``'dense'``)."""
    return str(parse_pattern(text, field))


class ConvShape(Strict):
    """A 2-D convolution, lowered to a GEMM by im2col (K ordered kernel-position-major, channel-minor)."""

    batch: Dim = 1
    in_channels: Dim
    out_channels: Dim
    kernel_h: Dim
    kernel_w: Dim
    input_h: Dim
    input_w: Dim
    stride: Dim = 1
    padding: Annotated[int, Field(ge=0, le=MAX_DIM)] = 0

    @property
    def output_hw(self) -> tuple[int, int]:
        oh = (self.input_h + 2 * self.padding - self.kernel_h) // self.stride + 1
        ow = (self.input_w + 2 * self.padding - self.kernel_w) // self.stride + 1
        return oh, ow

    @model_validator(mode="after")
    def _output_not_empty(self) -> ConvShape:
        oh, ow = self.output_hw
        if oh < 1 or ow < 1:
            raise ValueError("kernel larger than padded input: output would be empty")
        m, k, _ = self.gemm()
        if m > MAX_DIM or k > MAX_DIM:
            raise ValueError(f"its im2col GEMM (m = {m}, k = {k}) exceeds {MAX_DIM} (MAX_DIM) in a dimension")
        return self

    def gemm(self) -> tuple[int, int, int]:
        """(m, k, n) of the im2col GEMM."""
        oh, ow = self.output_hw
        return self.batch * oh * ow, self.in_channels * self.kernel_h * self.kernel_w, self.out_channels


class MaskStats(Strict):
    """Measured mask statistics: ``histogram[i]`` = number of K-blocks of size ``block`` holding i nonzeros."""

    block: PatternM
    histogram: list[Count]

    @model_validator(mode="after")
    def _length(self) -> MaskStats:
        if len(self.histogram) != self.block + 1:
            raise ValueError(f"histogram needs block+1 = {self.block + 1} counts (0..block nonzeros)")
        if sum(self.histogram) == 0:
            raise ValueError("histogram counts no blocks")
        return self

    @property
    def density(self) -> float:
        """Fraction of nonzero weights."""
        kept = sum(i * c for i, c in enumerate(self.histogram))
        return kept / (self.block * sum(self.histogram))

    @property
    def max_nonzeros(self) -> int:
        """Largest nonzero count seen in any block: the layer is exactly ``max_nonzeros:block``."""
        return max(i for i, c in enumerate(self.histogram) if c)


class Layer(Strict):
    """One GEMM-shaped layer (``repeat`` identical copies, e.g. attention heads)."""

    name: str = Field(min_length=1)
    op: OpKind = "linear"
    role: Role = "other"
    m: Dim | None = Field(None, description="activation rows (tokens × batch)")
    k: Dim | None = Field(None, description="reduction dim (in_features)")
    n: Dim | None = Field(None, description="output columns (out_features)")
    conv: ConvShape | None = None
    repeat: Repeat = 1
    dtype: DType | None = Field(None, description="None: the hardware's default_dtype")
    pattern: str = Field("dense", description="'dense', 'n:m' (weights, along k) or 'unstructured'")
    density: float | None = Field(None, gt=0, le=1, description="measured fraction of nonzero weights")
    mask_stats: MaskStats | None = None
    sparsifiable: bool | None = Field(None, description="may sweeps/recipes impose N:M here")
    inputs: list[str] | None = Field(
        None,
        description=(
            "layers whose outputs make this layer's activation operand(s), through element-wise ops only "
            "(norms, activations, softmax); [] = the model's input; None = not known. An attention layer "
            "multiplies two activations and lists [left, right] operand producers (q·kᵀ: [q, k]; "
            "probs·v: [score, v]); the right one is the GEMM's second (weight) operand"
        ),
    )
    residual: list[str] | None = Field(
        None, description="layers whose outputs are added to this layer's output (skip connections)"
    )

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return check_pattern(v)

    @model_validator(mode="after")
    def _shape_and_pattern(self) -> Layer:
        if self.conv is not None:
            dims = self.conv.gemm()
            given = (self.m, self.k, self.n)
            if any(g is not None and g != d for g, d in zip(given, dims, strict=True)):
                raise ValueError(f"m, k, n {given} disagree with the conv's im2col GEMM {dims}")
            object.__setattr__(self, "m", dims[0])
            object.__setattr__(self, "k", dims[1])
            object.__setattr__(self, "n", dims[2])
        elif self.op == "conv2d":
            raise ValueError("op 'conv2d' needs a 'conv' shape")
        elif None in (self.m, self.k, self.n):
            raise ValueError("a layer needs m, k and n (positive integers) or a 'conv' shape")
        macs = self.m * self.n * self.k * self.repeat  # type: ignore[operator]
        if macs > MAX_MACS:
            raise ValueError(f"m·n·k·repeat = {macs} exceeds 2**45 (MAX_MACS)")
        if self.op == "attention" and not self.sparsity.is_dense:
            raise ValueError("attention matmuls multiply two activations: pattern must be 'dense'")
        if self.sparsity.is_unstructured and self.density is None and self.mask_stats is None:
            raise ValueError("pattern 'unstructured' needs 'density' or 'mask_stats'")
        if self.sparsifiable is None:
            default = self.op != "attention" and self.role not in ("embedding", "head")
            object.__setattr__(self, "sparsifiable", default)
        elif self.sparsifiable and self.op == "attention":
            raise ValueError("attention matmuls cannot be sparsifiable")
        return self

    @property
    def sparsity(self) -> Pattern:
        """``pattern`` as a typed value (unstructured with the measured ``density``)."""
        return parse_pattern(self.pattern, "pattern", self.density)

    @property
    def nm(self) -> NM | None:
        """The nominal N:M pattern, or None for dense/unstructured."""
        return self.sparsity.nm

    @property
    def has_edges(self) -> bool:
        """True when this layer's producers are known (``inputs`` is set)."""
        return self.inputs is not None

    @property
    def conv_k_runs(self) -> int:
        """Number of independent K-runs an N:M group may not cross (kernel positions for a conv, else 1)."""
        return self.conv.kernel_h * self.conv.kernel_w if self.conv is not None else 1


class PhaseLayerState(Strict):
    """A layer's weights during one training phase."""

    pattern: str = Field("dense", description="binary mask pattern in force ('dense' or 'n:m' ...)")
    decay_factor_start: float = Field(0.0, ge=0, le=1, description="MDGF factor D on pruned weights at start")
    decay_factor_end: float = Field(0.0, ge=0, le=1, description="MDGF factor D at the phase's last step")
    density: float | None = Field(
        None, gt=0, le=1, description="fraction of weights kept, for 'unstructured' phases (GMP); None: n/m"
    )

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return check_pattern(v, "pattern")

    @property
    def sparsity(self) -> Pattern:
        """``pattern`` as a typed value (unstructured with its ``density``)."""
        return parse_pattern(self.pattern, "pattern", self.density)


class Phase(Strict):
    """A step range ``[start_step, end_step)`` of the executed schedule."""

    name: str
    kind: Literal["dense", "sparse", "decay", "structure", "finetune"] = "sparse"
    start_step: Step
    end_step: Steps
    default: PhaseLayerState = PhaseLayerState()
    layers: dict[str, PhaseLayerState] = Field(default_factory=dict, description="overrides per layer name")
    mask_refresh_every: Step = Field(0, description="steps between mask recomputations; 0 = fixed")
    grad_mode: GradMode = "autodiff"

    @model_validator(mode="after")
    def _range(self) -> Phase:
        if self.end_step <= self.start_step:
            raise ValueError("end_step must be > start_step")
        return self

    @property
    def steps(self) -> int:
        return self.end_step - self.start_step

    def state(self, layer: str) -> PhaseLayerState:
        """The state of ``layer`` in this phase."""
        return self.layers.get(layer, self.default)


class TrainingRecord(Strict):
    """How the weights were trained: the recipe, its parameters and the schedule as executed."""

    recipe: str = Field(min_length=1, description="dense|oneshot|gradual|ste|srste|gmp|mdgf|sdgf|...")
    target: str = Field("dense", description="final pattern: 'n:m', 'dense' or 'unstructured'")
    params: dict[str, float | int | str | bool | list[str] | list[float] | None] = Field(default_factory=dict)
    total_steps: Steps
    batch_size: PosCount | None = None
    tokens_per_step: PosCount | None = None
    sparsified_layers: list[str] = Field(default_factory=list)
    phases: list[Phase] = Field(min_length=1)
    target_density: float | None = Field(
        None, gt=0, le=1, description="fraction of weights kept at the end (unstructured targets: GMP)"
    )
    settings_hash: str | None = Field(
        None, description="hash of every training setting except recipe, target and seed (grids refuse mixes)"
    )
    provenance: dict[str, str] = Field(
        default_factory=dict,
        description="where schedule numbers come from: parameter or phase name → 'paper, Table 13' or 'derived: ...'",
    )

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        return check_pattern(v, "target")

    @property
    def target_sparsity(self) -> Pattern:
        """``target`` as a typed value (unstructured with ``target_density``)."""
        return parse_pattern(self.target, "target", self.target_density)

    @model_validator(mode="after")
    def _contiguous(self) -> TrainingRecord:
        step = 0
        for i, ph in enumerate(self.phases):
            if ph.start_step != step:
                raise ValueError(f"phases[{i}] starts at {ph.start_step}, expected {step} (contiguous)")
            step = ph.end_step
        if step != self.total_steps:
            raise ValueError(f"phases end at step {step}, expected total_steps {self.total_steps}")
        return self


MetricSource = Literal["measured", "published"]


class Metrics(Strict):
    """Task quality of the trained model, and where the number comes from.

    ``accuracy`` is a fraction (0.9 = 90 %) for accuracy-like metrics. ``source`` is ``measured`` (nmsim
    trained it; ``seed`` set) or ``published`` (a paper's table: ``citation`` names table and row; no
    seed unless the paper states one). ``variant`` tells apart rows of one (recipe, target) that differ
    in something other than the seed (e.g. ``dense-10k``, a decay rate), so they are never averaged as seeds.
    """

    task: str
    metric: str = "token_accuracy"
    accuracy: float | None = None
    seed: int | None = None
    extra: dict[str, float] = Field(default_factory=dict)
    source: MetricSource = "measured"
    dataset: str | None = Field(None, description="e.g. 'ImageNet-1K', 'WMT14 En-De', a corpus name")
    split: str | None = Field(None, description="e.g. 'validation', 'test', 'held-out 5%'")
    citation: str | None = Field(None, description="paper, table and row the number comes from")
    variant: str | None = Field(None, description="variant key: rows differing in more than the seed")
    caveat: str | None = Field(None, description="what a reader must know (a marked row, a naming slip)")
    task_info: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="task metadata: corpus hash, tokenizer, context length, ..."
    )


class Trace(Strict):
    """A model's layer trace: the unit the simulator consumes."""

    schema_version: Literal["2.0"] = SCHEMA_VERSION
    name: str = Field(min_length=1)
    description: str = ""
    source: str = Field("", description="how this trace was produced (builder, command, importer)")
    layers: list[Layer] = Field(min_length=1, max_length=MAX_LAYERS)
    training: TrainingRecord | None = None
    metrics: Metrics | None = None

    @field_validator("schema_version", mode="before")
    @classmethod
    def _migrate(cls, v: object) -> object:
        """Read an older schema version as this one (1.0 → 2.0 adds only optional fields)."""
        if v in READABLE_VERSIONS:
            return SCHEMA_VERSION
        raise ValueError(f"readable versions: {', '.join(READABLE_VERSIONS)} (written: {SCHEMA_VERSION})")

    @model_validator(mode="after")
    def _names(self) -> Trace:
        names = [layer.name for layer in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"layer names must be unique; repeated: {sorted(dup)[:3]}")
        seen: set[str] = set()
        for i, layer in enumerate(self.layers):
            for kind, edges in (("inputs", layer.inputs), ("residual", layer.residual)):
                later = [e for e in edges or () if e not in seen]
                if later:
                    raise ValueError(
                        f"layers[{i}].{kind} names {later[:3]}, which is not an earlier layer "
                        "(edges point to layers listed before, in execution order)"
                    )
            seen.add(layer.name)
        if self.training is not None:
            known = set(names)
            for i, ph in enumerate(self.training.phases):
                unknown = set(ph.layers) - known
                if unknown:
                    raise ValueError(
                        f"training.phases[{i}].layers names unknown layers {sorted(unknown)[:3]}"
                    )
            unknown = set(self.training.sparsified_layers) - known
            if unknown:
                raise ValueError(f"training.sparsified_layers names unknown layers {sorted(unknown)[:3]}")
        return self
