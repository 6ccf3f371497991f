"""One trace per published row: the zoo's layer shapes at the paper's training batch, the row's
patterns, its training schedule (:mod:`~nmsim.published.schedule`) and its published metric.

:func:`build_traces` is a pure function of the data file; :func:`write_traces` writes
``<out>/<paper>_<model>/<file>.json`` atomically and removes stale files there; :func:`check_traces`
compares a folder with a fresh build byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from nmsim.io.atomic import write_text_atomic
from nmsim.io.loaders import trace_to_json
from nmsim.published.rows import PublishedRow, published_rows
from nmsim.published.schedule import phases, run_lengths
from nmsim.published.tables import PaperTables, load_tables
from nmsim.schemas.trace import Metrics, Trace, TrainingRecord
from nmsim.workloads.paper_models import paper_model_trace
from nmsim.workloads.scope import apply_nm, in_scope

_DECAY = {"mdgf-linear": "linear", "mdgf-exp": "exp"}
#: The first query projection of each stack: its m is the stack's tokens per step (batch × sequence).
_FIRST_QUERIES = frozenset({"enc0.self.q", "dec0.self.q", "s0.enc0.self.q"})
_STRUCTURE = {"sdgf-stepwise": "stepwise", "sdgf-geometric": "geometric"}


@dataclass(frozen=True)
class BuiltTrace:
    """A built trace and its path relative to the output folder."""

    path: str
    row: PublishedRow
    trace: Trace


def _slug(text: object) -> str:
    """``text`` (a label or a pattern) for a file or trace name: ``1:8`` → ``1x8``."""
    return str(text).replace(":", "x")


def file_name(row: PublishedRow) -> str:
    """``<cell>_<target>[_<variant>].json``, e.g. ``srste+qk1x4_1x8_dense-10k.json``."""
    parts = [_slug(row.cell)] + ([] if row.target.is_dense else [_slug(row.target)])
    parts += [row.variant] if row.variant else []
    return "_".join(parts) + ".json"


def _settings_hash(paper: PaperTables, row: PublishedRow) -> str:
    setup = paper.models[row.model].setup
    doc = {
        "model": row.model,
        "setup": setup.model_dump(mode="json"),
        "settings": row.settings.model_dump(mode="json"),
        "defaults": paper.code_defaults.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _fraction(value: float, unit: str) -> float:
    return round(value / 100.0, 10) if unit == "percent" else value


def build_trace(paper: PaperTables, row: PublishedRow, base: Trace) -> Trace:
    """The trace of ``row`` on ``base`` (the model's forward pass at the training batch, dense)."""
    model = paper.models[row.model]
    setup = model.setup
    run, provenance = run_lengths(row, setup, paper.code_defaults)
    trace = base
    sparsified: list[str] = []
    attn_layers: list[str] = []
    if row.recipe != "dense":
        if row.attn is not None:
            trace = apply_nm(trace, row.attn, row.scope)
        trace = apply_nm(trace, row.target, "ff")
        sparsified = [la.name for la in trace.layers if in_scope(la, row.scope)]
        attn_layers = [la.name for la in trace.layers if in_scope(la, row.scope) and la.role != "ff"]
    params: dict = {"cell": row.cell, "recipe": row.recipe, "nm": str(row.target), "scope": row.scope}
    if row.attn is not None:
        params["attn_nm"] = str(row.attn)
    if row.variant is not None:
        params["variant"] = row.variant
    if setup.epochs is not None:
        params |= {"epochs": setup.epochs, "dataset_size": setup.dataset_size, "steps_per_epoch": run.unit}
    params |= {
        "batch_size": setup.batch,
        "lr": setup.lr,
        "lr_schedule": setup.lr_schedule,
        "warmup_epochs": setup.warmup_epochs,
        "warmup_steps": setup.warmup_steps,
        "lr_decay_rate": setup.lr_decay_rate,
        "lr_decay_epochs": setup.lr_decay_epochs,
        "optimizer": setup.optimizer,
        "dense_steps": run.dense,
        "finetune_steps": run.finetune,
    }
    if row.recipe in _DECAY:
        params |= {"decay": _DECAY[row.recipe], "decay_coef": run.beta}
    if row.recipe in _STRUCTURE:
        params |= {"structure": _STRUCTURE[row.recipe]}
        if row.recipe == "sdgf-geometric":
            params["k"] = paper.code_defaults.geometric_k
    if row.recipe == "srste":
        params["srste_lambda"] = paper.code_defaults.srste_lambda
    params = {k: v for k, v in params.items() if v is not None}
    tokens = sum(la.m or 0 for la in base.layers if la.name in _FIRST_QUERIES)
    record = TrainingRecord(
        recipe=row.family,
        target=str(row.target),
        params=params,
        total_steps=run.total,
        batch_size=setup.batch,
        tokens_per_step=tokens or None,
        sparsified_layers=sparsified,
        phases=phases(row, run, paper.code_defaults, attn_layers),
        settings_hash=_settings_hash(paper, row),
        provenance=provenance,
    )
    caveats = [*row.caveats, *([model.caveat] if model.caveat else [])]
    metrics = Metrics(
        task=model.task,
        metric=model.metric,
        accuracy=_fraction(row.accuracy, model.unit),
        extra={k: _fraction(v, model.unit) for k, v in row.extra.items()},
        source="published",
        dataset=model.dataset,
        split=model.split,
        citation=f"{paper.paper.short}, " + "; ".join(row.citations),
        variant=row.variant,
        caveat="; ".join(caveats) if caveats else None,
        task_info={
            "paper": paper.paper.citation,
            "tables": ", ".join(row.tables),
            "printed_value": row.accuracy,
            "printed_unit": model.unit,
            "model": model.label,
        },
    )
    target = "" if row.target.is_dense else f"-{_slug(row.target)}"
    scope = "FF" if row.attn is None else f"FF + {row.attn} {row.scope.removeprefix('ff+').upper()}"
    what = "dense" if row.recipe == "dense" else f"{row.recipe} to {row.target} ({scope})"
    variant = f", variant {row.variant}" if row.variant else ""
    return trace.model_copy(
        update={
            "name": f"{paper.paper.key}_{row.model}-{row.cell}{target}",
            "description": (
                f"{model.label}, {what}{variant}: the accuracy {paper.paper.short} publishes "
                f"(Table {', '.join(row.tables)}) with the layer shapes of one training step (batch {setup.batch}) "
                "and the training schedule that table's setup implies."
            ),
            "source": "nmsim published build (nmsim/published/pgf_tables.yaml + nmsim.workloads.paper_models)",
            "training": record,
            "metrics": metrics,
        }
    )


def build_traces(paper: PaperTables | None = None, model: str | None = None) -> list[BuiltTrace]:
    """Every published row's trace (of ``model`` if given), in data-file order; validated."""
    paper = paper or load_tables()
    bases: dict[str, Trace] = {}
    out: list[BuiltTrace] = []
    for row in published_rows(paper, model):
        if row.model not in bases:
            bases[row.model] = paper_model_trace(row.model, paper.models[row.model].setup.batch)
        trace = Trace.model_validate(build_trace(paper, row, bases[row.model]).model_dump())
        out.append(BuiltTrace(f"{paper.paper.key}_{row.model}/{file_name(row)}", row, trace))
    paths = [b.path for b in out]
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise ValueError(f"two rows map to one file: {dup[:3]}")
    return out


def _folders(built: list[BuiltTrace]) -> list[str]:
    return sorted({b.path.split("/")[0] for b in built})


def write_traces(out: Path, built: list[BuiltTrace]) -> list[Path]:
    """Write every trace atomically under ``out``; remove other ``*.json`` in the folders written."""
    written = []
    keep = {b.path for b in built}
    for b in built:
        written.append(write_text_atomic(out / b.path, trace_to_json(b.trace)))
    for folder in _folders(built):
        for stale in sorted((out / folder).glob("*.json")):
            if f"{folder}/{stale.name}" not in keep:
                stale.unlink()
    return written


def check_traces(out: Path, built: list[BuiltTrace]) -> list[str]:
    """Differences between the folders under ``out`` and a fresh build: missing, changed, extra files."""
    problems = []
    keep = {b.path for b in built}
    for b in built:
        path = out / b.path
        if not path.is_file():
            problems.append(f"missing: {b.path}")
        elif path.read_text(encoding="utf-8") != trace_to_json(b.trace):
            problems.append(f"differs: {b.path}")
    for folder in _folders(built):
        for extra in sorted((out / folder).glob("*.json")):
            if f"{folder}/{extra.name}" not in keep:
                problems.append(f"extra: {folder}/{extra.name}")
    return problems
