"""``nmsim flops``: FLOPs as the papers count them (2 × MACs), by [PGF]'s self-attention / FF split."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from nmsim.cli.common import console, resolve_trace
from nmsim.cost.flops import OPERATOR_GROUPS, FlopsReport, count_flops
from nmsim.cost.training import training_flops
from nmsim.workloads.scope import apply_nm, check_scope


def _g(x: float) -> str:
    return f"{x / 1e9:,.2f}"


def flops_table(r: FlopsReport, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for name, just in (
        ("part", "left"),
        ("dense GFLOPs", "right"),
        ("GFLOPs", "right"),
        ("density", "right"),
    ):
        t.add_column(name, justify=just)  # type: ignore[arg-type]

    def row(name: str, dense: float, eff: float, bold: bool = False) -> None:
        dens = f"{eff / dense:.4g}" if dense else "—"
        cells = [name, _g(dense), _g(eff), dens]
        t.add_row(*([f"[bold]{c}[/bold]" for c in cells] if bold else cells))

    row("FLOPs_SA (Q, K, V, O, logit, attend)", r.sa_dense, r.sa)
    row("FLOPs_FF (FF1, FF2, gate) × S_FF", r.ff_dense, r.ff)
    row("FLOPs_tot = SA + FF ([PGF] Table 18)", r.sa_dense + r.ff_dense, r.pgf_total, bold=True)
    row("other (embedding, head, conv, ...)", r.other_dense, r.other)
    row("all layers", r.total_dense, r.total)
    return t


def operator_table(r: FlopsReport) -> Table:
    t = Table(title="by operator ([PGF] Table 17 groups) and role", title_justify="left")
    t.add_column("group")
    t.add_column("GFLOPs", justify="right")
    for name in OPERATOR_GROUPS:
        t.add_row(name, _g(r.by_operator[name]))
    for role, v in sorted(r.by_role.items()):
        t.add_row(f"role {role}", _g(v))
    return t


def flops(
    trace: Path | None = typer.Argument(None, help="trace JSON/YAML (default: the shipped WMT Transformer)"),
    nm: str | None = typer.Option(None, "--nm", help="impose this n:m on the layers in --scope"),
    scope: str = typer.Option(
        "ff", "--scope", help="layers --nm applies to: ff | ff+qk | ff+qkv | ff+qkvo | all"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Count a forward pass's FLOPs (2 × MACs, weights' zeros skipped), split as [PGF] Table 18."""
    check_scope(scope)
    t = resolve_trace(trace)
    if nm is not None:
        t = apply_nm(t, nm, scope)
    r = count_flops(t)
    train = training_flops(t) if t.training is not None else None
    if as_json:
        d = r.to_dict()
        d["nm"], d["scope"] = nm, scope if nm is not None else None
        if train is not None:
            d["training"] = {"flops": train[0], "flops_dense": train[1], "vs_dense": train[0] / train[1]}
        typer.echo(json.dumps(d, indent=1))
        return
    where = f" with {nm} on {scope}" if nm is not None else ""
    c = console()
    c.print(flops_table(r, f"{t.name}{where}: FLOPs of one forward pass (S_FF = {r.s_ff:.6g})"))
    c.print(operator_table(r))
    if train is not None:
        c.print(
            f"training run ({t.training.total_steps:,} steps, "  # type: ignore[union-attr]
            "the model of docs/references.md#flops-training): "
            f"{train[0] / 1e12:,.4g} TFLOPs = {train[0] / train[1]:.4f} × dense training"
        )


def register(app: typer.Typer) -> None:
    app.command("flops")(flops)
