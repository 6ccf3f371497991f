"""The measurement file: measured dense vs N:M-sparse GEMM latencies, the input of ``nmsim calibrate``.

Format (JSON or YAML; documented in ``docs/calibration.md``; ``benchmarks/gpu/measure_nm.py`` writes
it, and ``benchmarks/results/gpu/h100_24_calibration.json`` conforms to it)::

    {
      "format": "nmsim-measurements/1",        # optional
      "what": "...", "timing": "...",          # optional free text: what was measured and how
      "convention": "Y^T = W @ X^T: ...",      # required: which of M and N is the tokens (below)
      "meta": {"gpu": "...", ...},             # optional free mapping: machine, library versions
      "ceilings": {...}, "skipped": [...],     # optional free: roofline probes, combos not measured
                                               # (ceiling power readings are read: power_readings)
      "rows": [{"label": "square4096", "M": 4096, "N": 4096, "K": 4096, "dtype": "float16",
                "dense_ms": 0.21482, "sparse_ms": 0.13197, "speedup": 1.628, ...}, ...]
    }

``convention`` is read from its start (case and spaces ignored):

- ``"Y^T = W @ X^T"`` … or ``"weights_first"``: the sparse weight ``W`` is ``M×K`` (out × in) and the
  tokens are ``N`` (cuSPARSELt / PyTorch ``Linear`` order). In nmsim's activations(``m×k``) ·
  weights(``k×n``) convention: ``m = N``, ``k = K``, ``n = M``.
- ``"Y = X @ W"`` … or ``"nmsim"``: already nmsim's order: ``m = M`` (tokens), ``k = K``, ``n = N``.

Any other text is refused (one line naming ``convention``): the two readings differ by a transpose,
which moves a GEMM between the compute- and memory-bound regimes, so the loader never guesses.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from nmsim.errors import NmsimInputError
from nmsim.io.atomic import write_text_atomic
from nmsim.io.loaders import read_document, validate_model
from nmsim.limits import Dim
from nmsim.sparsity import parse_nm

FORMAT = "nmsim-measurements/1"

Orientation = Literal["weights_first", "nmsim"]

# Measured dtype names (PyTorch's and nmsim's) → nmsim's DType.
DTYPE_ALIASES: dict[str, str] = {
    "float16": "fp16",
    "half": "fp16",
    "fp16": "fp16",
    "bfloat16": "bf16",
    "bf16": "bf16",
    "int8": "int8",
    "float8_e4m3fn": "fp8",
    "float8_e4m3fnuz": "fp8",
    "float8_e5m2": "fp8",
    "float8_e5m2fnuz": "fp8",
    "e4m3": "fp8",
    "e5m2": "fp8",
    "fp8": "fp8",
    "float32": "fp32",
    "fp32": "fp32",
    "tf32": "fp32",
}

# Consistency allowance between a stated speedup and dense_ms / sparse_ms (files round to 3-4 digits).
SPEEDUP_RTOL = 0.02

_WEIGHTS_FIRST = ("y^t=w@x^t", "weights_first", "weights-first")
_NMSIM_ORDER = ("y=x@w", "nmsim")


def parse_convention(text: str) -> Orientation:
    """``'weights_first'`` (M = out features, N = tokens) or ``'nmsim'`` (M = tokens), from its start."""
    squashed = re.sub(r"\s+", "", str(text)).lower()
    if squashed.startswith(_WEIGHTS_FIRST):
        return "weights_first"
    if squashed.startswith(_NMSIM_ORDER):
        return "nmsim"
    raise NmsimInputError(
        "convention",
        "must start with 'Y^T = W @ X^T' / 'weights_first' (M = out features, N = tokens) "
        "or 'Y = X @ W' / 'nmsim' (M = tokens, N = out features)",
        text[:60] if isinstance(text, str) else text,
    )


def nmsim_dtype(name: str) -> str:
    """A measured dtype name (``float16``, ``float8_e4m3fn``, ``bf16`` …) → nmsim's dtype."""
    key = str(name).strip().lower().removeprefix("torch.")
    if key not in DTYPE_ALIASES:
        raise NmsimInputError("dtype", f"one of {', '.join(sorted(DTYPE_ALIASES))}", name)
    return DTYPE_ALIASES[key]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Measurement(_Model):
    """One measured GEMM shape and dtype: dense and/or sparse latency in milliseconds."""

    label: str = ""
    M: Dim = Field(description="rows of the first operand (see the file's convention)")
    N: Dim = Field(description="columns of the output (see the file's convention)")
    K: Dim = Field(description="reduction length; the N:M groups run along it")
    dtype: str = Field(description="input dtype: float16, bfloat16, int8, float8_e4m3fn (or nmsim names)")
    pattern: str = Field("2:4", description="N:M pattern of the sparse operand, along K")
    dense_ms: PositiveFloat | None = None
    sparse_ms: PositiveFloat | None = None
    speedup: PositiveFloat | None = Field(None, description="dense_ms / sparse_ms, if stated")
    dense_tflops: PositiveFloat | None = None
    sparse_tflops_dense_equiv: PositiveFloat | None = None
    sustained_dense_ms: PositiveFloat | None = None
    sustained_sparse_ms: PositiveFloat | None = None
    sustained_speedup: PositiveFloat | None = None
    dense_spread_ms: tuple[PositiveFloat, PositiveFloat] | None = Field(None, description="(p10, p90)")
    sparse_spread_ms: tuple[PositiveFloat, PositiveFloat] | None = Field(None, description="(p10, p90)")
    repeats: PositiveInt | None = None
    timing_method: Literal["graph", "launches"] | None = None
    dense_kernel: str | None = None
    sparse_kernel: str | None = None
    dense_runs_ms: list[PositiveFloat] | None = Field(None, description="median of each of --runs timings")
    sparse_runs_ms: list[PositiveFloat] | None = Field(None, description="median of each of --runs timings")
    dense_sm_mhz: PositiveFloat | None = Field(
        None, description="mean SM clock while dense_ms was timed (NVML)"
    )
    sparse_sm_mhz: PositiveFloat | None = Field(None, description="mean SM clock while sparse_ms was timed")
    dense_energy_j: PositiveFloat | None = Field(None, description="board energy per dense GEMM (J, NVML)")
    sparse_energy_j: PositiveFloat | None = Field(None, description="board energy per sparse GEMM (J, NVML)")
    dense_energy_ms: PositiveFloat | None = Field(None, description="latency per GEMM during the energy loop")
    sparse_energy_ms: PositiveFloat | None = Field(
        None, description="latency per GEMM during the energy loop"
    )
    energy_repeats: PositiveInt | None = Field(None, description="GEMMs between the two energy readings")
    dense_rel_err: float | None = Field(None, ge=0, description="vs the fp32/fp64 product of the pruned W")
    sparse_rel_err: float | None = Field(None, ge=0, description="vs the fp32/fp64 product of the pruned W")
    notes: str | None = None

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        try:
            nmsim_dtype(v)
        except NmsimInputError as exc:
            raise ValueError(exc.allowed) from None
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            nm = parse_nm(v, "pattern")
        except NmsimInputError as exc:
            raise ValueError(exc.allowed) from None
        if nm.is_dense:
            raise ValueError("must be sparse (n < m), e.g. '2:4'")
        return str(nm)

    @model_validator(mode="after")
    def _check(self) -> Measurement:
        if self.dense_ms is None and self.sparse_ms is None:
            raise ValueError("a row needs dense_ms, sparse_ms or both")
        for stated, dense, sparse, name in (
            (self.speedup, self.dense_ms, self.sparse_ms, "speedup"),
            (self.sustained_speedup, self.sustained_dense_ms, self.sustained_sparse_ms, "sustained_speedup"),
        ):
            if stated is not None and dense is not None and sparse is not None:
                implied = dense / sparse
                if not math.isclose(stated, implied, rel_tol=SPEEDUP_RTOL):
                    raise ValueError(f"{name} {stated} disagrees with the latencies' ratio {implied:.4g}")
        return self

    def gemm(self, orientation: Orientation) -> tuple[int, int, int]:
        """``(m, k, n)`` in nmsim's convention (activations m×k · weights k×n)."""
        if orientation == "weights_first":
            return self.N, self.K, self.M
        return self.M, self.K, self.N


