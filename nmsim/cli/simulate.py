"""``nmsim simulate``: per-layer table and totals for a trace on a hardware config."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from nmsim.cli import fail
from nmsim.cli.clock_options import CLOCK_STATE_OPTION, LIBRARY_OPTION, clocked
from nmsim.cli.common import (
    HW_OPTION,
    console,
    emit,
    fmt_energy,
    fmt_si,
    fmt_time,
    kv_table,
    resolve_hw,
    resolve_trace,
)
from nmsim.sim.report import Report
from nmsim.sim.simulate import simulate as run_simulation


def _table(report: Report) -> Table:
    t = Table(title=f"{report.trace_name} on {report.hardware}", title_justify="left")
    for col, just in (
        ("layer", "left"),
        ("M", "right"),
        ("K", "right"),
        ("N", "right"),
        ("×", "right"),
        ("weights", "center"),
        ("mode", "center"),
        ("cycles", "right"),
        ("stall", "right"),
        ("PE util", "right"),
        ("energy", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in report.layers:
        t.add_row(
            r.name,
            str(r.m),
            str(r.k),
            str(r.n),
            str(r.repeat),
            r.pattern,
            r.hw_mode,
            f"{r.cycles:,}",
            f"{r.stall_cycles / r.cycles:.0%}",
            f"{r.pe_utilization:.1%}",
            fmt_energy(r.energy_pj),
        )
    return t


def _totals(report: Report, state_text: str) -> Table:
    tot = report.totals
    rows = [
        ("clock state", state_text),
        ("cycles", f"{tot.cycles:,} ({tot.compute_cycles:,} compute + {tot.stall_cycles:,} stall)"),
        ("latency", fmt_time(tot.latency_s)),
        ("PE utilization", f"{tot.pe_utilization:.1%}"),
        ("effective throughput", f"{fmt_si(tot.effective_macs_per_cycle)} dense-equivalent MACs/cycle"),
        ("MACs dense / issued", f"{fmt_si(tot.dense_macs)} / {fmt_si(tot.issued_macs)}"),
        ("DRAM traffic", fmt_si(tot.dram_bytes, "B")),
        ("energy", fmt_energy(tot.energy_pj)),
    ]
    rows += [(f"  {k}", fmt_energy(v)) for k, v in tot.energy_breakdown_pj.items() if v > 0]
    return kv_table("totals", rows)


def simulate(
    trace: Path | None = typer.Argument(None, help="trace JSON/YAML (default: the shipped WMT Transformer)"),
    hw: str | None = HW_OPTION,
    compat: str | None = typer.Option(None, "--compat", help="'scalesim': SCALE-Sim v3 timing"),
    as_json: bool = typer.Option(False, "--json", help="JSON report"),
    as_csv: bool = typer.Option(False, "--csv", help="per-layer CSV"),
    out: Path | None = typer.Option(None, "--out", help="write the report to this file (atomic)"),
    clock_state: str | None = CLOCK_STATE_OPTION,
    library: bool = LIBRARY_OPTION,
) -> None:
    """Simulate a trace: per-layer latency, energy and utilization, and totals."""
    if as_json and as_csv:
        fail("--json/--csv: choose one output format")
    config, state, state_text = clocked(resolve_hw(hw), clock_state, library)
    report = run_simulation(resolve_trace(trace), config, compat)  # type: ignore[arg-type]
    if as_json or (out is not None and not as_csv):
        doc = json.loads(report.to_json())
        doc["clock_state"], doc["library"] = state, library
        emit(json.dumps(doc, indent=1) + "\n", out)
    elif as_csv:
        emit(report.to_csv(), out)
    else:
        c = console()
        c.print(_table(report))
        c.print(_totals(report, state_text))


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
