"""``nmsim hw list|show``: the shipped hardware configs."""

from __future__ import annotations

import typer
import yaml
from rich.table import Table

from nmsim.cli.common import console
from nmsim.io.loaders import load_hardware, resolve_hardware_path
from nmsim.io.registry import DEFAULT_HARDWARE, shipped_hardware

hw_app = typer.Typer(
    help="Hardware configs: list the shipped ones, show one validated.", no_args_is_help=True
)


@hw_app.command("list")
def list_configs() -> None:
    """List shipped hardware configs (usable by name with --hw)."""
    t = Table(title="shipped hardware configs", title_justify="left")
    for col in ("name", "status", "array", "dataflow", "clock", "cores", "sparse modes", "dtype"):
        t.add_column(col)
    for name in shipped_hardware():
        hw = load_hardware(name)
        modes = ", ".join(str(m) for m in hw.sparse.mode_set) or "none"
        mark = " (default)" if name == DEFAULT_HARDWARE else ""
        t.add_row(
            name + mark,
            "legacy" if is_legacy(hw.description) else "current",
            f"{hw.array.rows}x{hw.array.cols}",
            hw.array.dataflow,
            f"{hw.array.clock_ghz} GHz",
            str(hw.array.cores),
            f"{hw.sparse.kind}: {modes}" if hw.sparse.kind != "none" else "none",
            hw.default_dtype,
        )
    console().print(t)


@hw_app.command("show")
def show(name: str = typer.Argument(..., help="shipped name or YAML path")) -> None:
    """Validate a config and print it as YAML (with its path)."""
    hw = load_hardware(name)
    typer.echo(f"# {resolve_hardware_path(name)}")
    typer.echo(yaml.safe_dump(hw.model_dump(mode="json"), sort_keys=False, width=110), nl=False)


def is_legacy(description: str) -> bool:
    """A config kept only under its old name (mixed sources): its description starts with ``LEGACY``."""
    return description.lstrip().startswith("LEGACY")


def register(app: typer.Typer) -> None:
    app.add_typer(hw_app, name="hw")
