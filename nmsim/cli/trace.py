"""``nmsim trace validate|show|schema``: inspect layer traces."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from nmsim.cli.common import console
from nmsim.io.loaders import load_trace
from nmsim.schemas.trace import Trace

trace_app = typer.Typer(help="Layer traces: validate, show, print the JSON Schema.", no_args_is_help=True)


@trace_app.command("validate")
def validate(paths: list[Path] = typer.Argument(..., help="trace files")) -> None:
    """Validate traces; print one line per file, exit 2 on the first invalid one."""
    for p in paths:
        t = load_trace(p)
        extra = f", trained with {t.training.recipe}" if t.training else ""
        typer.echo(f"ok: {p} ({t.name}: {len(t.layers)} layers{extra})")


@trace_app.command("show")
def show(path: Path = typer.Argument(..., help="trace file")) -> None:
    """Summarise a trace: its layers, training schedule and metrics."""
    t = load_trace(path)
    c = console()
    c.print(f"[bold]{t.name}[/bold] (schema {t.schema_version}) {t.description}")
    table = Table(title="layers", title_justify="left")
    for col in ("layer", "op", "role", "M", "K", "N", "×", "weights", "density"):
        table.add_column(col)
    for layer in t.layers:
        dens = (
            layer.density
            if layer.density is not None
            else (layer.mask_stats.density if layer.mask_stats else None)
        )
        table.add_row(
            layer.name,
            layer.op,
            layer.role,
            str(layer.m),
            str(layer.k),
            str(layer.n),
            str(layer.repeat),
            layer.pattern,
            "" if dens is None else f"{dens:.4f}",
        )
    c.print(table)
    if t.training:
        tr = t.training
        shown = tr.sparsified_layers[0] if tr.sparsified_layers else None
        title = f"training: {tr.recipe} → {tr.target}, {tr.total_steps} steps"
        if shown:
            title += f" (state of {shown}, one of {len(tr.sparsified_layers)} sparsified layers)"
        ph = Table(title=title, title_justify="left")
        for col in ("phase", "kind", "steps", "pattern", "decay factor", "grad"):
            ph.add_column(col)
        for p in tr.phases:
            d = p.state(shown) if shown else p.default
            ph.add_row(
                p.name,
                p.kind,
                f"{p.start_step}-{p.end_step}",
                d.pattern,
                f"{d.decay_factor_start:.3g}→{d.decay_factor_end:.3g}",
                p.grad_mode,
            )
        c.print(ph)
    if t.metrics:
        m = t.metrics
        c.print(f"metrics: task {m.task}, {m.metric} {m.accuracy}, seed {m.seed}")


@trace_app.command("schema")
def schema() -> None:
    """Print the trace JSON Schema."""
    typer.echo(json.dumps(Trace.model_json_schema(), indent=1))


def register(app: typer.Typer) -> None:
    app.add_typer(trace_app, name="trace")
