"""Load and save hardware configs and traces; every failure becomes one :class:`NmsimInputError` line."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from nmsim.errors import NmsimInputError, from_validation_error
from nmsim.io.atomic import write_text_atomic
from nmsim.io.guard import check_document_text, parse_guarded, read_text
from nmsim.io.registry import data_dir, shipped_hardware
from nmsim.io.yaml_safe import load_yaml
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.migrate import migrate_hardware, resolve_override
from nmsim.schemas.trace import Trace

M = TypeVar("M", bound=BaseModel)

# Flat override names → path in the hardware config (anything else must be a dotted path).
HW_ALIASES: dict[str, str] = {
    "rows": "array.rows",
    "cols": "array.cols",
    "dataflow": "array.dataflow",
    "clock_ghz": "array.clock_ghz",
    "cores": "array.cores",
    "modes": "sparse.modes",
    "dram_bandwidth_gbps": "memory.dram_bandwidth_gbps",
    "ifmap_kb": "memory.ifmap.size_kb",
    "filter_kb": "memory.filter.size_kb",
    "ofmap_kb": "memory.ofmap.size_kb",
    "dtype": "default_dtype",
    "objective": "mapper.objective",
    "fallback": "sparse.fallback",
}


DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")
"""The file types nmsim reads configs, traces, recipes, sweep and measurement files from."""


def read_document(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML or JSON file, raising one-line errors for unreadable, malformed or hostile files
    (size, nesting depth and value count are checked before parsing: :mod:`nmsim.io.guard`)."""
    p = Path(path)
    if p.is_dir():
        raise NmsimInputError("file", f"'{p}' is a folder, not a JSON or YAML file")
    text = read_text(p)
    suffix = p.suffix.lower()
    known = suffix in DOCUMENT_SUFFIXES
    kind = suffix.lstrip(".") if known else "JSON or YAML"
    allowed = "" if known else f" (nmsim reads {', '.join(DOCUMENT_SUFFIXES)} files)"
    check_document_text(text, str(p), suffix == ".json")
    try:
        if suffix == ".json":
            data = parse_guarded(json.loads, text, str(p))
        else:
            data = parse_guarded(load_yaml, text, str(p))
    except NmsimInputError:
        raise
    except (json.JSONDecodeError, yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = getattr(exc, "lineno", None) or (mark.line + 1 if mark is not None else None)
        at = f" near line {where}" if where is not None else ""
        raise NmsimInputError("file", f"'{p}' is not valid {kind}{at}{allowed}") from None
    if not known and not isinstance(data, dict | list):
        raise NmsimInputError("file", f"'{p}' is not a JSON or YAML document{allowed}")
    return data


def validate_model(cls: type[M], data: Any, source: str | None, expected: str | None = None) -> M:
    """Validate a parsed document into the pydantic model ``cls``; any failure is one line.

    ``expected`` describes the mapping a non-mapping document should have been.
    """
    if not isinstance(data, dict):
        raise NmsimInputError(
            "(root)", expected or f"expected a mapping of fields in {cls.__name__}", source=source
        )
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, source) from None


