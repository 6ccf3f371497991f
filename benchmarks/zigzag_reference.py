#!/usr/bin/env python3
"""Regenerate benchmarks/results/zigzag/tpu_like_bert.json from ZigZag 3.9.1 (issue 11 item 7).

Standalone: run it with the *side* virtual environment that has ZigZag installed, never with nmsim's own
environment (ZigZag is NOT an nmsim dependency)::

    python3 -m venv /work/venvs/zigzag
    /work/venvs/zigzag/bin/pip install zigzag-dse==3.9.1 six      # 3.9.1 imports six without declaring it
    nice -n 10 /work/venvs/zigzag/bin/python benchmarks/zigzag_reference.py \
        --out benchmarks/results/zigzag/tpu_like_bert.json

(``--python PATH`` runs the workers with another interpreter, so the driver itself may run anywhere.)

Hardware and mapping: ZigZag's own shipped example ``inputs/hardware/tpu_like.yaml`` and
``inputs/mapping/tpu_like.yaml``, unmodified (their sha256 are recorded). Every number of that accelerator,
with file and line, and how ZigZag's cost model uses it: docs/zigzag_tpu_like.md.

Workload: BERT-base (d_model 768, FF 3072) QKV (fused, N = 3·768), attention output projection, FF1 and FF2 at
128 and 512 tokens, batch 1, each as one ZigZag ``Gemm`` layer ``O[d][k]+=I[d][c]*W[c][k]`` with ZigZag's
ONNX-parser default precisions (W 8, I 8, partial sums O 16, final outputs 8 bit). ZigZag D = nmsim M (tokens),
C = K (reduction), K = N (outputs).

Each (layer, objective) runs in a fresh subprocess (``--worker``) so that no ZigZag state (e.g. its global port-id
counter) leaks between runs; its dump folder is a temporary directory deleted afterwards. ``wall_s`` is the time
of the ``get_hardware_performance_zigzag`` call alone (no interpreter start, no import), one thread.
Objectives: ``latency`` (min ``latency_total2``, ties by energy) and ``energy`` (min ``energy_total``, ties by
latency), ZigZag's defaults otherwise (LOMA, ``lpf_limit=6``, uneven mappings, no inter-layer locality).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

D_MODEL = 768
D_FF = 3072
TOKENS = (128, 512)
# name -> (K reduction, N outputs); M = tokens.
LAYERS: dict[str, tuple[int, int]] = {
    "qkv": (D_MODEL, 3 * D_MODEL),
    "out": (D_MODEL, D_MODEL),
    "ff1": (D_MODEL, D_FF),
    "ff2": (D_FF, D_MODEL),
}
OBJECTIVES = ("latency", "energy")
PRECISION = {"W": 8, "I": 8, "O": 16, "O_final": 8}
HW_FILE = "inputs/hardware/tpu_like.yaml"
MAPPING_FILE = "inputs/mapping/tpu_like.yaml"
DIRECTIONS = ("rd_out_to_low", "wr_in_by_low", "rd_out_to_high", "wr_in_by_high")


def zigzag_layer(name: str, m: int, k: int, n: int) -> dict[str, Any]:
    """The exact layer dict handed to ZigZag for activations m×k times weights k×n."""
    return {
        "id": 0,
        "name": name,
        "operator_type": "Gemm",
        "equation": "O[d][k]+=I[d][c]*W[c][k]",
        "loop_dims": ["C", "D", "K"],
        "loop_sizes": [k, m, n],
        "operand_precision": dict(PRECISION),
        "operand_source": {"I": 0},
    }


def _int_if_whole(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _loops(level: Any) -> list[list[Any]]:
    return [[str(dim), _int_if_whole(size)] for dim, size in level]


def _four_way(fw: Any) -> dict[str, float]:
    from zigzag.hardware.architecture.memory_port import DataDirection

    return {d: _int_if_whole(fw.get(DataDirection(d))) for d in DIRECTIONS}


def _hardware_summary(acc: Any) -> dict[str, Any]:
    """What ZigZag parsed from tpu_like.yaml (units: bits, bits/cycle, pJ per access)."""
    mems = {}
    for lv in acc.memory_hierarchy.mem_level_list:
        inst = lv.memory_instance
        mems[inst.name] = {
            "size_bits": inst.size,
            "r_cost_pj": inst.r_cost,
            "w_cost_pj": inst.w_cost,
            "operands": sorted(str(o) for o in lv.operands),
            "served_dimensions": sorted(str(d) for d in lv.served_dimensions),
            "force_double_buffering": inst.force_double_buffering,
            "ports": [
                {
                    "name": p.name,
                    "type": str(p.type),
                    "bw_min_bits": p.bw_min,
                    "bw_max_bits": p.bw_max,
                    "serves": sorted(f"{op}@{lvl}:{d}" for op, lvl, d in p.served_op_lv_dir),
                }
                for p in inst.ports
            ],
        }
    oa = acc.operational_array
    return {
        "name": acc.name,
        "mac_energy_pj": oa.unit.energy_cost,
        "array": {str(d): int(s) for d, s in oa.dimension_sizes.items()},
        "systolic_dimensions": sorted(str(d) for d in oa.systolic_dimensions),
        "memories": mems,
    }


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one (layer, objective) in this process and return its record."""
    import logging

    logging.disable(logging.CRITICAL)
    import zigzag
    from zigzag.api import get_hardware_performance_zigzag

    base = os.path.dirname(zigzag.__file__)
    layer = zigzag_layer(spec["name"], spec["m"], spec["k"], spec["n"])
    with tempfile.TemporaryDirectory(prefix="zigzag_ref_") as tmp:
        t0 = time.perf_counter()
        energy, latency, cmes = get_hardware_performance_zigzag(
            [layer],
            os.path.join(base, HW_FILE),
            os.path.join(base, MAPPING_FILE),
            opt=spec["objective"],
            dump_folder=tmp,
            loma_show_progress_bar=False,
        )
        wall = time.perf_counter() - t0
    cme = cmes[0][1][0][0]
    links = cme.memory_operand_links
    hier = cme.accelerator.memory_hierarchy
    per_op: dict[str, Any] = {}
    for op in cme.layer.layer_operands:
        levels = [lv.memory_instance.name for lv in hier.get_memory_levels(links.layer_to_mem_op(op))]
        n_active = len(cme.memory_word_access[op])
        tmap = cme.temporal_mapping.mapping_dic_origin[op]
        smap = cme.spatial_mapping_int.mapping_dict_origin[op]
        per_op[str(op)] = {
            "memory_operand": str(links.layer_to_mem_op(op)),
            "levels": levels[:n_active],
            "energy_pj": {
                levels[i]: _four_way(cme.mem_energy_breakdown_further[op][i]) for i in range(n_active)
            },
            "accesses": {levels[i]: _four_way(cme.memory_word_access[op][i]) for i in range(n_active)},
            "utilization": {levels[i]: cme.mem_utili_shared[op][i] for i in range(n_active)},
            "double_buffered": {levels[i]: bool(cme.double_buffer_true[op][i + 1]) for i in range(n_active)},
            # temporal loops per memory level, innermost first; spatial loops per architecture level
            # (index 0 = the MAC array, then one entry per memory level)
            "temporal_loops": {levels[i]: _loops(tmap[i]) for i in range(n_active)},
            "spatial_loops": [_loops(lv) for lv in smap],
        }
    return {
        "cycles": _int_if_whole(float(latency)),
        "energy_pj": float(energy),
        "mac_energy_pj": float(cme.mac_energy),
        "memory_energy_pj": float(cme.mem_energy),
        "macs": int(cme.layer.total_mac_count),
        "latency_breakdown": {
            "ideal_cycle": _int_if_whole(float(cme.ideal_cycle)),
            "ideal_temporal_cycle": _int_if_whole(float(cme.ideal_temporal_cycle)),
            "stall_slack_comb": _int_if_whole(float(cme.stall_slack_comb)),
            "data_onloading_cycle": _int_if_whole(float(cme.data_onloading_cycle)),
            "data_offloading_cycle": _int_if_whole(float(cme.data_offloading_cycle)),
            "systolic_drain_cycle": int(cme.systolic_drain_cycle),
        },
        "mac_utilization": float(cme.mac_utilization2),
        "spatial_mapping": {
            str(d): {str(k): int(v) for k, v in m.items()} for d, m in cme.layer.spatial_mapping.items()
        },
        "operands": per_op,
        "wall_s": round(wall, 3),
        "_hardware": _hardware_summary(cme.accelerator),
    }


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _tool_info(python: str) -> dict[str, Any]:
    code = (
        "import importlib.metadata as m, os, sys, zigzag;"
        "print(m.version('zigzag-dse')); print(os.path.dirname(zigzag.__file__)); print(sys.version.split()[0])"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(
            f"error: --python {python}: cannot import zigzag (pip install zigzag-dse==3.9.1 six)"
        )
    version, base, pyver = out.stdout.split()
    return {"version": version, "base": base, "python": pyver}


def _run_worker(python: str, spec: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [python, os.path.abspath(__file__), "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"error: ZigZag run {spec} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/zigzag/tpu_like_bert.json")
    ap.add_argument("--python", default=sys.executable, help="interpreter that has zigzag-dse 3.9.1")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    tool = _tool_info(args.python)
    if tool["version"] != "3.9.1":
        print(f"error: zigzag-dse version: allowed 3.9.1, got {tool['version']}", file=sys.stderr)
        return 2
    layers, results, hardware = [], {}, None
    for tokens in TOKENS:
        for name, (k, n) in LAYERS.items():
            key = f"{name}_{tokens}"
            layers.append(
                {
                    "key": key,
                    "layer": name,
                    "tokens": tokens,
                    "m": tokens,
                    "k": k,
                    "n": n,
                    "macs": tokens * k * n,
                    "zigzag_layer": zigzag_layer(key, tokens, k, n),
                }
            )
            results[key] = {}
            for obj in OBJECTIVES:
                rec = _run_worker(args.python, {"name": key, "m": tokens, "k": k, "n": n, "objective": obj})
                hardware = rec.pop("_hardware")
                results[key][obj] = rec
                print(
                    f"{key:9s} {obj:8s} cycles {rec['cycles']:>10,} energy {rec['energy_pj'] / 1e6:9.3f} uJ "
                    f"wall {rec['wall_s']:6.2f} s",
                    flush=True,
                )
    doc = {
        "generated_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": {
            "name": "zigzag-dse",
            "version": tool["version"],
            "python": tool["python"],
            "api": "zigzag.api.get_hardware_performance_zigzag",
            "options": {
                "temporal_mapping_search_engine": "loma",
                "lpf_limit": 6,
                "temporal_mapping_type": "uneven",
                "exploit_data_locality": False,
                "threads": 1,
            },
            "files": {
                "hardware": {"path": HW_FILE, "sha256": _sha256(os.path.join(tool["base"], HW_FILE))},
                "mapping": {
                    "path": MAPPING_FILE,
                    "sha256": _sha256(os.path.join(tool["base"], MAPPING_FILE)),
                    "entry": "default (operator Gemm is not named in the file)",
                },
            },
        },
        "hardware": hardware,
        "workload": {
            "model": "BERT-base, batch 1",
            "d_model": D_MODEL,
            "d_ff": D_FF,
            "convention": "nmsim activations MxK times weights KxN; ZigZag D = M (tokens), C = K (reduction), "
            "K = N (outputs); qkv = the Q, K, V projections fused into one GEMM (N = 3*d_model)",
            "precision_bits": dict(PRECISION),
            "layers": layers,
        },
        "units": {"cycles": "cycles", "energy": "pJ", "wall": "s", "size": "bits", "bandwidth": "bits/cycle"},
        "results": results,
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
