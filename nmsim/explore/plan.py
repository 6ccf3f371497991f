"""A resolved sweep: traces loaded, hardware documents read, and every point numbered.

Point ``i`` is ``variant × n_hw + hw_combo``: variants (trace-major, then N:M pattern) vary
slowest, hardware combinations (base config, then each parameter, the last fastest) fastest.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from nmsim.errors import NmsimInputError, from_validation_error
from nmsim.explore.spec import SweepSpec, canonical_value
from nmsim.io.loaders import (
    HW_ALIASES,
    apply_overrides,
    expand_trace_paths,
    load_trace,
    read_document,
    resolve_hardware_path,
    trace_to_json,
)
from nmsim.io.registry import DEFAULT_HARDWARE, default_trace_path
from nmsim.limits import MAX_SWEEP_POINTS
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.bounds import check_layers

FORMAT_VERSION = 1  # bump when the results' columns or their meaning change (invalidates checkpoints)


@dataclass(frozen=True)
class TraceEntry:
    """A trace of the sweep: ``file`` as resolved ('' for an in-memory :class:`Trace`)."""

    file: str
    trace: Trace


@dataclass(frozen=True)
class HwBase:
    """A base hardware config: ``name`` as given, and its document (before overrides)."""

    name: str
    source: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class SweepPlan:
    """Everything a worker needs to evaluate any point of the sweep (picklable)."""

    traces: tuple[TraceEntry, ...]
    nm: tuple[str, ...]
    hw: tuple[HwBase, ...]
    param_keys: tuple[str, ...]
    param_values: tuple[tuple[Any, ...], ...]
    compat: str | None
    fingerprint: str = field(default="")
    residency: str = "auto"  # auto | none (nmsim.sim.residency)

    @property
    def n_variants(self) -> int:
        return len(self.traces) * len(self.nm)

    @property
    def n_combos(self) -> int:
        """Parameter combinations per base config."""
        return math.prod(len(v) for v in self.param_values)

    @property
    def n_hw(self) -> int:
        return len(self.hw) * self.n_combos

    @property
    def n_points(self) -> int:
        return self.n_variants * self.n_hw

    def decode(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Point ids → (variant ids, hardware-combination ids)."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids // self.n_hw, ids % self.n_hw

    def variant(self, v: int) -> tuple[int, str]:
        """Variant id → (trace index, nm)."""
        return v // len(self.nm), self.nm[v % len(self.nm)]

    def combo(self, h: int) -> tuple[int, tuple[Any, ...]]:
        """Hardware-combination id → (base index, parameter values in ``param_keys`` order)."""
        base, rest = divmod(h, self.n_combos)
        values = []
        for vals in reversed(self.param_values):
            rest, j = divmod(rest, len(vals))
            values.append(vals[j])
        return base, tuple(reversed(values))

    def overrides(self, h: int) -> dict[str, Any]:
        """The overrides of hardware combination ``h`` (as :func:`nmsim.load_hardware` takes them)."""
        _, values = self.combo(h)
        return dict(zip(self.param_keys, values, strict=True))

    def build_hw(self, h: int, bases: dict[int, HardwareConfig] | None = None) -> HardwareConfig:
        """The config of combination ``h``; equal to ``load_hardware(base, **overrides)``.

        ``bases``: a cache of validated base configs; sections the overrides leave alone are then
        taken from it instead of being validated again (same values, ~3× faster).
        """
        base_i, values = self.combo(h)
        base = self.hw[base_i]
        ov = dict(zip(self.param_keys, values, strict=True))
        source = base.source
        if not isinstance(base.doc, dict):
            raise NmsimInputError("(root)", "expected a mapping of fields in HardwareConfig", source=source)
        doc = _copy_doc(base.doc, tuple(ov))
        if ov:
            doc = apply_overrides(doc, ov)
            source += " with overrides " + ", ".join(f"{k}={v}" for k, v in ov.items() if v is not None)
        if bases is not None and ov:
            cfg = bases.get(base_i)
            if cfg is None:
                cfg = bases[base_i] = _validate_hw(base.doc, base.source)
            for section in _SECTIONS:
                if section in base.doc and doc.get(section) is base.doc[section]:
                    doc[section] = getattr(cfg, section)
        config = _validate_hw(doc, source)
        check_layers(config, self.shapes)
        return config

    @functools.cached_property
    def shapes(self) -> tuple[tuple[str, int, int, int, int], ...]:
        """Every distinct GEMM shape of the sweep's traces (for :func:`nmsim.sim.bounds.check_layers`)."""
        seen: dict[tuple[int, int, int, int], str] = {}
        for t in self.traces:
            for x in t.trace.layers:
                seen.setdefault((x.m, x.n, x.k, x.repeat), x.name)  # type: ignore[arg-type]
        return tuple((name, *shape) for shape, name in seen.items())


