#!/usr/bin/env python3
"""nmsim side by side with ZigZag 3.9.1 on BERT-base layers (issue 11 item 7).

Reads the committed ZigZag reference (``benchmarks/results/zigzag/tpu_like_bert.json``, made by
``benchmarks/zigzag_reference.py`` in a side virtual environment; ZigZag itself is not needed here) and runs
nmsim on the same GEMMs with a hardware config, by default ``hw_configs/zigzag_tpu_like.yaml`` (the translation
of ZigZag's ``tpu_like``, docs/zigzag_tpu_like.md)::

    python benchmarks/zigzag_compare.py                       # latency objective, table
    python benchmarks/zigzag_compare.py --objective energy --breakdown
    python benchmarks/zigzag_compare.py --hw tpu_v1_dense --json

Per layer: ZigZag's cycles and energy for its mapping of the chosen objective, nmsim's, the gap
``(nmsim − ZigZag) / ZigZag`` in %, and the wall time per layer on both sides (ZigZag: its mapper and cost
model, one thread, from the reference; nmsim: one ``simulate_gemm`` call on a shape not seen before, after a
warm-up that compiles the engine). Summary: median |gap| over the layers, against the issue's targets (latency
10%, energy 15%). Units: cycles, µJ, s.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "benchmarks" / "results" / "zigzag" / "tpu_like_bert.json"
DEFAULT_HW = REPO / "hw_configs" / "zigzag_tpu_like.yaml"
OBJECTIVES = ("latency", "energy")
TARGET_PCT = {"cycles": 10.0, "energy": 15.0}


def load_reference(path: Path = REFERENCE) -> dict[str, Any]:
    """The ZigZag reference document (see benchmarks/zigzag_reference.py for its fields)."""
    with open(path) as f:
        return json.load(f)


def objective_supported() -> bool:
    """Whether this checkout's ``nmsim.simulate_gemm`` takes an ``objective`` argument."""
    import nmsim

    return "objective" in inspect.signature(nmsim.simulate_gemm).parameters


def gap_pct(nmsim_value: float, zigzag_value: float) -> float:
    """(nmsim − ZigZag) / ZigZag, in %."""
    return 100.0 * (nmsim_value - zigzag_value) / zigzag_value


def zigzag_energy_by_level(rec: dict[str, Any]) -> dict[str, float]:
    """ZigZag energy (pJ) per memory instance (all operands and directions) plus ``mac``."""
    out: dict[str, float] = {"mac": rec["mac_energy_pj"]}
    for op in rec["operands"].values():
        for level, dirs in op["energy_pj"].items():
            out[level] = out.get(level, 0.0) + sum(dirs.values())
    return out


def zigzag_dram_bytes(rec: dict[str, Any], dram_bits_per_access: int = 64) -> dict[str, float]:
    """Bytes each operand moves at ZigZag's DRAM (accesses × 64 bit / 8), both directions."""
    out = {}
    for name, op in rec["operands"].items():
        acc = op["accesses"].get("dram", {})
        out[name] = sum(acc.values()) * dram_bits_per_access / 8
    return out


def _simulate(nmsim: Any, layer: dict[str, Any], hw: Any, objective: str | None, dtype: str | None) -> Any:
    kwargs: dict[str, Any] = {"dtype": dtype, "name": layer["key"]}
    if objective is not None:
        kwargs["objective"] = objective
    return nmsim.simulate_gemm(layer["m"], layer["n"], layer["k"], hw, **kwargs)


