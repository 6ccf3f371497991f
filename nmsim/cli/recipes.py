"""``nmsim recipes``: cost per decay recipe — accuracy, inference and the whole training run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from nmsim.cli import fail
from nmsim.cli.common import check_outputs, console, emit, fmt_energy, fmt_time, resolve_hw
from nmsim.cost.compare import RecipeRow, recipe_rows
from nmsim.cost.options import CostOptions
from nmsim.io.atomic import check_output_path, transaction
from nmsim.io.loaders import expand_trace_paths, load_trace
from nmsim.io.registry import DEFAULT_HARDWARE
from nmsim.limits import MAX_LANES
from nmsim.plots.recipes import plot_recipes
from nmsim.plots.style import KIND_COLOURS
from nmsim.schemas.trace import Trace
from nmsim.workloads.scope import check_scope

_KIND_LABEL = {
    "structure": "struct. decay",
    "decay": "mask decay",
    "finetune": "fine-tune",
    "mask": "mask work",
}


def collect_traces(paths: list[Path]) -> list[Trace]:
    """Load trace files; a folder contributes every ``*.json`` in it (sorted by name)."""
    return [load_trace(f) for p in paths for f in expand_trace_paths(p)]


def _pct(x: float) -> str:
    if 0 < x < 0.001:
        return "<0.1%"
    return f"{x:.0%}" if x >= 0.095 else f"{x:.1%}"


def _accuracy(row: RecipeRow) -> str:
    if row.accuracy is None:
        return "—"
    std = f" ± {100 * row.accuracy_std:.2f}" if row.accuracy_std is not None else ""
    return f"{100 * row.accuracy:.2f}{std}"


_PREFIXES = (
    (1e-12, "p"),
    (1e-9, "n"),
    (1e-6, "µ"),
    (1e-3, "m"),
    (1.0, ""),
    (1e3, "k"),
    (1e6, "M"),
    (1e9, "G"),
)


def _unit(values: list[float], unit: str) -> tuple[float, str]:
    """(divisor, label) of the SI prefix that puts the column's largest value in [1, 1000)."""
    top = max((v for v in values if v), default=1.0)
    for factor, prefix in _PREFIXES:
        if top < factor * 1000:
            return factor, prefix + unit
    return _PREFIXES[-1][0], _PREFIXES[-1][1] + unit


def print_whole(table: Table) -> None:
    """Print ``table`` without cropping a cell: the console is widened to the table's natural width
    when the terminal is narrower or the output is piped."""
    from rich.console import Console
    from rich.measure import Measurement

    con = console()
    width = Measurement.get(con, con.options.update(max_width=100_000), table).maximum
    if width > con.width:
        con = Console(soft_wrap=False, width=width)
    con.print(table)


