"""nmsim on ``hw_configs/zigzag_tpu_like.yaml`` against ZigZag's own results for the same hardware.

Reads the reference ZigZag 3.9.1 produced (``benchmarks/results/zigzag/tpu_like_bert.json``: BERT-base
QKV, attention-out, FF1 and FF2 GEMMs at 128 and 512 tokens, ZigZag's latency- and energy-optimal
mappings) and prints, per layer and objective, cycles and energy of both tools and nmsim's wall time.
Targets (issue 11): median |latency error| ≤ 10 % and median |energy error| ≤ 15 % per objective.

    python benchmarks/zigzag_anchor.py [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import nmsim

REFERENCE = Path(__file__).parent / "results" / "zigzag" / "tpu_like_bert.json"


def compare(reference: Path = REFERENCE) -> dict[str, Any]:
    """Per-layer rows and per-objective medians of |nmsim / ZigZag − 1| (cycles and energy)."""
    ref = json.loads(reference.read_text())
    hw = nmsim.load_hardware("zigzag_tpu_like")
    rows, summary = [], {}
    nmsim.simulate_gemm(64, 64, 64, hw)  # load the compiled kernel before timing
    for objective in ("latency", "energy"):
        lat, en = [], []
        for layer in ref["workload"]["layers"]:
            z = ref["results"][layer["key"]][objective]
            t0 = time.perf_counter()
            r = nmsim.simulate_gemm(layer["m"], layer["n"], layer["k"], hw, objective=objective)
            wall = time.perf_counter() - t0
            lat.append(abs(r.cycles / z["cycles"] - 1))
            en.append(abs(r.energy_pj / z["energy_pj"] - 1))
            rows.append({
                "layer": layer["key"], "objective": objective,
                "cycles_nmsim": r.cycles, "cycles_zigzag": z["cycles"],
                "energy_pj_nmsim": r.energy_pj, "energy_pj_zigzag": z["energy_pj"],
                "wall_s_nmsim": wall, "wall_s_zigzag": z["wall_s"],
                "loop_order": r.mapping["loop_order"],
            })  # fmt: skip
        summary[objective] = {
            "median_latency_error": statistics.median(lat),
            "median_energy_error": statistics.median(en),
        }
    return {"rows": rows, "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    res = compare()
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(
        "| layer | objective | cycles nmsim | ZigZag | Δ | energy nmsim (µJ) | ZigZag | Δ | wall nmsim | ZigZag |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        dc = r["cycles_nmsim"] / r["cycles_zigzag"] - 1
        de = r["energy_pj_nmsim"] / r["energy_pj_zigzag"] - 1
        print(f"| {r['layer']} | {r['objective']} | {r['cycles_nmsim']:,} | {r['cycles_zigzag']:,} | {dc:+.1%} | "
              f"{r['energy_pj_nmsim'] / 1e6:.1f} | {r['energy_pj_zigzag'] / 1e6:.1f} | {de:+.1%} | "
              f"{r['wall_s_nmsim'] * 1e6:.0f} µs | {r['wall_s_zigzag']:.1f} s |")  # fmt: skip
    for obj, s in res["summary"].items():
        print(f"\n{obj}: median |latency error| {s['median_latency_error']:.1%}, "
              f"median |energy error| {s['median_energy_error']:.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
