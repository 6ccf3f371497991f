"""Speed of the engine with its mapper: one GEMM (µs) and a sweep's layer×config evaluations/s.

Run: ``python benchmarks/mapper_speed.py [--out benchmarks/results/mapper_speed.json]``.

- ``one_gemm_kernel_us``: the compiled kernel (:func:`nmsim.engine.kernel.evaluate_gemm`) on one
  GEMM row, dense and 2:4 (a sparse GEMM is evaluated three ways: sparse, dense schedule, dense
  fallback), median over shapes that are all different (target ≤ 100 µs).
- ``one_gemm_api_us``: :func:`nmsim.simulate_gemm` (mode choice, kernel, result object).
- ``sweep``: :func:`nmsim.explore.run_sweep` on a trace of 100 pairwise different layer shapes ×
  dense/2:4/1:8 × 48 array shapes and dataflows, in this process; evaluations = layers × points.
  ``kernel_rows_per_s`` times :func:`nmsim.engine.kernel.evaluate_rows` alone on as many distinct
  rows, on ``NUMBA_NUM_THREADS`` threads (target ≥ 5e4/s on 2 cores).
- ``sweep_residency``: repeated layer shapes (BERT-large and the WMT Transformer, both with edges) ×
  dense/2:4/1:8 × 2 configs × 4 array sizes × 3 activation-buffer sizes, ``residency`` auto and none:
  evaluations/s (best of 3 on a warm evaluator) and the distinct kernel rows. Identical
  (hardware vector, GEMM row) pairs are evaluated once; with residency, rows of one shape also
  differ in their hooks (input/output resident) and in the bytes resident tensors reserve.

The machine may be shared: ``load_average_at_start`` says how busy it was.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import nmsim
from nmsim.engine.kernel import evaluate_gemm, evaluate_rows
from nmsim.engine.layout import GEMM_LEN, gemm_row
from nmsim.engine.params import hw_vector
from nmsim.explore import make_spec, run_sweep
from nmsim.io.atomic import write_text_atomic
from nmsim.schemas.trace import Layer, Trace

HERE = Path(__file__).parent


def shapes(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(64, 8192, size=(count, 3))


def one_gemm(hw_name: str, count: int = 400) -> dict[str, float]:
    hw = nmsim.load_hardware(hw_name)
    hwv = hw_vector(hw)
    out: dict[str, float] = {}
    for label, sparse in (("dense", False), ("2:4", True)):
        rows = [
            np.array(gemm_row(m, n, k, k // 2 if sparse else k, 2 if sparse else 0, 1, False, sparse))
            for m, n, k in shapes(count).tolist()
        ]
        evaluate_gemm(hwv, rows[0])  # compile / load
        times = []
        for row in rows:
            t0 = time.perf_counter()
            evaluate_gemm(hwv, row)
            times.append(time.perf_counter() - t0)
        out[f"kernel_{label}_us"] = statistics.median(times) * 1e6
        api = []
        for m, n, k in shapes(count // 4, seed=1).tolist():
            t0 = time.perf_counter()
            nmsim.simulate_gemm(m, n, k, hw, sparsity="2:4" if sparse else None)
            api.append(time.perf_counter() - t0)
        out[f"api_{label}_us"] = statistics.median(api) * 1e6
    return out


def distinct_trace(n: int = 100) -> Trace:
    layers = [
        Layer(name=f"l{i}", m=64 + 16 * i, k=256 + 32 * (i % 13), n=128 + 64 * (i % 7)) for i in range(n)
    ]
    return Trace(name="distinct100", source="benchmarks/mapper_speed.py", layers=layers)


def sweep() -> dict[str, float]:
    spec = make_spec(
        traces=[distinct_trace()],
        nm=["dense", "2:4", "1:8"],
        hw=["vegeta_like"],
        params={"rows": [16, 32, 64, 128], "cols": [16, 32, 64, 128], "dataflow": ["os", "ws", "is"]},
    )
    run_sweep(spec, scheduler="inline")  # warm: compile, load
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_sweep(spec, scheduler="inline")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    evaluations = res.layer_rows
    rng = np.random.default_rng(2)
    table = np.stack([hw_vector(nmsim.load_hardware("vegeta_like", rows=r)) for r in (16, 32, 64, 128)])
    count = 20000
    gemms = np.zeros((count, GEMM_LEN))
    gemms[:, 0:3] = rng.integers(64, 8192, size=(count, 3))
    gemms[:, 3] = gemms[:, 2] // 2
    gemms[:, 4] = 2
    gemms[:, 5] = 1
    gemms[:, 7] = 1
    idx = rng.integers(0, len(table), size=count)
    evaluate_rows(table, idx, gemms[:10])
    t1 = time.perf_counter()
    evaluate_rows(table, idx, gemms)
    kernel_s = time.perf_counter() - t1
    return {
        "evaluations": evaluations,
        "kernel_rows": res.kernel_rows,
        "wall_s": wall,
        "cpu_s": cpu,
        "evaluations_per_s": evaluations / wall,
        "evaluations_per_cpu_s": evaluations / cpu,
        "kernel_rows_per_s": count / kernel_s,
        "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", "0") or 0),
    }


def sweep_residency() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for policy in ("none", "auto"):
        spec = make_spec(
            traces=[str(HERE.parent / "traces" / "zoo" / "bert_large.json"), "wmt_transformer_1x8"],
            nm=["dense", "2:4", "1:8"],
            hw=["stc_2x4_like", "vegeta_like"],
            params={"rows": [32, 64, 128, 256], "ifmap_kb": [256, 1024, 6144]},
            residency=policy,
        )
        run_sweep(spec, scheduler="inline")  # warm
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = run_sweep(spec, scheduler="inline")
            walls.append(time.perf_counter() - t0)
        out[policy] = {
            "evaluations": res.layer_rows,
            "kernel_rows": res.kernel_rows,
            "wall_s": min(walls),
            "evaluations_per_s": res.layer_rows / min(walls),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "mapper_speed.json")
    args = ap.parse_args()
    result = {
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg()[0],
        "one_gemm": {hw: one_gemm(hw) for hw in ("stc_2x4_like", "nvidia_h100_sxm", "nvidia_a100_sxm")},
        "sweep": sweep(),
        "sweep_residency": sweep_residency(),
    }
    text = json.dumps(result, indent=1) + "\n"
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
