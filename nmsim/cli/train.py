"""``nmsim train``, ``nmsim train-grid`` and ``nmsim train-table`` (torch is imported only when they run)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import typer

from nmsim.errors import NmsimInputError
from nmsim.io.atomic import check_output_path
from nmsim.limits import (
    MAX_BATCH,
    MAX_LR,
    MAX_SEED,
    MAX_SEEDS,
    MAX_STEPS,
    MAX_WORKERS,
    check_float,
)
from nmsim.schemas.trace import GradMode

_DECAYS = ("step", "linear", "exp")
_GRADS = get_args(GradMode)
_STRUCTS = ("stepwise", "geometric", "densify", "aqt", "halving")
_TASKS = ("translation", "lm")


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise NmsimInputError(field, f"one of {', '.join(allowed)}", value)


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise NmsimInputError("torch", "PyTorch is needed: pip install 'nmsim[train]'") from None


def _need_device(device: str) -> str:
    """Validate ``--device`` (cpu, cuda or cuda:N) and that such a device is visible; returns it."""
    import re

    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise NmsimInputError("device", "cpu, cuda or cuda:N", device)
    import torch

    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise NmsimInputError(
                "device", "a CUDA device this machine has (none visible here: use cpu)", device
            )
    return device


def train(
    task: str = typer.Option(
        "translation", help="training task: translation | lm (byte-level, stdlib source)"
    ),
    corpus: Path | None = typer.Option(None, help="lm only: folder of text files (default: Python's stdlib)"),
    recipe: str = typer.Option(
        "dense", help="dense|oneshot|gradual|ste|srste|gmp|mdgf (pmd)|sdgf (ssd) or a recipe .yaml"
    ),
    decay: str | None = typer.Option(
        None,
        help="MDGF decay: exp|linear|step (step: AQT's staircase; with --grad-mode autodiff AQT's pairing)",
    ),
    decay_rate: float | None = typer.Option(
        None,
        "--decay-rate",
        help="MDGF linear/exp per-step rate β (the authors' form; default from --zero-at)",
    ),
    zero_at: float | None = typer.Option(
        None, "--zero-at", help="MDGF: fraction of the run (< 1) or step (>= 1) where D reaches 0 (exp: 0.01)"
    ),
    structure: str | None = typer.Option(None, help="SDGF structure: stepwise|geometric|densify|aqt|halving"),
    grad_mode: str | None = typer.Option(
        None, "--grad-mode", help="autodiff|ste|srste (default: the recipe's)"
    ),
    nm: str | None = typer.Option(None, help="target N:M pattern, e.g. 1:8 (default: the recipe's)"),
    targets: str | None = typer.Option(
        None, help="layers: ff|qkvo|ff+qkvo|all, names or re:<regex>, comma-sep"
    ),
    steps: int = typer.Option(1500, min=1, max=MAX_STEPS, help="optimizer steps"),
    seed: int = typer.Option(1, min=0, max=MAX_SEED, help="seed of the weights and the training data"),
    batch_size: int | None = typer.Option(
        None, min=1, max=MAX_BATCH, help="sentence pairs (translation, 64) or byte windows (lm, 16) per step"
    ),
    lr: float = typer.Option(2e-3, help="peak learning rate (AdamW)"),
    threads: int | None = typer.Option(
        None,
        min=1,
        max=MAX_WORKERS,
        help="torch CPU threads (default: the cores not already busy, by the 1-min load; >= 1)",
    ),
    device: str = typer.Option("cpu", help="torch device: cpu, cuda or cuda:N"),
    out: Path = typer.Option(..., help="trace file to write (JSON)"),
) -> None:
    """Train the reference model under a recipe and write its layer trace."""
    _choice("task", task, _TASKS)
    if corpus is not None and task != "lm":
        raise NmsimInputError("corpus", "only with --task lm", str(corpus))
    check_float("lr", lr, 0.0, MAX_LR, low_open=True)
    check_output_path(out)
    _choice("decay", decay, _DECAYS)
    _choice("grad-mode", grad_mode, _GRADS)
    _choice("structure", structure, _STRUCTS)
    if nm is not None:
        from nmsim.sparsity import parse_nm

        parse_nm(nm, "nm")
    _need_torch()
    _need_device(device)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from nmsim.io.loaders import save_trace
    from nmsim.train.grid import check_threads, default_threads
    from nmsim.train.recipes import load_recipe
    from nmsim.train.trainer import TrainConfig, train_task

    zero: int | float | None = None
    if zero_at is not None:
        if zero_at <= 0 or (zero_at >= 1 and zero_at != int(zero_at)):
            raise NmsimInputError("zero-at", "a fraction in (0, 1) or a whole step >= 1", zero_at)
        zero = int(zero_at) if zero_at >= 1 else zero_at
    # validate the recipe and its overrides before training starts: one-line error
    load_recipe(recipe).with_overrides(nm, decay, grad_mode, structure, None, decay_rate, zero)
    if threads is None:
        threads = default_threads() if device == "cpu" else 1
    check_threads(threads, 1, device)
    cfg = TrainConfig(recipe=recipe, task=task, corpus=str(corpus) if corpus else None, nm=nm, decay=decay,
                      decay_rate=decay_rate, zero_at=zero, grad_mode=grad_mode, structure=structure,
                      targets=targets, steps=steps, seed=seed, batch_size=batch_size, lr=lr, threads=threads,
                      device=device)  # fmt: skip
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[phase]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, transient=False) as bar:
        tid = bar.add_task(f"{cfg.cell} {nm or ''} seed {seed}", total=steps, loss=float("nan"), phase="")

        def progress(step: int, info: dict) -> None:
            if step % 5 == 0 or step == steps:
                phase = f"{info['phase']} {info['pattern']}" + (
                    f" D={info['decay']:.3f}" if 0 < info["decay"] < 1 else ""
                )
                bar.update(tid, completed=step, loss=info["loss"], phase=phase)

        res = train_task(cfg, progress)
    save_trace(res.trace, out)
    bpb = res.trace.metrics.extra.get("bits_per_byte") if res.trace.metrics else None
    extra = f"  {bpb:.3f} bits/byte" if bpb is not None else ""
    typer.echo(
        f"accuracy {res.accuracy:.4f}{extra}  loss {res.loss:.4f}  {res.step_ms:.1f} ms/step "
        f"({threads} threads)  -> {out}"
    )


def train_grid(
    task: str = typer.Option("translation", help="translation | lm"),
    corpus: Path | None = typer.Option(None, help="lm only: folder of text files (default: Python's stdlib)"),
    out: Path | None = typer.Option(None, help="folder of the cell traces (default traces/<task>)"),
    seeds: str = typer.Option("1,2,3", help="comma-separated seeds"),
    patterns: str | None = typer.Option(
        None, help="comma-separated N:M targets (default: translation 2:4,1:8,1:16; lm also 1:32,1:64)"
    ),
    steps: int = typer.Option(1500, min=1, max=MAX_STEPS, help="optimizer steps per cell"),
    workers: int = typer.Option(1, min=1, max=MAX_WORKERS, help="parallel processes"),
    threads: int = typer.Option(
        1, min=1, max=MAX_WORKERS, help="torch threads per process (threads × workers <= cores)"
    ),
    device: str = typer.Option("cpu", help="torch device of every cell: cpu, cuda or cuda:N"),
    limit: int | None = typer.Option(None, min=1, help="run at most this many missing cells"),
    priority_only: bool = typer.Option(
        False,
        "--priority-only",
        help="only dense, SR-STE, MDGF-exp, SDGF-stepwise at 1:16, 1:32, 1:64 and at --patterns sparser than the grids' (e.g. 1:128)",
    ),
) -> None:
    """Run a reference grid; cells whose trace exists are skipped (resumable), priority cells first."""
    import logging

    from nmsim.sparsity import parse_nm

    _choice("task", task, _TASKS)
    if corpus is not None and task != "lm":
        raise NmsimInputError("corpus", "only with --task lm", str(corpus))
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise NmsimInputError("seeds", "comma-separated integers, e.g. 1,2,3", seeds) from None
    if not seed_list or len(seed_list) > MAX_SEEDS or not all(0 <= s <= MAX_SEED for s in seed_list):
        raise NmsimInputError(
            "seeds", f"1 to {MAX_SEEDS} comma-separated integers from 0 to {MAX_SEED}", seeds
        )
    pats = None
    if patterns is not None:
        pats = [parse_nm(p, "patterns") for p in patterns.split(",") if p.strip()]
        if not pats or len(pats) > MAX_SEEDS:
            raise NmsimInputError(
                "patterns", f"1 to {MAX_SEEDS} comma-separated N:M targets, e.g. 2:4,1:8", patterns
            )
    out = out or Path("traces") / task
    check_output_path(out, "--out", folder=True)
    _need_torch()
    _need_device(device)
    from nmsim.train.grid import check_threads, run_grid

    check_threads(threads, workers, device)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    written = run_grid(out, seeds=seed_list, patterns=pats, steps=steps, workers=workers, threads=threads,
                       limit=limit, device=device, task=task, corpus=str(corpus) if corpus else None,
                       priority_only=priority_only)  # fmt: skip
    typer.echo(f"{len(written)} cells written to {out}")


def train_table(
    trace_dir: Path = typer.Argument(Path("traces/translation"), help="folder of cell traces"),
) -> None:
    """Print a grid's results (markdown): mean ± std over seeds per recipe × pattern, n, paired test vs SR-STE."""
    from nmsim.train.table import results_table

    if not trace_dir.is_dir():
        raise NmsimInputError("trace_dir", "an existing folder of traces", str(trace_dir))
    typer.echo(results_table(trace_dir), nl=False)


def register(app: typer.Typer) -> None:
    """Add the training commands to the ``nmsim`` app."""
    app.command("train")(train)
    app.command("train-grid")(train_grid)
    app.command("train-table")(train_table)
