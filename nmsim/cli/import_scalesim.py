"""``nmsim import-scalesim``: a SCALE-Sim topology CSV → an nmsim trace."""

from __future__ import annotations

from pathlib import Path

import typer

from nmsim.cli.common import check_outputs, emit
from nmsim.importers.scalesim import read_topology
from nmsim.io.loaders import trace_to_json


def import_scalesim(
    topology: Path = typer.Argument(..., help="SCALE-Sim conv or GEMM topology CSV"),
    out: Path | None = typer.Option(None, "--out", help="trace JSON to write (default: stdout)"),
    name: str | None = typer.Option(None, "--name", help="trace name (default: the file's stem)"),
) -> None:
    """Convert a SCALE-Sim topology (conv via im2col, or GEMM M,N,K; v3 Sparsity column) to a trace."""
    check_outputs(out)
    emit(trace_to_json(read_topology(topology, name)), out)


def register(app: typer.Typer) -> None:
    app.command("import-scalesim")(import_scalesim)