# A ceiling probe that is a dense square GEMM: ``dense_<dtype>_<size>`` with an optional layout suffix.
_CEILING_GEMM = re.compile(r"^dense_(?P<dtype>[a-z0-9]+)_(?P<size>\d+)(?:_(?P<layout>[A-Za-z]+))?$")


@dataclass(frozen=True)
class PowerReading:
    """A board-power reading taken during a ceiling probe: ``ceilings.<group>.<key>.power_W``.

    ``shape`` is ``(m, k, n)`` in nmsim's convention (a square: the same either way) and ``dtype``
    nmsim's name; both are None when ``key`` does not name a dense square GEMM
    (``dense_<dtype>_<size>[_<layout>]``, e.g. ``dense_fp16_8192_NT``; the layout — NN, NT — is how the
    operands sit in memory, the same GEMM in nmsim's model). ``ms``: latency per GEMM; ``sm_mhz``: the SM
    clock NVML reported with the reading, if given.
    """

    group: str
    key: str
    power_w: float
    ms: float | None
    sm_mhz: float | None
    dtype: str | None
    shape: tuple[int, int, int] | None

    @property
    def label(self) -> str:
        return f"ceilings.{self.group}.{self.key}"


@dataclass(frozen=True)
class MeasuredGemm:
    """A row in nmsim's convention: activations ``m×k`` · weights ``k×n``, latencies in seconds."""

    label: str
    m: int
    k: int
    n: int
    dtype: str
    pattern: str
    dense_s: float | None
    sparse_s: float | None

    @property
    def speedup(self) -> float | None:
        return self.dense_s / self.sparse_s if self.dense_s and self.sparse_s else None


