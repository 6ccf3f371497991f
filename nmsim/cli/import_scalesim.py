"""``nmsim import-scalesim``: a SCALE-Sim topology CSV → an nmsim trace."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nmsim.cli.common import emit
from nmsim.importers.scalesim import read_topology
from nmsim.io.loaders import trace_to_json


def import_scalesim(
    topology: Path = typer.Argument(..., help="SCALE-Sim conv or GEMM topology CSV"),
    out: Optional[Path] = typer.Option(None, "--out", help="trace JSON to write (default: stdout)"),  # noqa: UP045
    name: Optional[str] = typer.Option(None, "--name", help="trace name (default: the file's stem)"),  # noqa: UP045
) -> None:
    """Convert a SCALE-Sim topology (conv via im2col, or GEMM M,N,K; v3 Sparsity column) to a trace."""
    emit(trace_to_json(read_topology(topology, name)), out)


def register(app: typer.Typer) -> None:
    app.command("import-scalesim")(import_scalesim)
