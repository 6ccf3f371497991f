"""Sweep throughput: layer×config evaluations per second (target ≥ 1e6 on 2 cores).

Run: ``python benchmarks/sweep_throughput.py [--out benchmarks/results/sweep_throughput.json] [--inline-only]``.

A *layer×config evaluation* is one layer of one trace costed on one hardware configuration (what
one ``simulate_layer`` call does). Each scenario is a whole ``run_sweep`` (plan, hardware builds,
mode choice, kernel, per-point sums; no file written), timed from a fresh evaluator and cold
residency-planner memos, in this process (``inline``) and in a local pool of 2 processes (not with
``--inline-only``). ``kernel_rows`` is how many distinct (hardware, GEMM) rows the compiled kernel
ran: repeated layer shapes and patterns that land in the same hardware mode are evaluated once.
The ``distinct_layers`` scenario has no repeated shapes, so it shows the kernel-bound rate.
``per_gemm_path`` times ``nmsim.simulate`` on a sample of the same points, for comparison.
``evaluations_per_cpu_s`` divides by the CPU time the sweep got, which on a shared, busy machine
(see ``load_average_at_start``) is what a dedicated core would give.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import nmsim
from nmsim.explore import batch, make_spec, run_sweep
from nmsim.explore.execute import cpu_count
from nmsim.explore.plan import make_plan
from nmsim.explore.variants import apply_nm
from nmsim.io.atomic import write_text_atomic
from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.residency_plan import clear_plan_caches

HERE = Path(__file__).parent


def distinct_trace(n: int = 100) -> Trace:
    """``n`` linear layers of pairwise different shapes, FF-like and sparsifiable."""
    layers = [
        Layer(name=f"l{i}", m=64 + 16 * i, k=256 + 32 * (i % 13), n=128 + 64 * (i % 7)) for i in range(n)
    ]
    return Trace(name="distinct100", source="benchmarks/sweep_throughput.py", layers=layers)


SCENARIOS: dict[str, dict[str, Any]] = {
    "wmt_nm_x_hw_grid": {
        "nm": ["recorded", "dense", "2:4", "1:4", "1:8", "2:8"],
        "hw": ["stc_2x4_like", "vegeta_like"],
        "params": {
            "rows": [32, 64, 128, 256],
            "cols": [32, 64, 128, 256],
            "dataflow": ["os", "ws", "is"],
            "dram_bandwidth_gbps": [100, 400],
            "ifmap_kb": [256, 2048],
        },
    },
    "zoo_nm_x_configs": {
        "traces": [
            "zoo/bert_large",
            "zoo/transformer_base",
            "zoo/vit_b16",
            "zoo/llama_7b",
            "wmt_transformer_1x8",
        ],
        "nm": ["dense", "2:4", "1:4", "1:8"],
        "hw": ["stc_2x4_like", "vegeta_like", "s2ta_like", "tpu_like_dense"],
        "params": {"rows": [32, 64, 128], "cols": [32, 64, 128], "dataflow": ["os", "ws"]},
    },
    "distinct_layers": {
        "nm": ["dense", "2:4", "1:8"],
        "hw": ["vegeta_like"],
        "params": {"rows": [16, 32, 64, 128], "cols": [16, 32, 64, 128], "dataflow": ["os", "ws", "is"]},
    },
}


def run(spec: dict[str, Any], scheduler: str, workers: int | None, repeats: int) -> dict[str, Any]:
    times, cpu = [], []
    res = None
    for _ in range(repeats):
        batch._EVALUATORS.clear()  # no caches carried over from the previous repeat
        clear_plan_caches()
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_sweep(spec, scheduler=scheduler, workers=workers)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert res is not None
    best = min(times)
    return {
        "scheduler": scheduler if workers is None else f"{scheduler} x{workers}",
        "points": res.points,
        "layer_evaluations": res.layer_rows,
        "kernel_rows": res.kernel_rows,
        "seconds_best": round(best, 4),
        "seconds_median": round(statistics.median(times), 4),
        "evaluations_per_s": round(res.layer_rows / best),
        # this process's CPU time (all its threads; a pool's workers not included)
        "cpu_seconds_of_best": round(cpu[times.index(best)], 4),
        "evaluations_per_cpu_s": round(res.layer_rows / cpu[times.index(best)])
        if scheduler == "inline"
        else None,
    }


def per_gemm_rate(spec: dict[str, Any], sample: int = 40) -> float:
    """Layer evaluations per second of the per-GEMM path (``nmsim.simulate`` per point)."""
    plan = make_plan(make_spec(**spec))
    step = max(1, plan.n_points // sample)
    layers = 0
    t0 = time.perf_counter()
    for p in range(0, plan.n_points, step):
        v, h = divmod(p, plan.n_hw)
        t, nm = plan.variant(v)
        hw = plan.build_hw(h)
        trace = apply_nm(plan.traces[t].trace, nm)
        nmsim.simulate(trace, hw)
        layers += len(trace.layers)
    return layers / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "results" / "sweep_throughput.json"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--inline-only", action="store_true", help="skip the 2-process pool rows")
    args = ap.parse_args()
    SCENARIOS["distinct_layers"]["traces"] = [distinct_trace()]
    run_sweep({"nm": ["2:4"], "hw": ["vegeta_like"]}, scheduler="inline")  # load the compiled kernels
    load = os.getloadavg()
    results = {}
    for name, spec in SCENARIOS.items():
        rows = [run(spec, "inline", None, args.repeats)]
        if not args.inline_only:
            rows.append(run(spec, "processes", 2, max(1, args.repeats - 1)))
        results[name] = {"runs": rows, "per_gemm_path_evaluations_per_s": round(per_gemm_rate(spec))}
        for r in rows:
            print(
                f"{name:18s} {r['scheduler']:13s} {r['points']:6d} points {r['layer_evaluations']:9,d} evals "
                f"({r['kernel_rows']:7,d} kernel rows) {r['seconds_best']:7.3f} s -> {r['evaluations_per_s'] / 1e6:6.2f} M/s"
                f" (cpu {r['cpu_seconds_of_best']:.3f} s)"
            )
        print(
            f"{name:18s} per-GEMM path (nmsim.simulate): {results[name]['per_gemm_path_evaluations_per_s'] / 1e6:.3f} M/s"
        )
    doc = {
        "benchmark": "sweep throughput: layer x config evaluations per second",
        "target_evaluations_per_s": 1_000_000,
        "machine": {
            "cpus_usable": cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in load],
        },
        "scenarios": results,
    }
    write_text_atomic(args.out, json.dumps(doc, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
