"""``nmsim import-onnx``: an ONNX model → an nmsim trace (MatMul/Gemm/Conv, real N:M patterns)."""

from __future__ import annotations

from pathlib import Path

import typer

from nmsim.cli.common import check_outputs, emit
from nmsim.importers.onnx import import_onnx as read_onnx
from nmsim.io.loaders import trace_to_json
from nmsim.limits import MAX_DIM


def import_onnx(
    model: Path = typer.Argument(..., help="ONNX model file"),
    seq_len: int | None = typer.Option(
        None, "--seq-len", min=1, max=MAX_DIM, help="value of the inputs' symbolic sequence dims"
    ),
    batch: int = typer.Option(
        1, "--batch", min=1, max=MAX_DIM, help="value of the inputs' first (batch) dimension if symbolic"
    ),
    nm: str | None = typer.Option(None, "--nm", help="impose this n:m on the layers in --scope"),
    scope: str = typer.Option(
        "ff", "--scope", help="layers --nm applies to: ff | ff+qk | ff+qkv | ff+qkvo | all"
    ),
    dtype: str | None = typer.Option(
        None, "--dtype", help="data type of every layer (default: the hardware's)"
    ),
    name: str | None = typer.Option(None, "--name", help="trace name (default: the file's stem)"),
    out: Path | None = typer.Option(None, "--out", help="trace JSON to write (default: stdout)"),
) -> None:
    """Convert an ONNX model to a trace: GEMM shapes from shape inference, N:M read from the weights."""
    check_outputs(out)
    trace = read_onnx(model, seq_len=seq_len, batch=batch, nm=nm, scope=scope, name=name, dtype=dtype)
    emit(trace_to_json(trace), out)


def register(app: typer.Typer) -> None:
    app.command("import-onnx")(import_onnx)
