"""What a sweep covers: traces × N:M patterns × hardware configs × hardware parameter values.

A :class:`SweepSpec` comes from CLI flags, a YAML sweep file (:func:`load_spec`) or Python. Sweep
files are read with a YAML loader that keeps ``1:4`` a string (YAML 1.1 would read it as the
base-60 integer 64).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nmsim.errors import NmsimInputError
from nmsim.io.loaders import HW_ALIASES, read_document, validate_model
from nmsim.schemas.trace import Trace, check_pattern

RECORDED = "recorded"
"""The ``nm`` value that leaves every layer's pattern as the trace records it."""

ParamValue = int | float | bool | str | list[str]


class SweepSpec(BaseModel):
    """A sweep: the product ``traces × nm × hw × params``.

    Attributes:
        traces: trace files (paths, globs, or names of shipped traces) or :class:`Trace` objects;
            empty = the shipped default trace.
        nm: N:M patterns imposed on every *sparsifiable* layer (``'n:m'``, ``'dense'``), or
            ``'recorded'`` to keep the trace's own patterns (the default).
        hw: base hardware configs (shipped names or YAML paths); empty = the default config.
        params: hardware fields to sweep, each a list of values: an alias (``rows``, ``cols``,
            ``dataflow``, ``clock_ghz``, ``cores``, ``modes``, ``dram_bandwidth_gbps``,
            ``ifmap_kb``, ``filter_kb``, ``ofmap_kb``, ``dtype``) or any dotted path of the config
            (``memory.ifmap.size_kb``, ``sparse.mux_extra_cycles``, ...). Order = column order; the
            last parameter varies fastest.
        compat: ``'scalesim'`` for SCALE-Sim v3 timing, else None.
        residency: ``'auto'`` (default, as ``nmsim simulate``): layer outputs stay on chip for their
            consumers where the trace has edges and the activation level holds them; ``'none'``: every
            layer's DRAM round trip (:mod:`nmsim.sim.residency`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    traces: list[Trace | str] = Field(default_factory=list)
    nm: list[str] = Field(default_factory=lambda: [RECORDED])
    hw: list[str] = Field(default_factory=list)
    params: dict[str, list[ParamValue]] = Field(default_factory=dict)
    compat: Literal["scalesim"] | None = None
    residency: Literal["auto", "none"] = "auto"

    @field_validator("traces", mode="before")
    @classmethod
    def _traces(cls, v: Any) -> Any:
        if isinstance(v, str | Path | Trace):
            v = [v]
        return [str(t) if isinstance(t, Path) else t for t in v]

    @field_validator("hw", mode="before")
    @classmethod
    def _hw(cls, v: Any) -> Any:
        if isinstance(v, str | Path):
            v = [v]
        return [str(h) for h in v]

    @field_validator("nm", mode="before")
    @classmethod
    def _nm(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple) or not v:
            raise ValueError("give at least one pattern ('n:m', 'dense' or 'recorded')")
        out = []
        for item in v:
            if isinstance(item, int) and not isinstance(item, bool):
                raise ValueError(f"pattern {item!r} is a number: quote N:M patterns, e.g. '2:4'")
            text = str(item).strip().lower()
            try:
                out.append(RECORDED if text == RECORDED else check_pattern(text, "nm"))
            except NmsimInputError as exc:
                raise ValueError(f"{exc.allowed} (got {text!r})") from None
        dup = {x for x in out if out.count(x) > 1}
        if dup:
            raise ValueError(f"each pattern once; repeated: {sorted(dup)}")
        return out

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, v: Any) -> Any:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("a mapping of hardware field -> list of values")
        out: dict[str, list[Any]] = {}
        for key, values in v.items():
            key = str(key).strip()
            if key not in HW_ALIASES and "." not in key:
                allowed = ", ".join(HW_ALIASES)
                raise ValueError(f"unknown parameter {key!r}: use one of {allowed} or a dotted config path")
            vals = list(values) if isinstance(values, list | tuple) else [values]
            if not vals:
                raise ValueError(f"parameter {key!r} has no values")
            seen = [canonical_value(x) for x in vals]
            dup = {x for x in seen if seen.count(x) > 1}
            if dup:
                raise ValueError(f"parameter {key!r} repeats {sorted(dup)}")
            out[key] = vals
        return out


def canonical_value(value: Any) -> str:
    """A swept value as it appears in the results table (lists joined by commas; [] → 'none')."""
    if isinstance(value, list | tuple):
        return ",".join(str(x) for x in value) if value else "none"
    return str(value)


def parse_param(text: str) -> tuple[str, list[ParamValue]]:
    """Parse a ``--param`` flag: ``KEY=V1,V2,…``; ``[a,b]`` is one list value (e.g. sparse modes).

    Values become int, float or bool where they read as one, else strings.
    """
    if "=" not in text:
        raise NmsimInputError("--param", "expected KEY=V1,V2,... e.g. rows=32,64,128", text)
    key, _, rest = text.partition("=")
    items, depth, cur = [], 0, ""
    for ch in rest:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    values: list[ParamValue] = []
    for raw in items:
        item = raw.strip()
        if not item:
            raise NmsimInputError("--param", f"empty value in '{key}'; expected KEY=V1,V2,...", text)
        if item.startswith("[") and item.endswith("]"):
            inner = [x.strip() for x in item[1:-1].split(",") if x.strip()]
            values.append(inner)
        else:
            values.append(_scalar(item))
    return key.strip(), values


def _scalar(item: str) -> ParamValue:
    low = item.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(item)  # type: ignore[no-any-return]
        except ValueError:
            pass
    return item


def split_list(values: list[str] | None) -> list[str]:
    """Flatten repeated/comma-separated CLI values: ``['1:4,2:4', '1:8']`` → ``['1:4', '2:4', '1:8']``."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def make_spec(source: str = "sweep spec", **fields: Any) -> SweepSpec:
    """Validate ``fields`` into a :class:`SweepSpec`; errors become one :class:`NmsimInputError` line."""
    return validate_model(SweepSpec, fields, source)


def load_spec(path: str | Path) -> SweepSpec:
    """Read a YAML sweep file; relative trace and hardware paths are taken from the file's folder."""
    p = Path(path)
    doc = read_document(p)
    if not isinstance(doc, dict):
        raise NmsimInputError(
            "(root)", "a sweep file is a mapping: traces, nm, hw, params, compat", source=str(p)
        )
    base = p.parent
    for key in ("traces", "hw"):
        val = doc.get(key)
        items = [val] if isinstance(val, str) else val
        if isinstance(items, list):
            doc[key] = [_relative(str(x), base) if isinstance(x, str) else x for x in items]
    return make_spec(str(p), **doc)


def _relative(item: str, base: Path) -> str:
    """``item`` relative to ``base`` when that names an existing file (or a glob matching some)."""
    candidate = base / item
    if Path(item).is_absolute():
        return item
    if candidate.exists() or (any(c in item for c in "*?[") and list(base.glob(item))):
        return str(candidate)
    return item


def merge_spec(spec: SweepSpec | None, **flags: Any) -> SweepSpec:
    """``spec`` (or an empty one) with every non-empty flag replacing its field; ``params`` merge
    per parameter."""
    data: dict[str, Any] = spec.model_dump() if spec is not None else {}
    if spec is not None:
        data["traces"] = list(spec.traces)
    for key, value in flags.items():
        if value in (None, [], {}, ()):
            continue
        if key == "params":  # --param adds a parameter or replaces that one's values
            data["params"] = {**data.get("params", {}), **value}
        else:
            data[key] = value
    return make_spec("sweep flags", **data)
