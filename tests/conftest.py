"""Shared fixtures: a tiny hand-checkable hardware config and CLI helpers."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import nmsim
from nmsim.schemas.hardware import HardwareConfig

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


def load_script(path: Path, name: str) -> ModuleType:
    """A benchmark script (not a package module) imported as module ``name`` for testing; it is
    registered in ``sys.modules`` because dataclasses resolve their annotations through it."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _entry(pj: float) -> dict[str, Any]:
    return {"pj": pj, "node_nm": 45, "source": "test value"}


def tiny_doc(
    rows: int = 4,
    cols: int = 4,
    dataflow: str = "ws",
    modes: list[str] | None = None,
    buffers_kb: float = 1024.0,
    bandwidth_gbps: float = 1e6,
) -> dict[str, Any]:
    """A config whose every energy is 1 pJ per event (per byte for memories), at 1 GHz."""
    src = {"size_kb": "test", "word_bytes": "test"}
    return {
        "name": "tiny",
        "default_dtype": "int8",
        "array": {
            "rows": rows,
            "cols": cols,
            "dataflow": dataflow,
            "clock_ghz": 1.0,
            "sources": {"rows": "t", "cols": "t", "clock_ghz": "t"},
        },
        "sparse": ({"kind": "nm", "modes": modes, "sources": {}} if modes else {"kind": "none"}),
        "memory": {
            "ifmap": {"size_kb": buffers_kb, "word_bytes": 1, "sources": src},
            "filter": {"size_kb": buffers_kb, "word_bytes": 1, "sources": src},
            "ofmap": {"size_kb": buffers_kb, "word_bytes": 1, "sources": src},
            "dram_bandwidth_gbps": bandwidth_gbps,
            "sources": {"dram_bandwidth_gbps": "t"},
        },
        "energy": {
            "node_nm": 45,
            "scaling": "none",
            "sources": {"node_nm": "t"},
            "mac": {"int8": _entry(1.0), "fp16": _entry(1.0)},
            "ifmap": {"read": _entry(1.0), "write": _entry(1.0)},
            "filter": {"read": _entry(1.0), "write": _entry(1.0)},
            "ofmap": {"read": _entry(1.0), "write": _entry(1.0)},
            "dram_per_byte": _entry(1.0),
            "metadata_per_bit": _entry(1.0),
            "mux_select": _entry(1.0),
            "static": {"watts": 0.0, "source": "test value"},
        },
    }


def tiny_hw(**kw: Any) -> HardwareConfig:
    return HardwareConfig.model_validate(tiny_doc(**kw))


@pytest.fixture
def tiny_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(tiny_doc()))
    return p


@pytest.fixture(scope="session")
def shipped() -> dict[str, HardwareConfig]:
    return {name: nmsim.load_hardware(name) for name in nmsim.io.registry.shipped_hardware()}


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Copy of ``doc`` with dotted ``path`` set (or deleted when value is ...)."""
    out = copy.deepcopy(doc)
    node = out
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[p]
    if value is ...:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return out