class MeasurementFile(_Model):
    """A whole measurement file (see the module docstring for the format)."""

    format: str | None = Field(None, description=f"'{FORMAT}' when written by measure_nm.py")
    what: str = ""
    convention: str = Field(description="'Y^T = W @ X^T …' (M = out features) or 'Y = X @ W …'")
    timing: str = ""
    meta: dict[str, Any] = {}
    ceilings: dict[str, Any] = {}
    skipped: list[Any] = []
    rows: list[Measurement] = Field(min_length=1)

    @field_validator("format")
    @classmethod
    def _format(cls, v: str | None) -> str | None:
        if v is not None and v != FORMAT:
            raise ValueError(f"this nmsim reads '{FORMAT}'")
        return v

    @field_validator("convention")
    @classmethod
    def _convention(cls, v: str) -> str:
        try:
            parse_convention(v)
        except NmsimInputError as exc:
            raise ValueError(exc.allowed) from None
        return v

    @property
    def orientation(self) -> Orientation:
        """How the rows' M and N map to nmsim's (see :func:`parse_convention`)."""
        return parse_convention(self.convention)

    def gemms(self, sustained: bool = False) -> list[MeasuredGemm]:
        """Every row in nmsim's convention; ``sustained`` picks the sustained_* latencies (None if absent)."""
        out = []
        for row in self.rows:
            m, k, n = row.gemm(self.orientation)
            dense = row.sustained_dense_ms if sustained else row.dense_ms
            sparse = row.sustained_sparse_ms if sustained else row.sparse_ms
            out.append(
                MeasuredGemm(
                    label=row.label,
                    m=m,
                    k=k,
                    n=n,
                    dtype=nmsim_dtype(row.dtype),
                    pattern=row.pattern,
                    dense_s=None if dense is None else dense * 1e-3,
                    sparse_s=None if sparse is None else sparse * 1e-3,
                )
            )
        return out

    @property
    def plain_clock_state(self) -> str:
        """The clock state of the plain ``dense_ms``/``sparse_ms`` columns: ``meta.clock_state``, else burst."""
        state = str(self.meta.get("clock_state", "burst"))
        if state not in ("burst", "sustained"):
            raise NmsimInputError("meta.clock_state", "burst or sustained", state)
        return state

    def samples(
        self, sustained: bool = False, dtypes: set[str] | None = None, plain_state: str | None = None
    ) -> list[Any]:
        """The rows as :class:`nmsim.calibration.fit.Sample` (one per measured latency: dense, sparse).

        ``sustained`` takes the ``sustained_*`` columns (clock state ``sustained``, labels
        ``"<label>@sustained <dtype> <dense|n:m>"``); otherwise the plain columns, in ``plain_state``
        (default :attr:`plain_clock_state`), labelled ``"<label> <dtype> <dense|n:m>"``.
        """
        from nmsim.calibration.fit import Sample

        state = "sustained" if sustained else (plain_state or self.plain_clock_state)
        suffix = "@sustained" if sustained else ""
        out = []
        for g in self.gemms(sustained):
            if dtypes is not None and g.dtype not in dtypes:
                continue
            for sparsity, seconds in ((None, g.dense_s), (g.pattern, g.sparse_s)):
                if seconds is not None:
                    tag = "dense" if sparsity is None else sparsity
                    out.append(
                        Sample(
                            m=g.m,
                            n=g.n,
                            k=g.k,
                            dtype=g.dtype,
                            sparsity=sparsity,
                            seconds=seconds,
                            label=f"{g.label or f'{g.m}x{g.k}x{g.n}'}{suffix} {g.dtype} {tag}",
                            clock_state=state,
                        )
                    )
        return out

    def samples_in(self, states: tuple[str, ...], plain_state: str | None = None) -> list[Any]:
        """Every latency measured in one of ``states``: plain columns and/or ``sustained_*`` columns."""
        plain = plain_state or self.plain_clock_state
        out = self.samples(plain_state=plain) if plain in states else []
        return out + (self.samples(sustained=True) if "sustained" in states else [])

    @property
    def power_limit_w(self) -> float | None:
        """The board's power limit (W), ``meta.power_limit_W`` (or ``power_limit_w``); None if not given."""
        for key in ("power_limit_W", "power_limit_w"):
            if key in self.meta:
                return _positive(self.meta[key], f"meta.{key}", "a positive number of watts")
        return None

    def power_readings(self) -> list[PowerReading]:
        """Every ``power_W`` reading under ``ceilings`` (groups of probes), in file order."""
        out = []
        for group, probes in self.ceilings.items():
            if not isinstance(probes, dict):
                continue
            for key, probe in probes.items():
                if not isinstance(probe, dict) or "power_W" not in probe:
                    continue
                where = f"ceilings.{group}.{key}"
                power = _positive(probe["power_W"], f"{where}.power_W")
                ms = None if probe.get("ms") is None else _positive(probe["ms"], f"{where}.ms")
                mhz = None if probe.get("sm_MHz") is None else _positive(probe["sm_MHz"], f"{where}.sm_MHz")
                hit = _CEILING_GEMM.match(str(key))
                dtype = DTYPE_ALIASES.get(hit["dtype"].lower()) if hit else None
                size = int(hit["size"]) if hit and dtype else None
                shape = (size, size, size) if size else None
                out.append(
                    PowerReading(str(group), str(key), power, ms, mhz, dtype if shape else None, shape)
                )
        return out


def _positive(value: Any, field: str, allowed: str = "a positive number") -> float:
    """``value`` as a float if it is a finite number > 0, else a one-line error naming ``field``."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0 or math.isinf(value):
        raise NmsimInputError(field, allowed, value)
    return float(value)


def parse_measurements(data: Any, source: str = "measurements") -> MeasurementFile:
    """Validate a decoded document; every failure is one :class:`NmsimInputError` line."""
    return validate_model(MeasurementFile, data, source, "expected a mapping with 'convention' and 'rows'")


def load_measurements(path: str | os.PathLike[str]) -> MeasurementFile:
    """Load and validate a measurement file (JSON or YAML)."""
    return parse_measurements(read_document(path), str(path))


def measurements_to_json(doc: MeasurementFile) -> str:
    """JSON text of a measurement file (unset optional fields omitted)."""
    return json.dumps(doc.model_dump(mode="json", exclude_none=True), indent=1) + "\n"


def save_measurements(doc: MeasurementFile, path: str | os.PathLike[str]) -> Path:
    """Write ``doc`` atomically as JSON."""
    return write_text_atomic(path, measurements_to_json(doc))
