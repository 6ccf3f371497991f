"""``nmsim simulate``: per-layer table and totals for a trace on a hardware config."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from pathlib import Path

import typer
from rich.table import Table

from nmsim.cli import fail
from nmsim.cli.clock_options import CLOCK_STATE_OPTION, LIBRARY_OPTION, clocked
from nmsim.cli.common import (
    HW_OPTION,
    check_outputs,
    console,
    emit,
    fmt_energy,
    fmt_si,
    fmt_time,
    kv_table,
    resolve_hw,
    trace_files,
)
from nmsim.cli.gemm import SPARSE_KERNEL_OPTION
from nmsim.io.loaders import load_trace
from nmsim.sim.report import Report, Totals
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
        ("latency", "right"),
        ("stall", "right"),
        ("bound", "center"),
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
            r.hw_mode + (" (fallback)" if r.fell_back else ""),
            f"{r.cycles:,}",
            fmt_time(r.latency_s),
            f"{r.stall_cycles / r.cycles:.0%}",
            r.bound,
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
        ("layers fell back to dense", str(tot.layers_fell_back)),
        ("energy", fmt_energy(tot.energy_pj)),
    ]
    rows += [(f"  {k}", fmt_energy(v)) for k, v in tot.energy_breakdown_pj.items() if v > 0]
    return kv_table("totals", rows)


LEGEND = (
    "[dim]×: identical copies of the layer (repeat, e.g. heads), counted in its cycles, latency and "
    "energy; weights: the layer's pattern; mode: the hardware mode it runs in; stall: share of the "
    "layer's cycles spent waiting for DRAM; software:n:m: the layer ran through the config's software "
    "sparse kernel on the CUDA cores (--sparse-kernel software), its cycles at the array clock "
    "(docs/model.md)[/dim]"
)


def _many_table(reports: list[Report], hardware: str) -> Table:
    """One totals row per trace."""
    t = Table(title=f"{len(reports)} traces on {hardware}", title_justify="left")
    for col, just in (
        ("trace", "left"),
        ("layers", "right"),
        ("cycles", "right"),
        ("latency", "right"),
        ("stall", "right"),
        ("PE util", "right"),
        ("DRAM", "right"),
        ("energy", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for rep in reports:
        tot = rep.totals
        t.add_row(
            rep.trace_name,
            str(len(rep.layers)),
            f"{tot.cycles:,}",
            fmt_time(tot.latency_s),
            f"{tot.stall_cycles / tot.cycles:.0%}",
            f"{tot.pe_utilization:.1%}",
            fmt_si(tot.dram_bytes, "B"),
            fmt_energy(tot.energy_pj),
        )
    return t


def _many_csv(reports: list[Report], files: list[str]) -> str:
    """One totals row per trace (CSV)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    cols = list(TOTALS_COLUMNS)
    writer.writerow(["trace", "file", "hardware", "layers", *cols])
    for rep, f in zip(reports, files, strict=True):
        d = rep.totals.__dict__
        writer.writerow([rep.trace_name, f, rep.hardware, len(rep.layers), *(d[c] for c in cols)])
    return buf.getvalue()


TOTALS_COLUMNS = tuple(f.name for f in fields(Totals) if f.name != "energy_breakdown_pj")


def simulate(
    trace: str | None = typer.Argument(
        None,
        help="trace: a JSON/YAML file, a shipped trace's name, a folder or a glob (one totals row per "
        "trace); default: the shipped WMT Transformer",
    ),
    hw: str | None = HW_OPTION,
    compat: str | None = typer.Option(None, "--compat", help="'scalesim': SCALE-Sim v3 timing"),
    residency: str = typer.Option(
        "auto", "--residency", help="auto: outputs stay on chip for their consumers where they fit | none"
    ),
    objective: str | None = typer.Option(
        None, "--objective", help="mapper objective: latency | energy | edp (default: the config's)"
    ),
    sparse_kernel: str | None = SPARSE_KERNEL_OPTION,
    as_json: bool = typer.Option(False, "--json", help="JSON report"),
    as_csv: bool = typer.Option(False, "--csv", help="per-layer CSV (several traces: one totals row each)"),
    out: Path | None = typer.Option(None, "--out", help="write the report to this file (atomic)"),
    clock_state: str | None = CLOCK_STATE_OPTION,
    library: bool = LIBRARY_OPTION,
) -> None:
    """Simulate a trace: per-layer latency, energy and utilization, and totals."""
    if as_json and as_csv:
        fail("--json/--csv: choose one output format")
    check_outputs(out)
    files = trace_files(trace)
    config, state, state_text = clocked(resolve_hw(hw), clock_state, library)
    reports = [
        run_simulation(load_trace(f), config, compat, residency, objective, sparse_kernel)  # type: ignore[arg-type]
        for f in files
    ]
    stamp = {"clock_state": state, "library": library}  # every JSON report names its clock state
    if len(reports) > 1:
        if as_csv:
            emit(_many_csv(reports, files), out)
        elif as_json or out is not None:
            emit(json.dumps([r.to_dict() | stamp for r in reports], indent=1) + "\n", out)
        else:
            console().print(_many_table(reports, config.name))
            console().print(f"clock state: {state_text}")
        return
    report = reports[0]
    if as_json or (out is not None and not as_csv):
        emit(json.dumps(report.to_dict() | stamp, indent=1) + "\n", out)
    elif as_csv:
        emit(report.to_csv(), out)
    else:
        c = console()
        c.print(_table(report))
        c.print(LEGEND)
        c.print(_totals(report, state_text))


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
