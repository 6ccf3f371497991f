"""Helpers shared by the CLI commands: hardware/trace resolution, output writing, rich tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from nmsim.io.atomic import check_output_path, write_text_atomic
from nmsim.io.loaders import expand_trace_paths, load_hardware, load_trace
from nmsim.io.registry import DEFAULT_HARDWARE, default_trace_path
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace

HW_OPTION = typer.Option(
    None, "--hw", help="hardware config: a shipped name (see `nmsim hw list`) or a YAML path"
)


def resolve_hw(hw: str | None, **overrides: Any) -> HardwareConfig:
    """Load ``hw`` (default config when None) with CLI overrides (None values are ignored)."""
    return load_hardware(hw or DEFAULT_HARDWARE, **{k: v for k, v in overrides.items() if v is not None})


def resolve_trace(item: str | Path | None) -> Trace:
    """Load one trace: a file, a shipped trace's name (or a glob/folder naming one file); the shipped
    default trace when None."""
    return load_trace(item if item is not None else default_trace_path())


def trace_files(item: str | Path | None) -> list[str]:
    """The trace files ``item`` names (file, shipped name, folder, glob); the default trace when None."""
    return expand_trace_paths(item) if item is not None else [str(default_trace_path())]


def check_outputs(*paths: Path | None, field: str = "--out") -> None:
    """Refuse unwritable output files before any work (see :func:`nmsim.io.atomic.check_output_path`)."""
    for p in paths:
        check_output_path(p, field)


def emit(text: str, out: Path | None) -> None:
    """Print ``text`` or write it atomically to ``out``."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)


def console() -> Console:
    return Console(soft_wrap=False, width=max(Console().width, 120))


def fmt_si(x: float, unit: str = "") -> str:
    """Engineering notation: 1.23 k, 4.5 M … (for tables)."""
    for div, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}".rstrip()


def fmt_energy(pj: float) -> str:
    """pJ → the readable unit (pJ, nJ, µJ, mJ, J)."""
    for div, unit in ((1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")):
        if pj >= div:
            return f"{pj / div:.4g} {unit}"
    return f"{pj:.4g} pJ"


def fmt_time(s: float) -> str:
    for mul, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if s >= mul:
            return f"{s / mul:.4g} {unit}"
    return f"{s / 1e-9:.4g} ns"


def kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    return table