_SECTIONS = ("array", "sparse", "memory", "energy")


def _validate_hw(doc: dict[str, Any], source: str) -> HardwareConfig:
    try:
        return HardwareConfig.model_validate(doc)
    except ValidationError as exc:
        raise from_validation_error(exc, source) from None


def _copy_doc(doc: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Copy of ``doc`` that :func:`apply_overrides` may modify for ``keys``: each top-level section an
    override falls in is copied whole; the other sections are shared (and left untouched)."""
    root = dict(doc)
    for key in keys:
        top = HW_ALIASES.get(key, key).split(".")[0]
        if isinstance(root.get(top), dict) and root[top] is doc[top]:
            root[top] = _copy_tree(doc[top])
    return root


def _copy_tree(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy_tree(v) for v in node]
    return node


def resolve_traces(items: list[Trace | str]) -> list[TraceEntry]:
    """Load the spec's traces: paths, globs (sorted), names of shipped traces, or Trace objects."""
    if not items:
        return [TraceEntry(str(default_trace_path()), load_trace(default_trace_path()))]
    out: list[TraceEntry] = []
    for item in items:
        if isinstance(item, Trace):
            out.append(TraceEntry("", item))
            continue
        for path in expand_trace_paths(item):
            out.append(TraceEntry(path, load_trace(path)))
    return out


def resolve_hw_bases(names: list[str]) -> list[HwBase]:
    """Read each base config's document once (the default config when ``names`` is empty)."""
    out = []
    for name in names or [DEFAULT_HARDWARE]:
        path = resolve_hardware_path(name)
        out.append(HwBase(name, str(path), read_document(path)))
    return out


def make_plan(spec: SweepSpec) -> SweepPlan:
    """Resolve ``spec``; every hardware combination is built once here so bad values fail early."""
    traces = resolve_traces(list(spec.traces))
    hw = resolve_hw_bases(list(spec.hw))
    keys = tuple(spec.params)
    values = tuple(tuple(spec.params[k]) for k in keys)
    plan = SweepPlan(tuple(traces), tuple(spec.nm), tuple(hw), keys, values, spec.compat, "", spec.residency)
    digest = hashlib.sha256(_fingerprint_text(plan).encode()).hexdigest()
    plan = SweepPlan(plan.traces, plan.nm, plan.hw, keys, values, spec.compat, digest, spec.residency)
    if plan.n_points > MAX_SWEEP_POINTS:
        raise NmsimInputError(
            "sweep",
            f"at most {MAX_SWEEP_POINTS:,} points (MAX_SWEEP_POINTS): traces × patterns × configs",
            plan.n_points,
        )
    _check_combos(plan)
    return plan


def _check_combos(plan: SweepPlan) -> None:
    """Validate each parameter value once, against the first base config (a cheap early error)."""
    if not plan.param_keys:
        for h in range(plan.n_hw):
            plan.build_hw(h)
        return
    seen: set[tuple[int, str, str]] = set()
    for base_i in range(len(plan.hw)):
        for ki, key in enumerate(plan.param_keys):
            for value in plan.param_values[ki]:
                tag = (base_i, key, canonical_value(value))
                if tag in seen:
                    continue
                seen.add(tag)
                doc = apply_overrides(_copy_doc(plan.hw[base_i].doc, (key,)), {key: value})
                try:
                    HardwareConfig.model_validate(doc)
                except ValidationError as exc:
                    raise from_validation_error(exc, f"{plan.hw[base_i].source} with {key}={value}") from None


def _fingerprint_text(plan: SweepPlan) -> str:
    return json.dumps(
        {
            "format": FORMAT_VERSION,
            "traces": [[t.file, trace_to_json(t.trace)] for t in plan.traces],
            "nm": list(plan.nm),
            "hw": [[h.name, json.dumps(h.doc, sort_keys=True, default=str)] for h in plan.hw],
            "params": [
                [k, [canonical_value(v) for v in vals]]
                for k, vals in zip(plan.param_keys, plan.param_values, strict=True)
            ],
            "compat": plan.compat,
            "residency": plan.residency,
        },
        sort_keys=True,
    )
