"""Where the shipped hardware configs and traces live (repo checkout or installed wheel)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def data_dir(kind: str) -> Path:
    """Folder of shipped ``kind`` files (``hw_configs`` or ``traces``): the wheel's copy, else the repo's."""
    installed = _PACKAGE / "_data" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind


def shipped_hardware() -> dict[str, Path]:
    """Name → path of every shipped hardware config."""
    return {p.stem: p for p in sorted(data_dir("hw_configs").glob("*.yaml"))}


# The default machine and trace are chosen together (README, "Defaults"): a calibrated GPU with 2:4 sparse
# tensor cores, and a trace whose sparse FF layers are large enough (3072 tokens) to gain on it.
DEFAULT_HARDWARE = "nvidia_h100_sxm"
DEFAULT_TRACE = "wmt_transformer_1x8_b12.json"


def default_trace_path() -> Path:
    """The shipped default trace (the seed paper's WMT Transformer, 12 sentence pairs, FF layers 1:8)."""
    return data_dir("traces") / DEFAULT_TRACE
