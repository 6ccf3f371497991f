"""The reference-experiment grid: every recipe × {2:4, 1:8, 1:16} × seeds, plus dense and matched-density GMP.

Resumable: a cell whose trace file exists is skipped; each trace is written atomically, so an interrupted
run leaves no partial file. Cells are ordered seed-major (all cells of seed 1 first) so that a complete
one-seed table exists as early as possible. ``workers > 1`` runs cells in parallel processes.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from nmsim.io.loaders import load_trace, save_trace

PATTERNS = ("2:4", "1:8", "1:16")
CELLS: tuple[tuple[str, dict[str, str]], ...] = (
    ("oneshot", {}),
    ("gradual", {}),
    ("ste", {}),
    ("srste", {}),
    ("gmp", {}),
    ("mdgf", {"decay": "step"}),
    ("mdgf", {"decay": "linear"}),
    ("mdgf", {"decay": "exp"}),
    ("sdgf", {"structure": "stepwise"}),
    ("sdgf", {"structure": "geometric"}),
)
log = logging.getLogger("nmsim.train.grid")


@dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    recipe: str
    nm: str | None
    seed: int
    decay: str | None = None
    structure: str | None = None

    @property
    def label(self) -> str:
        if self.recipe == "mdgf":
            return f"mdgf-{self.decay}"
        if self.recipe == "sdgf":
            return f"sdgf-{self.structure}"
        return self.recipe

    @property
    def filename(self) -> str:
        if self.nm is None:
            return f"{self.label}_s{self.seed}.json"
        return f"{self.label}_{self.nm.replace(':', 'x')}_s{self.seed}.json"


def grid_cells(seeds: Iterable[int] = (1, 2, 3), patterns: Iterable[str] = PATTERNS) -> list[Cell]:
    """All cells, seed-major: dense, then every recipe × pattern, for seed 1, then seed 2, ..."""
    cells = []
    for seed in seeds:
        cells.append(Cell("dense", None, seed))
        for nm in patterns:
            for recipe, kw in CELLS:
                cells.append(Cell(recipe, nm, seed, kw.get("decay"), kw.get("structure")))
    return cells


def run_cell(
    cell: Cell, out_dir: str, steps: int, threads: int, batch_size: int = 64, device: str = "cpu"
) -> tuple[str, float, float]:
    """Train one cell and write its trace atomically; returns (file, accuracy, seconds)."""
    import torch

    from nmsim.train.trainer import TrainConfig, train_translation

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    cfg = TrainConfig(recipe=cell.recipe, nm=cell.nm, decay=cell.decay, structure=cell.structure, steps=steps,
                      seed=cell.seed, batch_size=batch_size, threads=threads, device=device)  # fmt: skip
    res = train_translation(cfg)
    path = Path(out_dir) / cell.filename
    save_trace(res.trace, path)
    return str(path), res.accuracy, time.perf_counter() - t0


def run_grid(
    out_dir: str | os.PathLike[str],
    *,
    seeds: Iterable[int] = (1, 2, 3),
    patterns: Iterable[str] = PATTERNS,
    steps: int = 1500,
    workers: int = 1,
    threads: int = 1,
    limit: int | None = None,
    device: str = "cpu",
) -> list[str]:
    """Run every missing cell; returns the trace files written by this call.

    ``device`` is the torch device of every cell (``cuda``: all workers share the one GPU).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = [c for c in grid_cells(seeds, patterns) if not (out / c.filename).exists()]
    if limit is not None:
        todo = todo[:limit]
    log.info("grid: %d cells to run in %s (workers=%d, threads=%d, steps=%d, device=%s)",
             len(todo), out, workers, threads, steps, device)  # fmt: skip
    written: list[str] = []
    if workers <= 1:
        for i, cell in enumerate(todo, 1):
            try:
                path, acc, secs = run_cell(cell, str(out), steps, threads, device=device)
            except Exception as exc:  # one failing cell must not stop the grid
                log.error("[%d/%d] %s FAILED: %s", i, len(todo), cell.filename, exc)
                continue
            log.info("[%d/%d] %s acc=%.4f %.0fs", i, len(todo), Path(path).name, acc, secs)
            written.append(path)
        return written
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futs = {pool.submit(run_cell, c, str(out), steps, threads, device=device): c for c in todo}
        for i, fut in enumerate(as_completed(futs), 1):
            try:
                path, acc, secs = fut.result()
            except Exception as exc:
                log.error("[%d/%d] %s FAILED: %s", i, len(todo), futs[fut].filename, exc)
                continue
            log.info("[%d/%d] %s acc=%.4f %.0fs", i, len(todo), Path(path).name, acc, secs)
            written.append(path)
    return written


def results_table(trace_dir: str | os.PathLike[str]) -> str:
    """Markdown table of eval token accuracy (mean ± std over seeds, and the seed count) per cell × pattern.

    A last line counts the cells per device they were trained on (trace ``params.device``/``device_name``;
    traces without one ran on the CPU).
    """
    acc: dict[tuple[str, str], list[float]] = defaultdict(list)
    devices: dict[str, int] = defaultdict(int)
    for p in sorted(Path(trace_dir).glob("*.json")):
        tr = load_trace(p)
        if tr.metrics is None or tr.metrics.accuracy is None or tr.training is None:
            continue
        params = tr.training.params
        cell = str(params.get("cell", tr.training.recipe))
        nm = "—" if cell == "dense" else str(params.get("nm", tr.training.target))
        acc[(cell, nm)].append(tr.metrics.accuracy)
        devices[str(params.get("device_name", params.get("device", "cpu")))] += 1
    if not acc:
        return "(no finished cells)\n"
    order = ["dense"] + [c.label for c in grid_cells((1,), ("1:8",)) if c.recipe != "dense"]
    cells = sorted({c for c, _ in acc}, key=lambda c: (order.index(c) if c in order else 99, c))
    pats = [p for p in PATTERNS if any(k[1] == p for k in acc)]

    def fmt(vals: list[float]) -> str:
        if not vals:
            return ""
        mean = 100 * statistics.fmean(vals)
        std = 100 * statistics.stdev(vals) if len(vals) > 1 else 0.0
        return f"{mean:.2f} ± {std:.2f} (n={len(vals)})"

    lines = ["| recipe | " + " | ".join(pats) + " |", "|---|" + "---|" * len(pats)]
    for c in cells:
        if c == "dense":
            lines.append("| dense | " + " | ".join(fmt(acc[("dense", "—")]) for _ in pats) + " |")
        else:
            lines.append(f"| {c} | " + " | ".join(fmt(acc.get((c, p), [])) for p in pats) + " |")
    tally = ", ".join(f"{n} on {d}" for d, n in sorted(devices.items()))
    lines += ["", f"Cells by device: {tally}."]
    return "\n".join(lines) + "\n"
