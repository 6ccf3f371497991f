#!/usr/bin/env python3
"""Time SCALE-Sim v3 on dense GEMMs (32x32 WS array, ideal memory).

Run with the side virtual environment (SCALE-Sim is not an nmsim dependency)::

    /work/scalesim-venv/bin/python benchmarks/scalesim_timing.py \
        > benchmarks/results/scalesim_timing.json

Prints one JSON object to stdout: for each GEMM the wall-clock seconds of
SCALE-Sim's ``run_scale()`` (median of N repeats, each in a fresh
subprocess, no trace files written) plus the simulated cycle count, so a
cycles-per-second rate and an nmsim/SCALE-Sim speed ratio can be derived.
Config/topology are exactly those of ``scalesim_reference.py``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalesim_reference import (
    CONFIG_TEMPLATE,
    closed_form_cycles,
    run_in_subprocess,
)

CASES = [
    dict(dataflow="ws", rows=32, cols=32, m=512, n=512, k=512, sparsity="dense"),
    dict(dataflow="ws", rows=32, cols=32, m=256, n=256, k=1024, sparsity="dense"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()

    from importlib.metadata import version

    import numpy

    load_before = os.getloadavg()
    results = []
    for spec in CASES:
        secs, res = [], None
        for _ in range(args.repeats):
            res, err = run_in_subprocess(spec, timeout=args.timeout)
            if err:
                raise SystemExit(f"SCALE-Sim run failed for {spec}: {err}")
            secs.append(res["seconds"])
        med = statistics.median(secs)
        results.append(
            dict(
                spec,
                total_cycles=res["total_cycles"],
                stall_cycles=res["stall_cycles"],
                closed_form_cycles=closed_form_cycles(**spec),
                seconds_median=round(med, 4),
                seconds_all=secs,
                simulated_cycles_per_second=round(res["total_cycles"] / med, 1),
            )
        )
        print(f"{spec}: median {med:.3f} s over {secs}", file=sys.stderr)

    doc = dict(
        generator=dict(
            scalesim_version=version("scalesim"),
            numpy_version=numpy.__version__,
            python_version=sys.version.split()[0],
            machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
            cpu_count=os.cpu_count(),
            date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            command="/work/scalesim-venv/bin/python benchmarks/scalesim_timing.py "
            "> benchmarks/results/scalesim_timing.json",
            measured="wall time of scalesim.run_scale() only (excludes interpreter start, "
            "import and config parsing); save_disk_space=True (no traces); "
            "each repeat in a fresh subprocess; median of repeats",
            config_template=CONFIG_TEMPLATE,
            loadavg_1_5_15_before=[round(x, 2) for x in load_before],
            loadavg_1_5_15_after=[round(x, 2) for x in os.getloadavg()],
            caveat="shared machine: other processes' load inflates these wall times; "
            "compare against nmsim timings taken under similar load",
        ),
        repeats=args.repeats,
        results=results,
    )
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
