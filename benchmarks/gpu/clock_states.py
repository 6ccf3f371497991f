"""Burst and sustained predictions of the GPU configs against burst and sustained measured rows.

Run: ``python benchmarks/gpu/clock_states.py`` → prints the markdown table of docs/fidelity.md
("Clock and power state") and writes ``benchmarks/results/clock_states.json``. Every group of measured
rows is predicted in both states (with the measured software stack, ``gpu.library``), so the table
shows how much of the error is the state: the diagonal (a state's prediction against rows measured in
that state) is the model; the off-diagonal is what mixing states costs.

Which state a file's plain columns were measured in: ``h100_24_calibration.json``'s plain columns are
burst (its ``timing`` text: ``sustained_*`` = after 0.3 s of load, at the power limit); this project's
own H100 and H200 files were taken as sustained (70 s and 65 s of back-to-back load; their 2:4 speedups
match the sustained columns, docs/fidelity.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import nmsim
from nmsim.calibration.fit import Sample, predict, speedup_stats, speedups
from nmsim.calibration.measurements import load_measurements
from nmsim.io.atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[2]
GPU = ROOT / "benchmarks" / "results" / "gpu"

# (name, hardware, file, which columns, state of the plain columns)
GROUPS: list[tuple[str, str, str, bool, str]] = [
    ("H100 reference file, burst columns", "nvidia_h100_sxm", "h100_24_calibration.json", False, "burst"),
    ("H100 reference file, sustained columns", "nvidia_h100_sxm", "h100_24_calibration.json", True, "burst"),
    (
        "H100 project file (sustained)",
        "nvidia_h100_sxm",
        "h100_sxm_transformer_shapes.json",
        False,
        "sustained",
    ),
    (
        "H200 project file (sustained, not fitted)",
        "nvidia_h200_sxm",
        "h200_transformer_shapes.json",
        False,
        "sustained",
    ),
]


def group_stats(samples: list[Sample], hw_name: str, state: str) -> dict[str, object]:
    """Latency and 2:4 speedup errors of ``samples`` predicted on ``hw_name`` in ``state``."""
    hw = nmsim.load_hardware(hw_name)
    as_state = [Sample(s.m, s.n, s.k, s.dtype, s.sparsity, s.seconds, s.label, state) for s in samples]
    predicted = predict(hw, as_state)
    measured = np.array([s.seconds for s in samples])
    err = np.abs(predicted / measured - 1)
    sp_m, sp_p = speedups(samples, measured), speedups(samples, predicted)
    stats = speedup_stats(sp_m, sp_p, list(sp_m))
    return {
        "latencies": len(samples),
        "latency_median": float(np.median(err)),
        "latency_max": float(np.max(err)),
        "gemms": stats["count"],
        "speedup_median": stats["median_abs_error"],
        "speedup_max": stats["max_abs_error"],
        "verdict_right": stats["verdict_right"],
        "measured_speedup_range": [min(sp_m.values()), max(sp_m.values())],
        "predicted_speedup_range": [min(sp_p.values()), max(sp_p.values())],
    }


def squares(samples: list[Sample], hw_name: str) -> dict[str, dict[str, float]]:
    """Measured and predicted (both states) 2:4 speedups of the fp16/bf16 squares."""
    keep = [
        s
        for s in samples
        if s.label.startswith("square") and s.dtype in ("fp16", "bf16") and ".Brow" not in s.label
    ]
    if not keep:
        return {}
    measured = speedups(keep, np.array([s.seconds for s in keep]))
    out = {key: {"measured": value} for key, value in measured.items()}
    hw = nmsim.load_hardware(hw_name)
    for state in ("burst", "sustained"):
        as_state = [Sample(s.m, s.n, s.k, s.dtype, s.sparsity, s.seconds, s.label, state) for s in keep]
        for key, value in speedups(as_state, predict(hw, as_state)).items():
            out[key][state] = value
    return out


def main() -> None:
    rows, square_rows = [], {}
    for name, hw_name, file, sustained, plain in GROUPS:
        samples = load_measurements(GPU / file).samples(sustained=sustained, plain_state=plain)
        measured_state = "sustained" if sustained else plain
        for state in ("burst", "sustained"):
            rows.append({"group": name, "measured_in": measured_state, "predicted_in": state,
                         **group_stats(samples, hw_name, state)})  # fmt: skip
        square_rows[name] = squares(samples, hw_name)
    write_text_atomic(
        ROOT / "benchmarks" / "results" / "clock_states.json",
        json.dumps({"groups": rows, "squares": square_rows}, indent=1) + "\n",
    )
    print("| measured rows | measured in | predicted in | latencies | latency error median / max | "
          "2:4 speedup error median / max | verdict right | speedup measured | speedup predicted |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mark = "**" if r["measured_in"] == r["predicted_in"] else ""
        print(
            f"| {r['group']} | {r['measured_in']} | {mark}{r['predicted_in']}{mark} | {r['latencies']} | "
            f"{r['latency_median']:.1%} / {r['latency_max']:.1%} | {r['speedup_median']:.1%} / {r['speedup_max']:.1%} | "
            f"{r['verdict_right']}/{r['gemms']} | {r['measured_speedup_range'][0]:.2f}–{r['measured_speedup_range'][1]:.2f} | "
            f"{r['predicted_speedup_range'][0]:.2f}–{r['predicted_speedup_range'][1]:.2f} |"
        )
    print()
    print("| fp16/bf16 square, columns | measured 2:4 speedup | predicted, burst | predicted, sustained |")
    print("|---|---|---|---|")
    for name, table in square_rows.items():
        for key, v in table.items():
            print(f"| {key} ({name}) | {v['measured']:.3f} | {v['burst']:.3f} | {v['sustained']:.3f} |")


if __name__ == "__main__":
    main()
