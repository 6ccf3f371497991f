"""Speed of the core model (targets: one GEMM ≤ 50 µs in-process; a 100-layer trace ≤ 10 ms).

Run: ``python benchmarks/bench_core.py [--scalesim-python /work/scalesim-venv/bin/python]``.
Writes ``benchmarks/results/bench_core.json``. With ``--scalesim-python`` it also times SCALE-Sim 3.0.0 on the
same GEMMs in the same run (``benchmarks/scalesim_timing.py``, a side virtual environment) and reports the
ratio; otherwise it reads the last ``benchmarks/results/scalesim_timing.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import nmsim
from nmsim.io.atomic import write_text_atomic
from nmsim.schemas.trace import Layer, Trace

HERE = Path(__file__).parent


def per_call(fn, repeats: int = 7, number: int = 2000) -> float:
    """Median seconds per call over ``repeats`` batches of ``number`` calls."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scalesim-python", default=None)
    args = ap.parse_args()

    shapes = {"512x512x512": (512, 512, 512), "256x256x1024": (256, 256, 1024)}
    hw = nmsim.load_hardware("tpu_like_dense", rows=32, cols=32, dataflow="ws")
    gemm_s = {
        name: per_call(lambda s=s: nmsim.simulate_gemm(s[0], s[1], s[2], hw, compat="scalesim"))
        for name, s in shapes.items()
    }
    vegeta = nmsim.load_hardware("vegeta_like")
    sparse_s = per_call(lambda: nmsim.simulate_gemm(256, 1024, 4096, vegeta, "1:8"))
    layers = [
        Layer(
            name=f"l{i}",
            m=64 + 7 * i,
            k=256 + 32 * (i % 9),
            n=128 + 16 * (i % 5),
            pattern=("1:8" if i % 2 else "dense"),
        )
        for i in range(100)
    ]
    trace = Trace(name="bench100", layers=layers)
    stc = nmsim.load_hardware("stc_2x4_like")
    trace_s = per_call(lambda: nmsim.simulate(trace, stc), repeats=7, number=50)

    if args.scalesim_python:
        out = subprocess.run(
            [args.scalesim_python, str(HERE / "scalesim_timing.py")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        scalesim = json.loads(out)
    else:
        scalesim = json.loads((HERE / "results" / "scalesim_timing.json").read_text())
    ratios = {}
    for name, (m, n, k) in shapes.items():
        entry = next(
            (e for e in scalesim["results"] if (e["m"], e["n"], e["k"], e["sparsity"]) == (m, n, k, "dense")),
            None,
        )
        if entry:
            check = nmsim.simulate_gemm(m, n, k, hw, compat="scalesim").cycles
            ratios[name] = {
                "scalesim_s": entry["seconds_median"],
                "nmsim_s": gemm_s[name],
                "ratio": entry["seconds_median"] / gemm_s[name],
                "same_cycles": check == entry["total_cycles"],
            }

    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "gemm_us_compat_32x32_ws": {k: v * 1e6 for k, v in gemm_s.items()},
        "gemm_us_sparse_vegeta_1x8": sparse_s * 1e6,
        "trace_100_layers_ms": trace_s * 1e3,
        "targets": {"gemm_us": 50, "trace_100_ms": 10},
        "scalesim_over_nmsim": ratios,
        "scalesim_source": "this run" if args.scalesim_python else "benchmarks/results/scalesim_timing.json",
    }
    text = json.dumps(result, indent=1) + "\n"
    write_text_atomic(HERE / "results" / "bench_core.json", text)
    print(text)


if __name__ == "__main__":
    main()
