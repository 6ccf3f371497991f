"""``nmsim published``: the published-result traces — list the tables and rows, build or check them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from nmsim.cli.common import console
from nmsim.io.registry import data_dir

published_app = typer.Typer(
    help="Traces of published results ([PGF] Tables 2-5, 9-12): list, build, check.",
    no_args_is_help=True,
)


def _default_out() -> Path:
    return data_dir("traces") / "published"


_TABLES_HELP = "the data file of published tables (default: [PGF]'s, nmsim/published/pgf_tables.yaml)"


@published_app.command("list")
def list_rows(
    model: str | None = typer.Option(
        None, "--model", help="only this model (vit_b16, swinv2_b, t5_base, wmt)"
    ),
    rows: bool = typer.Option(False, "--rows", help="one line per trace instead of per table"),
    as_json: bool = typer.Option(False, "--json", help="print the rows as JSON"),
    tables: Path | None = typer.Option(None, "--tables", help=_TABLES_HELP),
) -> None:
    """The paper, its tables and the rows (one trace each) the data file holds."""
    from nmsim.errors import NmsimInputError
    from nmsim.published.build import file_name
    from nmsim.published.rows import published_rows
    from nmsim.published.tables import PGF_TABLES, load_tables

    paper = load_tables(tables or PGF_TABLES)
    if model is not None and model not in paper.models:
        raise NmsimInputError("--model", ", ".join(paper.models), model)
    found = published_rows(paper, model)
    prefix = f"{paper.paper.key}_"
    if as_json:
        doc = [
            {
                "trace": f"{prefix}{r.model}/{file_name(r)}",
                "model": r.model,
                "recipe": r.recipe,
                "target": str(r.target),
                "scope": r.scope,
                "attn": None if r.attn is None else str(r.attn),
                "variant": r.variant,
                "value": r.accuracy,
                "unit": paper.models[r.model].unit,
                "tables": r.tables,
                "citations": r.citations,
                "caveats": r.caveats,
            }
            for r in found
        ]
        typer.echo(json.dumps(doc, indent=1))
        return
    con = console()
    con.print(f"{paper.paper.citation}\n", highlight=False)
    if rows:
        t = Table(title=f"{len(found)} published rows (one trace each)", title_justify="left")
        for col in ("trace", "value", "tables", "caveat"):
            t.add_column(col, no_wrap=col != "caveat")
        for r in found:
            t.add_row(
                f"{prefix}{r.model}/{file_name(r)}",
                f"{r.accuracy:g}",
                ",".join(r.tables),
                "yes" if r.caveats else "",
            )
        con.print(t)
        return
    t = Table(title="tables → traces", title_justify="left")
    for col in ("table", "model", "title", "cells", "traces"):
        t.add_column(col, no_wrap=col != "title")
    for table in paper.tables:
        if model is not None and table.model != model:
            continue
        cells = sum(
            v is not None
            for row in table.rows
            for v in (row.values if table.kind == "wide" else row.values[:1])
        )
        traces = sum(table.id in r.tables for r in found)
        t.add_row(table.id, table.model, table.title, str(cells), str(traces))
    con.print(t)
    per_model = {m: sum(r.model == m for r in found) for m in dict.fromkeys(r.model for r in found)}
    folders = ", ".join(f"{prefix}{m} ({n})" for m, n in per_model.items())
    con.print(f"{len(found)} traces: {folders}", highlight=False)
    for sp in paper.speedups:
        hw = ", ".join(r.hardware for r in sp.rows)
        con.print(
            f"speedup table {sp.id} (data only): {sp.title}; {hw}; {len(sp.patterns)} patterns",
            highlight=False,
        )


@published_app.command("build")
def build(
    out: Path | None = typer.Option(
        None, "--out", help="output folder (default: the shipped traces/published)"
    ),
    model: str | None = typer.Option(None, "--model", help="only this model"),
    check: bool = typer.Option(
        False, "--check", help="write nothing; exit 1 if the folder differs from a fresh build"
    ),
    tables: Path | None = typer.Option(None, "--tables", help=_TABLES_HELP),
) -> None:
    """Build one trace per published row into ``<out>/<paper>_<model>/`` (deterministic, atomic)."""
    from nmsim.errors import NmsimInputError
    from nmsim.io.atomic import check_output_path
    from nmsim.published.build import build_traces, check_traces, write_traces
    from nmsim.published.tables import PGF_TABLES, load_tables

    paper = load_tables(tables or PGF_TABLES)
    if model is not None and model not in paper.models:
        raise NmsimInputError("--model", ", ".join(paper.models), model)
    folder = out or _default_out()
    if not check:
        check_output_path(folder, "--out", folder=True)
    built = build_traces(paper, model=model)
    con = console()
    if check:
        problems = check_traces(folder, built)
        for p in problems[:20]:
            con.print(p, highlight=False)
        if problems:
            con.print(f"{len(problems)} difference(s) from a fresh build in {folder}", highlight=False)
            raise typer.Exit(1)
        con.print(f"{len(built)} traces in {folder} match a fresh build", highlight=False)
        return
    write_traces(folder, built)
    con.print(f"wrote {len(built)} traces under {folder}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(published_app, name="published")