def summary_table(rows: list[RecipeRow], hardware: str) -> Table:
    """The summary: one row per recipe; numeric columns share one unit, given in the header."""
    t = Table(title=f"cost per recipe on {hardware}", title_justify="left")
    many_models = len({r.model for r in rows}) > 1
    trained = [r.training for r in rows if r.training is not None]
    inf_lat = _unit([r.inference.latency_s for r in rows], "s")
    inf_e = _unit([r.inference.energy_pj * 1e-12 for r in rows], "J")
    tr_lat = _unit([tc.total.latency_s for tc in trained], "s")
    tr_e = _unit([tc.total.energy_pj * 1e-12 for tc in trained], "J")
    seeds = any(len(r.traces) > 1 for r in rows)
    cols = [("model", "left")] if many_models else []
    cols += [("recipe", "left"), ("target", "left")]
    cols += [("seeds", "right")] if seeds else []
    cols += [
        ("accuracy\n%", "right"),
        (f"inf\nlatency\n{inf_lat[1]}", "right"),
        (f"inf\nenergy\n{inf_e[1]}", "right"),
        ("inf\nPE\nutil", "right"),
        (f"train\ntime\n{tr_lat[1]}", "right"),
        (f"train\nenergy\n{tr_e[1]}", "right"),
        ("train\nPE\nutil", "right"),
        ("train\nFLOPs\n÷dense", "right"),
        ("train\nenergy\n÷dense", "right"),
    ]
    for name, just in cols:
        t.add_column(name, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for r in rows:
        tc = r.training
        cells = [r.model] if many_models else []
        cells += [escape(r.recipe_text), r.target.replace("unstructured", "unstruct.")]
        cells += [str(len(r.traces))] if seeds else []
        cells += [
            _accuracy(r),
            f"{r.inference.latency_s / inf_lat[0]:.4g}",
            f"{r.inference.energy_pj * 1e-12 / inf_e[0]:.4g}",
            f"{r.inference.pe_utilization:.1%}",
            f"{tc.total.latency_s / tr_lat[0]:.4g}" if tc else "—",
            f"{tc.total.energy_pj * 1e-12 / tr_e[0]:.4g}" if tc else "—",
            f"{tc.total.pe_utilization(tc.pes):.1%}" if tc else "—",
            f"{tc.flops_vs_dense:.3f}" if tc else "—",
            f"{tc.energy_vs_dense:.3f}" if tc else "—",
        ]
        t.add_row(*cells)
    return t


def share_table(rows: list[RecipeRow], hardware: str) -> Table:
    """Share of each training run's energy and time per phase kind (mask work apart)."""
    t = Table(title=f"training run by phase kind on {hardware}: energy % / time %", title_justify="left")
    kinds = [k for k in KIND_COLOURS if any(r.phase_kind_share().get(k) for r in rows)]
    t.add_column("recipe", no_wrap=True)
    t.add_column("target", no_wrap=True)
    for k in kinds:
        t.add_column(_KIND_LABEL.get(k, k), justify="right", no_wrap=True)
    for r in rows:
        if r.training is None:
            continue
        e, s = r.phase_kind_share("energy_pj"), r.phase_kind_share("latency_s")
        cells = [f"{_pct(e[k])} / {_pct(s[k])}" if k in e and (e[k] or s[k]) else "" for k in kinds]
        t.add_row(escape(r.recipe_text), r.target.replace("unstructured", "unstruct."), *cells)
    return t


def phase_table(rows: list[RecipeRow], hardware: str) -> Table:
    t = Table(title=f"training cost by phase on {hardware}", title_justify="left")
    for name, just in (
        ("recipe", "left"),
        ("target", "left"),
        ("phase", "left"),
        ("kind", "left"),
        ("steps", "right"),
        ("time", "right"),
        ("energy", "right"),
        ("mask work", "right"),
        ("PE util", "right"),
        ("FLOPs/dense", "right"),
    ):
        t.add_column(name, justify=just)  # type: ignore[arg-type]
    for r in rows:
        if r.training is None:
            continue
        for ph in r.training.phases:
            tot = ph.total
            t.add_row(
                escape(r.recipe_text),
                r.target,
                ph.name,
                ph.kind,
                f"{ph.start_step}–{ph.end_step}",
                fmt_time(tot.latency_s),
                fmt_energy(tot.energy_pj),
                fmt_energy(ph.by_bucket["mask"].energy_pj),
                f"{tot.pe_utilization(r.pes):.1%}",
                f"{tot.flops / tot.flops_dense:.3f}" if tot.flops_dense else "—",
            )
    return t


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def recipes(
    traces: list[Path] = typer.Argument(
        ..., help="trace files or folders of traces (e.g. traces/translation)"
    ),
    hw: list[str] | None = typer.Option(
        None,
        "--hw",
        help="hardware config (name or YAML path); repeat for several (default: the default config, nmsim hw list)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON (one object per hardware config)"),
    out: Path | None = typer.Option(None, "--out", help="write the JSON to this file (atomic)"),
    plot: Path | None = typer.Option(None, "--plot", help="folder for one PNG per hardware config"),
    phases: bool = typer.Option(False, "--phases", help="also print the per-phase table"),
    nm: str | None = typer.Option(None, "--nm", help="n:m for traces without a training record"),
    scope: str = typer.Option(
        "ff", "--scope", help="layers --nm applies to: ff | ff+qk | ff+qkv | ff+qkvo | all"
    ),
    transposable: bool = typer.Option(
        False, "--transposable", help="masks N:M along both axes: the data gradient runs sparse too"
    ),
    output_sparse_wgrad: bool = typer.Option(
        False, "--output-sparse-wgrad", help="hardware skips outputs: dW of pruned weights not computed"
    ),
    mdgf_forward: str = typer.Option(
        "dense", "--mdgf-forward", help="steps with decay factor D>0: dense | split (N:M + complement GEMM)"
    ),
    no_refresh: bool = typer.Option(False, "--no-refresh", help="leave mask work out of the totals"),
    refresh_lanes: int = typer.Option(
        0, "--refresh-lanes", min=0, max=MAX_LANES, help="mask-unit ops/cycle (0: array cols × cores)"
    ),
    fused_refresh: bool = typer.Option(
        False, "--fused-refresh", help="masks computed in the optimizer's weight pass: no extra weight read"
    ),
    residency: str = typer.Option(
        "auto",
        "--residency",
        help="auto: inputs and gradients read on chip where edges allow | none: all from DRAM",
    ),
) -> None:
    """One row per recipe (and N:M target): accuracy, inference cost, training-run cost, FLOPs vs dense."""
    check_outputs(out)
    check_output_path(plot, "--plot", folder=True)
    if nm is not None:
        check_scope(scope)
    opts = CostOptions(
        transposable=transposable,
        output_sparse_wgrad=output_sparse_wgrad,
        mdgf_forward=mdgf_forward,  # type: ignore[arg-type]
        include_refresh=not no_refresh,
        refresh_lanes=refresh_lanes,
        fused_refresh=fused_refresh,
        residency=residency,  # type: ignore[arg-type]
    )
    loaded = collect_traces(traces)
    configs = [resolve_hw(h) for h in (hw or [DEFAULT_HARDWARE])]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        fail("--hw: the same hardware config is given twice")
    results = [(c, recipe_rows(loaded, c, opts, nm, scope)) for c in configs]
    with transaction():  # the plots and the JSON: all or none
        if plot is not None:
            for c, rows in results:
                path = plot_recipes(rows, c.name, plot / f"recipes_{_safe(c.name)}.png")
                typer.echo(f"wrote {path}", err=True)
        if as_json or out is not None:
            doc = [
                {"hardware": c.name, "options": opts.to_dict(), "rows": [r.to_dict() for r in rows]}
                for c, rows in results
            ]
            emit(json.dumps(doc, indent=1) + "\n", out)
            return
    for c, rows in results:
        print_whole(summary_table(rows, c.name))
        if any(r.training for r in rows):
            print_whole(share_table(rows, c.name))
        if phases:
            print_whole(phase_table(rows, c.name))
    console().print(
        "[dim]train FLOPs ÷dense: ideal training FLOPs (docs/references.md#flops-training) over dense "
        "training of the same model "
        "and steps; energy ÷dense: the same on this hardware; the model and its options: docs/recipes_cost.md[/dim]"
    )


def register(app: typer.Typer) -> None:
    app.command("recipes")(recipes)
