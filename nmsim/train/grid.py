"""The reference-experiment grids: dense plus every recipe × pattern × seed, on one task.

Translation: patterns 2:4, 1:8, 1:16. LM (:mod:`nmsim.train.tasks.lm`): 2:4, 1:8, 1:16, 1:32, 1:64 —
the sparsities where recipes differ. Priority cells run first: dense, then SR-STE, MDGF-exp and
SDGF-stepwise at 1:32, 1:64 and 1:16 (in that order; every seed of a pattern before the next pattern,
so paired comparisons exist as early as possible), and at any pattern sparser than the grids' own
(a probe such as 1:128); then every other cell, seed-major.

Resumable: a cell whose trace file exists is skipped; each trace is written atomically (temporary file
+ rename), so an interrupted cell leaves nothing and restarts from step 0 on the next call. Every
trace records the run's settings hash (:func:`nmsim.train.trainer.settings_hash`); a folder that holds
a trace with another hash (or none) is refused, so cells trained differently are never reported together.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from nmsim.errors import NmsimInputError
from nmsim.io.loaders import load_trace, save_trace
from nmsim.sparsity import NM, parse_nm

if TYPE_CHECKING:
    from nmsim.train.trainer import TrainConfig

PATTERNS: dict[str, tuple[NM, ...]] = {
    "translation": (NM(2, 4), NM(1, 8), NM(1, 16)),
    "lm": (NM(2, 4), NM(1, 8), NM(1, 16), NM(1, 32), NM(1, 64)),
}
CELLS: tuple[tuple[str, dict[str, str]], ...] = (
    ("oneshot", {}),
    ("gradual", {}),
    ("ste", {}),
    ("srste", {}),
    ("gmp", {}),
    ("mdgf", {"decay": "step"}),
    ("mdgf", {"decay": "step", "grad_mode": "autodiff"}),  # AQT's staircase with AQT's autodiff
    ("mdgf", {"decay": "linear"}),
    ("mdgf", {"decay": "exp"}),
    ("sdgf", {"structure": "stepwise"}),
    ("sdgf", {"structure": "geometric"}),
)
PRIORITY_CELLS: tuple[tuple[str, dict[str, str]], ...] = (
    ("srste", {}),
    ("mdgf", {"decay": "exp"}),
    ("sdgf", {"structure": "stepwise"}),
)
PRIORITY_PATTERNS = (NM(1, 32), NM(1, 64), NM(1, 16))
log = logging.getLogger("nmsim.train.grid")


@dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    recipe: str
    nm: NM | None
    seed: int
    decay: str | None = None
    structure: str | None = None
    grad_mode: str | None = None

    @property
    def label(self) -> str:
        from nmsim.train.trainer import cell_label

        return cell_label(self.recipe, self.decay, self.structure, self.grad_mode)

    @property
    def filename(self) -> str:
        if self.nm is None:
            return f"{self.label}_s{self.seed}.json"
        return f"{self.label}_{self.nm.n}x{self.nm.m}_s{self.seed}.json"


def _cell(recipe: str, kw: dict[str, str], nm: NM, seed: int) -> Cell:
    return Cell(recipe, nm, seed, kw.get("decay"), kw.get("structure"), kw.get("grad_mode"))


def priority_patterns(patterns: Iterable[NM]) -> list[NM]:
    """The patterns whose priority cells run first: those of :data:`PRIORITY_PATTERNS` among
    ``patterns`` (in that order), then any of ``patterns`` sparser than every default grid pattern
    (a probe beyond the grid, e.g. 1:128, is all priority)."""
    patterns = list(patterns)
    sparsest_default = min(nm.density for nms in PATTERNS.values() for nm in nms)
    beyond = [nm for nm in patterns if nm.density < sparsest_default and nm not in PRIORITY_PATTERNS]
    return [nm for nm in PRIORITY_PATTERNS if nm in patterns] + beyond


def grid_cells(
    seeds: Iterable[int] = (1, 2, 3),
    patterns: Iterable[str | NM] = PATTERNS["translation"],
    priority_only: bool = False,
) -> list[Cell]:
    """The grid in run order: priority cells (see the module doc), then the rest seed-major.

    ``patterns``: N:M targets, typed or spelled ``'n:m'`` (parsed here, once)."""
    seeds = list(seeds)
    patterns = [p if isinstance(p, NM) else parse_nm(p, "patterns") for p in patterns]
    first = [Cell("dense", None, s) for s in seeds]
    first += [
        _cell(r, kw, nm, s) for nm in priority_patterns(patterns) for s in seeds for r, kw in PRIORITY_CELLS
    ]
    if priority_only:
        return first
    done = set(first)
    rest = [_cell(r, kw, nm, s) for s in seeds for nm in patterns for r, kw in CELLS]
    return first + [c for c in rest if c not in done]


def check_settings(out: Path, digest: str) -> None:
    """Refuse a folder holding a trace trained with other settings (another hash, or none recorded)."""
    for p in sorted(out.glob("*.json")):
        tr = load_trace(p)
        got = tr.training.settings_hash if tr.training is not None else None
        if got != digest:
            raise NmsimInputError(
                "out", f"holds {p.name} trained with other settings (hash {got}; this run {digest}): "
                "use another folder or the same settings", str(out),
            )  # fmt: skip


def cores_available() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


def default_threads() -> int:
    """Torch threads for one CPU training process that do not oversubscribe the cores: the cores not
    already busy (1-minute load average, rounded up), at least 1."""
    try:
        busy = math.ceil(os.getloadavg()[0])
    except (AttributeError, OSError):  # pragma: no cover - no load average on this OS
        busy = 0
    return max(1, cores_available() - busy)


def check_threads(threads: int, workers: int, device: str = "cpu") -> None:
    """Refuse ``threads × workers`` above the cores (oversubscription slows CPU training many times)."""
    cores = cores_available()
    if device == "cpu" and threads * workers > cores:
        raise NmsimInputError(
            "threads", f"threads × workers must be <= the {cores} cores here (oversubscription)",
            f"{threads} × {workers}",
        )  # fmt: skip


@dataclass(frozen=True)
class GridSettings:
    """What every cell of one grid shares."""

    task: str = "translation"
    steps: int = 1500
    threads: int = 1
    device: str = "cpu"
    corpus: str | None = None
    batch_size: int | None = None

    def config(self, cell: Cell) -> TrainConfig:
        """The run of ``cell`` under these settings."""
        from nmsim.train.trainer import TrainConfig

        nm = None if cell.nm is None else str(cell.nm)
        return TrainConfig(recipe=cell.recipe, nm=nm, decay=cell.decay, structure=cell.structure,
                           grad_mode=cell.grad_mode, task=self.task, corpus=self.corpus, steps=self.steps,
                           seed=cell.seed, batch_size=self.batch_size, threads=self.threads, device=self.device)  # fmt: skip


def run_cell(
    cell: Cell, out_dir: str, settings: GridSettings, progress: Callable[[int, dict], None] | None = None
) -> tuple[str, float, float | None, float]:
    """Train one cell and write its trace atomically; returns (file, accuracy, bits per byte or None, seconds)."""
    import torch

    from nmsim.train.trainer import train_task

    torch.set_num_threads(settings.threads)
    t0 = time.perf_counter()
    res = train_task(settings.config(cell), progress)
    path = Path(out_dir) / cell.filename
    save_trace(res.trace, path)
    bpb = res.trace.metrics.extra.get("bits_per_byte") if res.trace.metrics else None
    return str(path), res.accuracy, bpb, time.perf_counter() - t0


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class _Report:
    """One progress bar (rich, on a terminal) or one log line per cell with the ETA (in a log file)."""

    def __init__(self, cells: int, steps: int) -> None:
        self.cells, self.steps = cells, steps
        self.done_steps = 0
        self.t0 = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("steps"), TimeRemainingColumn())  # fmt: skip
            self.bar.start()
            self.tid = self.bar.add_task("grid", total=cells * steps)

    def step(self, cell: Cell, i: int) -> Callable[[int, dict], None]:
        def progress(step: int, info: dict) -> None:
            if self.bar is not None and (step % 10 == 0 or step == self.steps):
                self.bar.update(self.tid, completed=(i - 1) * self.steps + step,
                                description=f"[{i}/{self.cells}] {cell.filename}")  # fmt: skip

        return progress

    def finished(self, i: int, text: str) -> None:
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / i * (self.cells - i)
        line = f"[{i}/{self.cells}] {text} | elapsed {_hms(elapsed)}, ETA {_hms(eta)}"
        if self.bar is not None:
            self.bar.update(self.tid, completed=i * self.steps)
            self.bar.console.log(line)
        else:
            log.info(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_grid(
    out_dir: str | os.PathLike[str],
    *,
    seeds: Iterable[int] = (1, 2, 3),
    patterns: Iterable[str | NM] | None = None,
    steps: int = 1500,
    workers: int = 1,
    threads: int = 1,
    limit: int | None = None,
    device: str = "cpu",
    task: str = "translation",
    corpus: str | None = None,
    priority_only: bool = False,
) -> list[str]:
    """Run every missing cell; returns the trace files written by this call.

    ``device`` is the torch device of every cell (``cuda``: all workers share the one GPU).
    """
    from nmsim.train.trainer import config_settings_hash

    check_threads(threads, workers, device)
    settings = GridSettings(task=task, steps=steps, threads=threads, device=device, corpus=corpus)
    pats = list(patterns) if patterns is not None else list(PATTERNS[task])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cells = grid_cells(seeds, pats, priority_only)
    digest = config_settings_hash(settings.config(cells[0]))
    check_settings(out, digest)
    todo = [c for c in cells if not (out / c.filename).exists()]
    if limit is not None:
        todo = todo[:limit]
    log.info("grid: %d of %d cells to run in %s (task=%s, settings %s, workers=%d, threads=%d, steps=%d, "
             "device=%s)", len(todo), len(cells), out, task, digest, workers, threads, steps, device)  # fmt: skip
    written: list[str] = []
    report = _Report(len(todo), steps)

    def done(i: int, cell: Cell, result: tuple[str, float, float | None, float]) -> None:
        path, acc, bpb, secs = result
        extra = f" bpb={bpb:.3f}" if bpb is not None else ""
        report.finished(i, f"{Path(path).name} acc={100 * acc:.2f}%{extra} {secs:.0f}s")
        written.append(path)

    try:
        if workers <= 1:
            for i, cell in enumerate(todo, 1):
                try:
                    result = run_cell(cell, str(out), settings, report.step(cell, i))
                except Exception as exc:  # one failing cell must not stop the grid
                    log.error("[%d/%d] %s FAILED: %s", i, len(todo), cell.filename, exc)
                    continue
                done(i, cell, result)
            return written
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futs = {pool.submit(run_cell, c, str(out), settings): c for c in todo}
            for i, fut in enumerate(as_completed(futs), 1):
                try:
                    result = fut.result()
                except Exception as exc:
                    log.error("[%d/%d] %s FAILED: %s", i, len(todo), futs[fut].filename, exc)
                    continue
                done(i, futs[fut], result)
        return written
    finally:
        report.close()
