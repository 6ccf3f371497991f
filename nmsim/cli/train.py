"""``nmsim train``, ``nmsim train-grid`` and ``nmsim train-table`` (torch is imported only when they run)."""

from __future__ import annotations

from pathlib import Path

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

_DECAYS = ("step", "linear", "exp")
_GRADS = ("autodiff", "ste", "srste")
_STRUCTS = ("stepwise", "geometric", "densify", "aqt", "halving")


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
    task: str = typer.Option("translation", help="training task (only 'translation')"),
    recipe: str = typer.Option(
        "dense", help="dense|oneshot|gradual|ste|srste|gmp|mdgf|sdgf or a recipe .yaml"
    ),
    decay: str | None = typer.Option(None, help="MDGF decay: step|linear|exp"),
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
    batch_size: int = typer.Option(64, min=1, max=MAX_BATCH, help="sentence pairs per step"),
    lr: float = typer.Option(2e-3, help="peak learning rate (AdamW)"),
    threads: int | None = typer.Option(None, min=1, max=MAX_WORKERS, help="torch CPU threads"),
    device: str = typer.Option("cpu", help="torch device: cpu, cuda or cuda:N"),
    out: Path = typer.Option(..., help="trace file to write (JSON)"),
) -> None:
    """Train the reference model under a recipe and write its layer trace."""
    if task != "translation":
        raise NmsimInputError("task", "only 'translation'", task)
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
    from nmsim.train.recipes import load_recipe
    from nmsim.train.trainer import TrainConfig, train_translation

    load_recipe(recipe)  # validate before training starts: one-line error
    cfg = TrainConfig(recipe=recipe, nm=nm, decay=decay, grad_mode=grad_mode, structure=structure,
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

        res = train_translation(cfg, progress)
    save_trace(res.trace, out)
    typer.echo(f"accuracy {res.accuracy:.4f}  loss {res.loss:.4f}  {res.step_ms:.1f} ms/step  -> {out}")


def train_grid(
    out: Path = typer.Option(Path("traces/translation"), help="folder of the cell traces"),
    seeds: str = typer.Option("1,2,3", help="comma-separated seeds"),
    patterns: str = typer.Option("2:4,1:8,1:16", help="comma-separated N:M targets"),
    steps: int = typer.Option(1500, min=1, max=MAX_STEPS, help="optimizer steps per cell"),
    workers: int = typer.Option(1, min=1, max=MAX_WORKERS, help="parallel processes"),
    threads: int = typer.Option(1, min=1, max=MAX_WORKERS, help="torch threads per process"),
    device: str = typer.Option("cpu", help="torch device of every cell: cpu, cuda or cuda:N"),
    limit: int | None = typer.Option(None, min=1, help="run at most this many missing cells"),
) -> None:
    """Run the reference grid; cells whose trace exists are skipped (resumable)."""
    import logging

    from nmsim.sparsity import parse_nm

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise NmsimInputError("seeds", "comma-separated integers, e.g. 1,2,3", seeds) from None
    if not seed_list or len(seed_list) > MAX_SEEDS or not all(0 <= s <= MAX_SEED for s in seed_list):
        raise NmsimInputError(
            "seeds", f"1 to {MAX_SEEDS} comma-separated integers from 0 to {MAX_SEED}", seeds
        )
    pats = [str(parse_nm(p, "patterns")) for p in patterns.split(",") if p.strip()]
    if not pats or len(pats) > MAX_SEEDS:
        raise NmsimInputError(
            "patterns", f"1 to {MAX_SEEDS} comma-separated N:M targets, e.g. 2:4,1:8", patterns
        )
    check_output_path(out, "--out", folder=True)
    _need_torch()
    _need_device(device)
    from nmsim.train.grid import run_grid

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    written = run_grid(
        out,
        seeds=seed_list,
        patterns=pats,
        steps=steps,
        workers=workers,
        threads=threads,
        limit=limit,
        device=device,
    )
    typer.echo(f"{len(written)} cells written to {out}")


def train_table(
    trace_dir: Path = typer.Argument(Path("traces/translation"), help="folder of cell traces"),
) -> None:
    """Print the grid's results table (markdown): mean ± std accuracy over seeds per recipe × pattern."""
    from nmsim.train.grid import results_table

    if not trace_dir.is_dir():
        raise NmsimInputError("trace_dir", "an existing folder of traces", str(trace_dir))
    typer.echo(results_table(trace_dir), nl=False)


def register(app: typer.Typer) -> None:
    """Add the training commands to the ``nmsim`` app."""
    app.command("train")(train)
    app.command("train-grid")(train_grid)
    app.command("train-table")(train_table)