def compare(
    ref: dict[str, Any], hw: Any, objective: str = "latency", dtype: str | None = None
) -> dict[str, Any]:
    """Run nmsim on every reference layer; rows with both sides' cycles, energy (pJ), gaps (%), wall (s)."""
    import nmsim

    applied = objective_supported()
    obj_arg = objective if applied else None
    _simulate(nmsim, {"key": "warmup", "m": 96, "n": 80, "k": 112}, hw, obj_arg, dtype)  # compile, not timed
    rows = []
    for layer in ref["workload"]["layers"]:
        zz = ref["results"][layer["key"]][objective]
        t0 = time.perf_counter()
        res = _simulate(nmsim, layer, hw, obj_arg, dtype)
        wall = time.perf_counter() - t0
        rows.append(
            {
                "layer": layer["key"],
                "m": layer["m"],
                "k": layer["k"],
                "n": layer["n"],
                "zigzag_cycles": zz["cycles"],
                "nmsim_cycles": res.cycles,
                "cycles_gap_pct": gap_pct(res.cycles, zz["cycles"]),
                "zigzag_energy_pj": zz["energy_pj"],
                "nmsim_energy_pj": res.energy_pj,
                "energy_gap_pct": gap_pct(res.energy_pj, zz["energy_pj"]),
                "zigzag_wall_s": zz["wall_s"],
                "nmsim_wall_s": wall,
                "zigzag_energy_by_level_pj": zigzag_energy_by_level(zz),
                "nmsim_energy_breakdown_pj": dict(getattr(res, "energy_breakdown_pj", {}) or {}),
                "zigzag_latency_breakdown": zz["latency_breakdown"],
                "nmsim_compute_cycles": getattr(res, "compute_cycles", None),
                "nmsim_stall_cycles": getattr(res, "stall_cycles", None),
                "zigzag_dram_bytes": zigzag_dram_bytes(zz),
                "nmsim_mapping": getattr(res, "mapping", None),
                "nmsim_dram_bytes": {
                    "W": getattr(res, "dram_filter_bytes", None),
                    "I": getattr(res, "dram_ifmap_bytes", None),
                    "O": getattr(res, "dram_ofmap_bytes", None),
                },
            }
        )
    summary = {
        "median_abs_cycles_gap_pct": statistics.median(abs(r["cycles_gap_pct"]) for r in rows),
        "median_abs_energy_gap_pct": statistics.median(abs(r["energy_gap_pct"]) for r in rows),
        "median_zigzag_wall_s": statistics.median(r["zigzag_wall_s"] for r in rows),
        "median_nmsim_wall_s": statistics.median(r["nmsim_wall_s"] for r in rows),
        "target_pct": dict(TARGET_PCT),
    }
    summary["cycles_within_target"] = summary["median_abs_cycles_gap_pct"] <= TARGET_PCT["cycles"]
    summary["energy_within_target"] = summary["median_abs_energy_gap_pct"] <= TARGET_PCT["energy"]
    return {
        "objective": objective,
        "objective_applied_to_nmsim": applied,
        "zigzag_version": ref["tool"]["version"],
        "rows": rows,
        "summary": summary,
    }


def _fmt_parts(parts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v / 1e6:.2f}" for k, v in parts.items() if isinstance(v, (int, float)))


