"""``nmsim sweep``: N:M patterns × hardware parameters × traces, one row per point, resumable."""

from __future__ import annotations

from pathlib import Path

import typer

from nmsim.cli.common import console, fmt_si
from nmsim.explore.checkpoint import check_format, checkpoint_path
from nmsim.explore.spec import load_spec, merge_spec, parse_param, split_list
from nmsim.explore.sweep import run_sweep
from nmsim.io.atomic import check_output_path
from nmsim.limits import MAX_SWEEP_POINTS, MAX_WORKERS


def sweep(
    traces: list[str] | None = typer.Argument(
        None, help="trace files, globs or shipped trace names (default: the shipped WMT Transformer)"
    ),
    hw: list[str] | None = typer.Option(
        None, "--hw", help="base hardware config(s): shipped names or YAML paths; repeat or comma-separate"
    ),
    nm: list[str] | None = typer.Option(
        None,
        "--nm",
        help="N:M patterns imposed on sparsifiable layers, e.g. 1:4,2:4,1:8,dense; 'recorded' keeps the trace's",
    ),
    param: list[str] | None = typer.Option(
        None,
        "--param",
        help="hardware field and values, e.g. rows=32,64,128  dataflow=os,ws  modes=[2:4],[1:4,2:4]  "
        "memory.ifmap.size_kb=64,256 (repeatable)",
    ),
    spec_file: Path | None = typer.Option(
        None, "--spec", help="YAML sweep file (flags given replace its fields)"
    ),
    out: Path = typer.Option(
        ..., "--out", help="results table: .csv or .parquet (written whole, atomically)"
    ),
    scheduler: str = typer.Option(
        "processes", "--scheduler", help="processes (local, default) | inline | tcp://HOST:PORT (Dask)"
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=MAX_WORKERS, help="local worker processes (default: all CPUs)"
    ),
    compat: str | None = typer.Option(None, "--compat", help="'scalesim': SCALE-Sim v3 timing"),
    residency: str | None = typer.Option(
        None,
        "--residency",
        help="auto (default): outputs stay on chip for their consumers where they fit | none",
    ),
    restart: bool = typer.Option(False, "--restart", help="discard the checkpoint of an interrupted run"),
    chunk_points: int | None = typer.Option(
        None, "--chunk-points", min=1, max=MAX_SWEEP_POINTS, help="points per task (default: automatic)"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Sweep N:M patterns and hardware parameters over traces; one table row per point.

    A point's numbers equal `nmsim simulate` of the same trace on the same config. An interrupted
    sweep leaves OUT.ckpt.jsonl; the same command resumes it.
    """
    from nmsim.cli import fail

    check_format(out)
    check_output_path(out)
    base = load_spec(spec_file) if spec_file is not None else None
    params: dict[str, list[object]] = {}
    for text in param or []:
        key, values = parse_param(text)
        if key in params:
            fail(f"--param: '{key}' given twice; list all its values in one flag")
        params[key] = values  # type: ignore[assignment]
    spec = merge_spec(
        base,
        traces=list(traces or []),
        hw=split_list(hw),
        nm=split_list(nm),
        params=params,
        compat=compat,
        residency=residency,
    )
    try:
        result = run_sweep(
            spec,
            out,
            scheduler=scheduler,
            workers=workers,
            restart=restart,
            chunk_points=chunk_points,
            progress=not quiet,
        )
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted: finished points are kept in {checkpoint_path(out)}; rerun the same command to resume",
            err=True,
        )
        raise typer.Exit(130) from None
    rate = result.layer_rows / result.seconds if result.seconds > 0 else 0.0
    resumed = f", {result.resumed} from the checkpoint" if result.resumed else ""
    console().print(
        f"wrote {out}: {result.points} points ({result.computed} computed{resumed}), "
        f"{fmt_si(result.layer_rows)} layer×config evaluations in {result.seconds:.2f} s "
        f"({fmt_si(rate)}/s)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
