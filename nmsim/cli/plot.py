"""``nmsim plot roofline|breakdown``: where a trace's time and energy go on a hardware config."""

from __future__ import annotations

from pathlib import Path

import typer

from nmsim.cli.common import HW_OPTION, console, resolve_hw, resolve_trace
from nmsim.io.atomic import check_output_path
from nmsim.limits import MAX_LABELS
from nmsim.plots.style import check_plot_path

plot_app = typer.Typer(
    help="Plots of one trace on one config: roofline, per-layer breakdown.", no_args_is_help=True
)
TRACE_ARG = typer.Argument(None, help="trace JSON/YAML (default: the shipped WMT Transformer)")
OUT_OPT = typer.Option(..., "--out", help="plot file: .png, .svg or .pdf")


@plot_app.command("roofline")
def roofline(
    trace: Path | None = TRACE_ARG,
    hw: str | None = HW_OPTION,
    out: Path = OUT_OPT,
    label_top: int = typer.Option(
        6, "--label-top", min=0, max=MAX_LABELS, help="name this many of the slowest layers"
    ),
) -> None:
    """Each layer's dense-equivalent throughput against its DRAM intensity, under the roofs."""
    from nmsim.plots.roofline import plot_roofline

    check_plot_path(out)
    check_output_path(out)
    plot_roofline(resolve_trace(trace), resolve_hw(hw), out, label_top)
    console().print(f"wrote {out}", highlight=False)


@plot_app.command("breakdown")
def breakdown(
    trace: Path | None = TRACE_ARG,
    hw: str | None = HW_OPTION,
    out: Path = OUT_OPT,
    by: str = typer.Option("group", "--by", help="group (block numbers merged) | layer"),
) -> None:
    """Energy by component, PE utilization and latency share per layer (group)."""
    from nmsim.plots.breakdown import plot_breakdown

    check_plot_path(out)
    check_output_path(out)
    plot_breakdown(resolve_trace(trace), resolve_hw(hw), out, by)
    console().print(f"wrote {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(plot_app, name="plot")
