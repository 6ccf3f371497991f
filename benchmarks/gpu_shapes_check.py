"""Predicted vs measured dense and 2:4 latency, and the 2:4 speedup, of a GPU config on measured GEMMs.

Run::

    python benchmarks/gpu_shapes_check.py                                   # H100 config, H100 file
    python benchmarks/gpu_shapes_check.py --hw nvidia_h200_sxm \\
        --measurements benchmarks/results/gpu/h200_transformer_shapes.json --name h200

Prints markdown (docs/fidelity.md): per dtype the median |error| of latencies and speedups and how often the
faster/slower verdict is right, split into rows whose label matches ``--holdout`` (not fitted) and the rest;
then the fp16 speedup grid (layers × token counts). Writes every row to
``benchmarks/results/<name>_shapes_check.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

import nmsim
from nmsim.calibration.fit import speedup_stats
from nmsim.calibration.measurements import load_measurements
from nmsim.engine.clock_state import at_clock_state
from nmsim.io.atomic import write_text_atomic

ROOT = Path(__file__).resolve().parent


def rows_for(hw_name: str, path: Path, state: str = "sustained") -> list[dict]:
    # this project's files were measured under continuous load (sustained clock state), on torch's stack
    hw = at_clock_state(nmsim.load_hardware(hw_name), state, library=True)
    out = []
    for g in load_measurements(path).gemms():
        dense = nmsim.simulate_gemm(g.m, g.n, g.k, hw, dtype=g.dtype)
        # the measured sparse kernel always ran sparse: no dense fallback (as nmsim calibrate)
        sparse = nmsim.simulate_gemm(g.m, g.n, g.k, hw, sparsity=g.pattern, dtype=g.dtype, fallback="never")
        out.append({
            "label": g.label, "dtype": g.dtype, "m": g.m, "k": g.k, "n": g.n,
            "dense_us": g.dense_s * 1e6, "sparse_us": g.sparse_s * 1e6,
            "pred_dense_us": dense.latency_s * 1e6, "pred_sparse_us": sparse.latency_s * 1e6,
            "speedup": g.dense_s / g.sparse_s, "pred_speedup": dense.latency_s / sparse.latency_s,
            "bound_dense": dense.bound, "bound_sparse": sparse.bound,
        })  # fmt: skip
    return out


def summary(rows: list[dict]) -> str:
    lat = [abs(r[f"pred_{x}_us"] / r[f"{x}_us"] - 1) for r in rows for x in ("dense", "sparse")]
    sp = speedup_stats(
        {i: r["speedup"] for i, r in enumerate(rows)}, {i: r["pred_speedup"] for i, r in enumerate(rows)},
        list(range(len(rows))),
    )  # fmt: skip
    return (
        f"{len(rows)} | {100 * statistics.median(lat):.1f}% | {100 * sp['median_abs_error']:.1f}% "
        f"(max {100 * sp['max_abs_error']:.0f}%) | {sp['verdict_right']}/{len(rows)} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", default="nvidia_h100_sxm")
    ap.add_argument(
        "--measurements", type=Path, default=ROOT / "results/gpu/h100_sxm_transformer_shapes.json"
    )
    ap.add_argument("--holdout", default="T4096|T8192", help="regex on labels: the rows not fitted")
    ap.add_argument("--name", default="h100")
    ap.add_argument("--clock-state", default="sustained", choices=("burst", "sustained"))
    args = ap.parse_args()
    rows = rows_for(args.hw, args.measurements, args.clock_state)
    write_text_atomic(ROOT / "results" / f"{args.name}_shapes_check.json", json.dumps(rows, indent=1) + "\n")
    held = re.compile(args.holdout)
    print(f"{args.hw} ({args.clock_state} clock state, measured library) on {args.measurements.name}\n")
    print("| dtype | rows | GEMMs | median latency error | median speedup error | verdict right |")
    print("|---|---|---|---|---|---|")
    for dt in ("fp16", "bf16", "int8", "fp8"):
        for role, keep in (("not fitted", True), ("fitted", False)):
            sel = [r for r in rows if r["dtype"] == dt and bool(held.search(r["label"])) == keep]
            if sel:
                print(f"| {dt} | {role} | {summary(sel)}")
    for role, keep in (("not fitted", True), ("fitted", False)):
        sel = [r for r in rows if bool(held.search(r["label"])) == keep]
        if sel:
            print(f"| all | {role} | {summary(sel)}")
    fp16 = [r for r in rows if r["dtype"] == "fp16" and "T" in r["label"].rsplit(".", 1)[-1]]
    tokens = sorted({int(r["label"].rsplit(".T", 1)[1]) for r in fp16})
    print(
        "\nfp16 2:4 speedup, measured / predicted (bound of the predicted dense GEMM: c compute, l latency,"
    )
    print("m memory):\n")
    print("| layer (M out × K in) | " + " | ".join(f"{t} tok" for t in tokens) + " |")
    print("|---|" + "---|" * len(tokens))
    for layer in dict.fromkeys(r["label"].rsplit(".T", 1)[0] for r in fp16):
        sel = {int(r["label"].rsplit(".T", 1)[1]): r for r in fp16 if r["label"].rsplit(".T", 1)[0] == layer}
        any_r = next(iter(sel.values()))
        cells = [
            f"{sel[t]['speedup']:.2f} / {sel[t]['pred_speedup']:.2f} ({sel[t]['bound_dense'][0]})"
            if t in sel
            else ""
            for t in tokens
        ]
        print(f"| {layer} ({any_r['n']}×{any_r['k']}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