def resolve_hardware_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A shipped config's name (``vegeta``) or a path to a YAML file → the file's path."""
    text = str(name_or_path)
    shipped = shipped_hardware()
    if text in shipped:
        return shipped[text]
    p = Path(text)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        return p
    raise NmsimInputError("hw", f"unknown config; shipped: {', '.join(shipped)} (or a path to a .yaml)", text)


def _set_path(doc: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    """Set ``dotted`` in ``doc``; cite ``source`` in the nearest enclosing section's ``sources``.

    Missing maps along the path are created (per-dtype tables such as ``array.efficiency.fp16``);
    a misspelt field is left for schema validation to reject with its one-line error.
    """
    parts = dotted.split(".")
    node = doc
    section, cited_key = None, None
    for i, part in enumerate(parts[:-1]):
        if "sources" in node:
            section, cited_key = node, part
        if isinstance(node, list):  # memory.levels.<index> (resolved by resolve_override)
            node = node[int(part)]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict | list):
            raise NmsimInputError(dotted, f"'{'.'.join(parts[: i + 1])}' is a value, not a section")
        node = child
    node[parts[-1]] = value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "sources" in node or (section is None and node is not doc):
            node.setdefault("sources", {})[parts[-1]] = source
        elif section is not None and cited_key is not None:
            section.setdefault("sources", {})[cited_key] = source


def apply_overrides(
    doc: dict[str, Any], overrides: dict[str, Any], source: str = "user override"
) -> dict[str, Any]:
    """Set ``overrides`` (alias or dotted path → value) in a hardware document, citing ``source``.

    A 1.x document is migrated to 2.0 first (the returned document is 2.0); level paths
    (``memory.levels.<name|index|@operand|@dram>.<field>``) and 1.x paths resolve through
    :func:`nmsim.schemas.migrate.resolve_override`.
    """
    doc = migrate_hardware(doc)
    for key, value in overrides.items():
        if value is None:
            continue
        path, value = resolve_override(doc, HW_ALIASES.get(key, key), value)
        if path == "sparse.modes":
            sparse = doc.setdefault("sparse", {})
            modes = [value] if isinstance(value, str) else list(value)
            modes = [m for m in modes if m not in ("", "none", "dense")]
            sparse["modes"] = modes
            sparse.pop("mode_ranges", None)
            sparse["kind"] = sparse.get("kind", "nm") if modes else "none"
            if sparse["kind"] == "none" and modes:
                sparse["kind"] = "nm"
            continue
        _set_path(doc, path, value, source)
    return doc


def hardware_from_document(doc: Any, source: str) -> HardwareConfig:
    """Validate a parsed hardware document (one-line errors naming ``source``)."""
    return validate_model(HardwareConfig, doc, source)


def load_hardware(name_or_path: str | os.PathLike[str], **overrides: Any) -> HardwareConfig:
    """Load a hardware config by shipped name or path, applying ``overrides`` (e.g. ``rows=64``)."""
    path = resolve_hardware_path(name_or_path)
    doc = read_document(path)
    source = str(path)
    if overrides and isinstance(doc, dict):
        doc = apply_overrides(doc, overrides)
        source += " with overrides " + ", ".join(f"{k}={v}" for k, v in overrides.items() if v is not None)
    return validate_model(HardwareConfig, doc, source)


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Load and validate one trace (JSON or YAML): a file, a shipped trace's name
    (``wmt_transformer_1x8``, ``zoo/vit_b16``), or a folder or glob that names exactly one file."""
    files = expand_trace_paths(path)
    if len(files) != 1:
        raise NmsimInputError(
            "trace", f"one trace; this names {len(files)} files (nmsim.load_traces reads them all)", str(path)
        )
    return validate_model(Trace, read_document(files[0]), files[0])


def load_traces(item: str | os.PathLike[str]) -> list[Trace]:
    """Every trace ``item`` names: a file, a shipped name, a folder (its ``*.json``) or a glob."""
    return [validate_model(Trace, read_document(f), f) for f in expand_trace_paths(item)]


def expand_trace_paths(item: str | os.PathLike[str]) -> list[str]:
    """Trace files named by ``item``: a file, a glob, a folder (its ``*.json``, sorted), or a shipped
    trace or folder by name (``wmt_transformer_1x8``, ``translation``)."""
    text = str(item)
    if Path(text).is_file():
        return [text]
    if any(c in text for c in "*?["):
        found = sorted(glob.glob(text))
        if not found:
            raise NmsimInputError("traces", "the pattern matches no file", text)
        return found
    shipped = data_dir("traces")
    for cand in (Path(text), shipped / text, shipped / f"{text}.json"):
        if cand.is_dir():
            files = sorted(str(f) for f in cand.glob("*.json"))
            if not files:
                raise NmsimInputError("traces", "the folder holds no *.json trace", text)
            return files
        if cand.is_file():
            return [str(cand)]
    raise NmsimInputError(
        "traces", "no such file (a path, a glob, a folder, or a shipped trace's name)", text
    )


def trace_to_json(trace: Trace) -> str:
    """Deterministic JSON text of a trace (schema_version always present, unset optionals omitted)."""
    data = trace.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def save_trace(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """Write ``trace`` atomically as JSON."""
    return write_text_atomic(path, trace_to_json(trace))
