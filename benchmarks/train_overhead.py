"""Overhead of the sparsity machinery on a training step of the reference model (target: <= 5%).

Times one optimizer step (forward, backward, AdamW, ``sp.step()``) of the d_model-128 encoder-decoder on
the synthetic translation task, batch 64, for: no sparsifier (baseline), the sparsifier in its dense
phase, a fixed mask (one-shot), SR-STE 1:8 and 2:4 (mask recomputed every step) and MDGF-exp 1:8 (mask
recomputed every step plus the decay scale). Time is this process's CPU time (``time.process_time``),
so other processes sharing the cores do not inflate it; with ``--threads 1`` it equals compute time.
Configurations are interleaved in short rounds and the median per-step time is reported.

    python benchmarks/train_overhead.py --steps 40 --rounds 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F

from nmsim.train import Sparsifier
from nmsim.train.tasks.translation import TranslationTask
from nmsim.train.trainer import build_model

CONFIGS = {
    "baseline (no sparsifier)": None,
    "sparsifier, dense phase": ("dense", {}),
    "one-shot fixed mask 1:8": ("oneshot", {"nm": "1:8"}),
    "SR-STE 2:4 (mask every step)": ("srste", {"nm": "2:4"}),
    "SR-STE 1:8 (mask every step)": ("srste", {"nm": "1:8"}),
    "MDGF-exp 1:8 (mask every step)": ("mdgf", {"nm": "1:8", "decay": "exp"}),
}


def setup(cfg, total: int):
    torch.manual_seed(0)
    task = TranslationTask(seed=0)
    model = build_model(task)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sp = None
    if cfg is not None:
        recipe, kw = cfg
        sp = Sparsifier(model, recipe, total, **kw)
        # jump into the sparse phase (after the 10% dense warm-up): time steady-state steps
        while recipe != "dense" and sp.state.pattern_text == "dense":
            sp.step()
    batches = [task.train_batch(i, 64) for i in range(4)]
    return model, opt, sp, [tuple(torch.from_numpy(a) for a in (b.src, b.tgt_in, b.tgt_out)) for b in batches]


def time_steps(model, opt, sp, batches, steps: int) -> float:
    """CPU milliseconds per step of this process (robust to other processes competing for the cores)."""
    t0 = time.process_time()
    for i in range(steps):
        src, tin, tout = batches[i % len(batches)]
        logits = model(src, tin)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sp is not None:
            sp.step()
    return 1000 * (time.process_time() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="timed steps per configuration per round")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    total = 10 * args.steps * args.rounds + 1000
    runs = {name: setup(cfg, total) for name, cfg in CONFIGS.items()}
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for r in runs.values():
        time_steps(*r, steps=3)  # warm-up
    for _ in range(args.rounds):
        for name, r in runs.items():
            times[name].append(time_steps(*r, steps=args.steps))
    base = statistics.median(times["baseline (no sparsifier)"])
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.steps} steps x {args.rounds} rounds, batch 64"
    )
    print("| configuration | CPU ms/step (median) | overhead |")
    print("|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.1f} | {100 * (med / base - 1):+.1f}% |")


if __name__ == "__main__":
    main()