def format_table(cmp: dict[str, Any], breakdown: bool = False) -> str:
    """A plain-text table of :func:`compare`'s result."""
    head = (
        f"{'layer':9s} {'M':>4s} {'K':>5s} {'N':>5s} | {'ZZ cycles':>10s} {'nmsim cyc':>10s} {'gap%':>7s} | "
        f"{'ZZ µJ':>8s} {'nmsim µJ':>8s} {'gap%':>7s} | {'ZZ wall s':>9s} {'nmsim µs':>8s}"
    )
    lines = [
        f"objective: {cmp['objective']} (ZigZag {cmp['zigzag_version']}'s {cmp['objective']}-optimal mapping)"
    ]
    if not cmp["objective_applied_to_nmsim"]:
        lines.append(
            "note: this nmsim has no 'objective' option (simulate_gemm takes none); nmsim's numbers are its "
            "single mapping"
        )
    lines += [head, "-" * len(head)]
    for r in cmp["rows"]:
        lines.append(
            f"{r['layer']:9s} {r['m']:>4d} {r['k']:>5d} {r['n']:>5d} | {r['zigzag_cycles']:>10,} "
            f"{r['nmsim_cycles']:>10,} {r['cycles_gap_pct']:>+7.1f} | {r['zigzag_energy_pj'] / 1e6:>8.2f} "
            f"{r['nmsim_energy_pj'] / 1e6:>8.2f} {r['energy_gap_pct']:>+7.1f} | {r['zigzag_wall_s']:>9.2f} "
            f"{r['nmsim_wall_s'] * 1e6:>8.1f}"
        )
        if breakdown:
            zl = r["zigzag_latency_breakdown"]
            lines.append(
                f"    cycles  ZigZag: compute {zl['ideal_temporal_cycle']:,} stall {zl['stall_slack_comb']:,} "
                f"onload {zl['data_onloading_cycle']:,} offload {zl['data_offloading_cycle']:,} "
                f"drain {zl['systolic_drain_cycle']}; nmsim: compute {r['nmsim_compute_cycles']} "
                f"stall {r['nmsim_stall_cycles']}"
            )
            lines.append(f"    µJ      ZigZag: {_fmt_parts(r['zigzag_energy_by_level_pj'])}")
            lines.append(f"            nmsim:  {_fmt_parts(r['nmsim_energy_breakdown_pj'])}")
            zb, nb = r["zigzag_dram_bytes"], r["nmsim_dram_bytes"]
            lines.append(
                "    DRAM MB ZigZag: "
                + ", ".join(f"{k} {v / 1e6:.3f}" for k, v in zb.items())
                + "; nmsim: "
                + ", ".join(f"{k} {v / 1e6:.3f}" for k, v in nb.items() if v is not None)
            )
    s = cmp["summary"]
    lines.append("-" * len(head))
    lines.append(
        f"median |gap|: cycles {s['median_abs_cycles_gap_pct']:.1f}% (target {s['target_pct']['cycles']:.0f}%: "
        f"{'met' if s['cycles_within_target'] else 'NOT met'}), energy {s['median_abs_energy_gap_pct']:.1f}% "
        f"(target {s['target_pct']['energy']:.0f}%: {'met' if s['energy_within_target'] else 'NOT met'}); "
        f"median wall per layer: ZigZag {s['median_zigzag_wall_s']:.2f} s, nmsim "
        f"{s['median_nmsim_wall_s'] * 1e6:.1f} µs"
    )
    return "\n".join(lines)


def _fail(field: str, allowed: str, got: Any) -> int:
    print(f"error: {field}: {allowed}, got {got!r}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", default=None, help=f"hardware config name or path (default {DEFAULT_HW.name})")
    ap.add_argument("--objective", default="latency", help="latency | energy")
    ap.add_argument("--dtype", default=None, help="nmsim dtype (default: the config's default_dtype)")
    ap.add_argument("--reference", default=str(REFERENCE), help="ZigZag reference JSON")
    ap.add_argument(
        "--breakdown", action="store_true", help="per layer: cycle parts, energy per level, DRAM bytes"
    )
    ap.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = ap.parse_args(argv)

    if args.objective not in OBJECTIVES:
        return _fail("--objective", "allowed: latency, energy", args.objective)
    hw_arg = args.hw
    if hw_arg is None:
        if not DEFAULT_HW.exists():
            return _fail("--hw", "a config name or path (the default does not exist yet)", str(DEFAULT_HW))
        hw_arg = str(DEFAULT_HW)
    ref_path = Path(args.reference)
    if not ref_path.exists():
        return _fail(
            "--reference", "an existing ZigZag reference JSON (benchmarks/zigzag_reference.py)", str(ref_path)
        )

    import nmsim

    try:
        hw = nmsim.load_hardware(hw_arg)
        result = compare(load_reference(ref_path), hw, args.objective, args.dtype)
    except nmsim.NmsimInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"hw": hw.name, **result}, indent=1, sort_keys=True))
    else:
        print(f"hardware: {hw.name}")
        print(format_table(result, args.breakdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
