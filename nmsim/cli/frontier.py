"""``nmsim frontier``: accuracy (%) against latency/energy/EDP/training energy, one point per cell, Pareto frontier labelled."""

from __future__ import annotations

from pathlib import Path

import typer

from nmsim.cli.common import check_outputs, console
from nmsim.cli.gemm import SPARSE_KERNEL_OPTION
from nmsim.explore.checkpoint import read_results
from nmsim.explore.frontier import points_table, sweep_points, trace_points, x_axis
from nmsim.explore.plan import resolve_traces
from nmsim.explore.spec import split_list
from nmsim.io.atomic import transaction, write_text_atomic
from nmsim.io.loaders import load_hardware
from nmsim.io.registry import DEFAULT_HARDWARE, data_dir
from nmsim.plots.frontier import count_spots, plot_frontier
from nmsim.plots.style import check_plot_path


def default_traces() -> list[str]:
    """The shipped trained traces (``traces/translation/*.json``)."""
    return [str(p) for p in sorted((data_dir("traces") / "translation").glob("*.json"))]


def frontier(
    traces: list[str] | None = typer.Argument(
        None, help="trained traces (files or globs; default: the shipped traces/translation/*.json)"
    ),
    hw: list[str] | None = typer.Option(
        None, "--hw", help="hardware config(s), one panel each; repeat or comma-separate"
    ),
    x: str = typer.Option("latency", "--x", help="latency | energy | edp | training-energy"),
    y: str = typer.Option(
        "accuracy", "--y", help="accuracy, or a metric in metrics.extra / a results column"
    ),
    out: Path = typer.Option(..., "--out", help="plot file: .png, .svg or .pdf"),
    sweep: Path | None = typer.Option(
        None, "--sweep", help="plot a sweep's results (from nmsim sweep) instead"
    ),
    group: str = typer.Option("hw", "--group", help="with --sweep: the results column that splits panels"),
    csv: Path | None = typer.Option(
        None, "--csv", help="also write the points (and which are on the frontier)"
    ),
    title: str | None = typer.Option(None, "--title", help="plot title"),
    sparse_kernel: str | None = SPARSE_KERNEL_OPTION,
) -> None:
    """One point per cell (recipe, N:M target and density, variant, source; seeds as mean ± std) on each config; the Pareto frontier drawn and labelled."""
    from nmsim.cli import fail

    check_plot_path(out)
    check_outputs(out)
    check_outputs(csv, field="--csv")
    x_axis(x)
    if sweep is not None:
        if traces:
            fail("TRACE…/--sweep: give traces or a sweep's results, not both")
        if sparse_kernel not in (None, "tensor-core"):
            fail("--sparse-kernel: applies to traces, not to a sweep's results")
        points = sweep_points(read_results(sweep), x, y, group)
    else:
        items = list(traces or []) or default_traces()
        if not items:
            fail("traces: none given and no shipped trained traces (traces/translation/*.json) found")
        loaded = [t.trace for t in resolve_traces(items)]
        configs = [load_hardware(name) for name in split_list(hw) or [DEFAULT_HARDWARE]]
        points = trace_points(loaded, configs, x, y, sparse_kernel)
    with transaction():  # the plot and the CSV: both or neither
        plot_frontier(points, out, x, y, title)
        if csv is not None:
            write_text_atomic(csv, points_table(points).to_csv(index=False, lineterminator="\n"))
    front = sum(p.on_front for p in points)
    spots = count_spots(points)  # points on one spot share a label (the plot counts spots)
    where = "" if spots == front else f" ({spots} spots: points on one spot share a label)"
    console().print(f"wrote {out}: {len(points)} points, {front} on the frontier{where}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("frontier")(frontier)
