#!/usr/bin/env python3
"""Regenerate tests/data/scalesim_reference.json from SCALE-Sim v3.

Standalone: run it with the *side* virtual environment that has SCALE-Sim
installed, never with nmsim's own environment::

    python3 -m venv /work/scalesim-venv
    /work/scalesim-venv/bin/pip install scalesim==3.0.0 'numpy<2.4'
    /work/scalesim-venv/bin/python benchmarks/scalesim_reference.py \
        --out tests/data/scalesim_reference.json

SCALE-Sim is NOT an nmsim dependency.  Every run executes in a fresh
subprocess (``--worker``) so that no SCALE-Sim state leaks between runs; its
report files go to a temporary directory that is deleted afterwards, and
trace writing is disabled (``save_disk_space=True``) because traces can be
gigabytes.

GEMM convention: activations M x K, weights K x N, output M x N.  SCALE-Sim's
GEMM topology row is ``name, M, N, K, N:M,`` (the trailing comma is
mandatory: the parser drops the last comma-separated field).  Internally it
becomes a conv layer with ifmap M x K, filter 1 x K, 1 channel, N filters, so
M = ofmap pixels, N = filters, K = window size.

"Ideal memory": InterfaceBandwidth = CALC (SCALE-Sim's estimate-bandwidth
mode, in which SRAM reads never stall) and 64 MiB SRAMs so that OFMAP writes
never stall either; every run records the stall cycles SCALE-Sim reports.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------------------
# Exact config template handed to SCALE-Sim ({placeholders} filled per run).
# ---------------------------------------------------------------------------
CONFIG_TEMPLATE = """[general]
run_name = ref

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   65536
FilterSramSzkB:  65536
OfmapSramSzkB:   65536
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : {sparsity_support}
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 4
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

# Topology (GEMM mode, "-i gemm"): header line, then one layer per line.
TOPOLOGY_TEMPLATE = "Layer, M, N, K, Sparsity,\nL0, {m}, {n}, {k}, {ratio},\n"
# Layout file: must exist (SCALE-Sim always opens it); header only = unused.
LAYOUT_TEXT = "Layer,\n"

# Equivalent CLI (NB: in scalesim 3.0.0 the CLI's "-s N" flag is ignored and
# traces are always written, so this script uses the Python API instead):
CLI_EQUIVALENT = "python -m scalesim.scale -c cfg.cfg -t topo.csv -l layout.csv -p OUTDIR -i gemm"
API_CALL = (
    "scalesim.scale_sim.scalesim(save_disk_space=True, verbose=False, "
    "config='cfg.cfg', topology='topo.csv', layout='layout.csv', "
    "input_type_gemm=True).run_scale(top_path=OUTDIR); "
    "numbers read from OUTDIR/ref/COMPUTE_REPORT.csv"
)

RUN_TIMEOUT_S = 120  # hard wall-clock cap per SCALE-Sim run


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------
def build_grid():
    grid = []
    small_gemms = [(16, 16, 16), (20, 12, 36), (7, 9, 13), (64, 32, 100)]
    for rows, cols in [(4, 4), (8, 8), (8, 4)]:
        for df in ("os", "ws", "is"):
            for m, n, k in small_gemms:
                grid.append(dict(dataflow=df, rows=rows, cols=cols, m=m, n=n, k=k, sparsity="dense"))
    for rows, cols in [(32, 32), (128, 128)]:
        for df in ("os", "ws", "is"):
            for m, n, k in [(256, 256, 1024), (512, 1024, 768)]:
                grid.append(dict(dataflow=df, rows=rows, cols=cols, m=m, n=n, k=k, sparsity="dense"))
    # Layer-wise N:M sparsity (weights), non-optimized mapping.
    for sp in ("2:4", "1:4", "1:8"):
        grid.append(dict(dataflow="ws", rows=32, cols=32, m=256, n=256, k=1024, sparsity=sp))
    for sp in ("2:4", "1:4", "1:3"):
        grid.append(dict(dataflow="ws", rows=8, cols=8, m=20, n=12, k=36, sparsity=sp))
    for sp in ("2:4", "1:8"):
        grid.append(dict(dataflow="ws", rows=8, cols=8, m=64, n=32, k=100, sparsity=sp))
    # Sparsity with OS / IS (SCALE-Sim only documents it for WS).
    for df in ("os", "is"):
        for m, n, k in [(20, 12, 36), (64, 32, 100)]:
            grid.append(dict(dataflow=df, rows=8, cols=8, m=m, n=n, k=k, sparsity="2:4"))
        grid.append(dict(dataflow=df, rows=32, cols=32, m=256, n=256, k=1024, sparsity="2:4"))
    # Extra: K mod m != 0 with (K mod m) < n, to pin the min(n, K mod m) tail rule.
    for df in ("ws", "os", "is"):
        grid.append(dict(dataflow=df, rows=8, cols=8, m=7, n=9, k=13, sparsity="2:4"))
        grid.append(dict(dataflow=df, rows=4, cols=4, m=16, n=16, k=18, sparsity="3:8"))
        grid.append(dict(dataflow=df, rows=4, cols=4, m=20, n=12, k=37, sparsity="3:8"))
    return grid


# ---------------------------------------------------------------------------
# Closed forms (the ones nmsim implements), for the "matches" field
# ---------------------------------------------------------------------------
def effective_k(k, sparsity):
    if sparsity == "dense":
        return k
    n_, m_ = (int(x) for x in sparsity.split(":"))
    return n_ * (k // m_) + min(n_, k % m_)


def closed_form_cycles(dataflow, rows, cols, m, n, k, sparsity="dense"):
    R, C = rows, cols
    kk = effective_k(k, sparsity)
    if dataflow == "os":
        folds = math.ceil(m / R) * math.ceil(n / C)
        per_fold = kk + R + C - 2
    elif dataflow == "ws":
        folds = math.ceil(kk / R) * math.ceil(n / C)
        per_fold = 2 * R + C + m - 2
    elif dataflow == "is":
        folds = math.ceil(kk / R) * math.ceil(m / C)
        per_fold = 2 * R + C + n - 2
    else:
        raise ValueError(dataflow)
    return folds * per_fold - 1


# ---------------------------------------------------------------------------
# Worker: one SCALE-Sim run in this (fresh) process
# ---------------------------------------------------------------------------
def worker(spec_json):
    spec = json.loads(spec_json)
    import contextlib
    import io

    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory(prefix="scalesim_ref_") as tmp:
        cfg = os.path.join(tmp, "cfg.cfg")
        topo = os.path.join(tmp, "topo.csv")
        layout = os.path.join(tmp, "layout.csv")
        sparse = spec["sparsity"] != "dense"
        with open(cfg, "w") as f:
            f.write(
                CONFIG_TEMPLATE.format(
                    rows=spec["rows"],
                    cols=spec["cols"],
                    dataflow=spec["dataflow"],
                    sparsity_support="true" if sparse else "false",
                )
            )
        with open(topo, "w") as f:
            f.write(
                TOPOLOGY_TEMPLATE.format(
                    m=spec["m"], n=spec["n"], k=spec["k"], ratio="1:1" if not sparse else spec["sparsity"]
                )
            )
        with open(layout, "w") as f:
            f.write(LAYOUT_TEXT)
        outdir = os.path.join(tmp, "out")
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            s = scalesim(
                save_disk_space=True,
                verbose=False,
                config=cfg,
                topology=topo,
                layout=layout,
                input_type_gemm=True,
            )
            t0 = time.perf_counter()
            s.run_scale(top_path=outdir)
            seconds = time.perf_counter() - t0
        with open(os.path.join(outdir, "ref", "COMPUTE_REPORT.csv")) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        vals = [x.strip() for x in lines[1].split(",") if x.strip()]
        # LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles,
        # Overall Util %, Mapping Efficiency %, Compute Util %
        layer = s.runner.single_layer_sim_object_list[0]
        out = dict(
            total_cycles=int(vals[2]),
            compute_cycles=int(vals[2]),
            stall_cycles=int(vals[3]),
            total_cycles_incl_prefetch=int(vals[1]),
            overall_util_percent=float(vals[4]),
            mapping_efficiency_percent=float(vals[5]),
            compute_util_percent=float(vals[6]),
            seconds=round(seconds, 4),
            # operand shapes after SCALE-Sim's N:M compression (K' for sparse)
            ifmap_operand_shape=list(layer.op_mat_obj.ifmap_addr_matrix.shape),
            filter_operand_shape=list(layer.op_mat_obj.filter_addr_matrix.shape),
        )
    print("RESULT " + json.dumps(out))


def run_in_subprocess(spec, timeout=RUN_TIMEOUT_S):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"skipped: exceeded {timeout} s wall-clock"
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :]), None
    err = (p.stderr or p.stdout).strip().splitlines()
    tail = " | ".join(err[-3:]) if err else f"exit code {p.returncode}"
    return None, f"failed (exit {p.returncode}): {tail}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--out",
        default=os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "scalesim_reference.json"
        ),
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=int, default=RUN_TIMEOUT_S)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return

    from importlib.metadata import version

    import numpy

    runs, failures = [], []
    grid = build_grid()
    for i, spec in enumerate(grid):
        res, err = run_in_subprocess(spec, timeout=args.timeout)
        cf = closed_form_cycles(**spec)
        tag = "{dataflow} {rows}x{cols} M={m} N={n} K={k} {sparsity}".format(**spec)
        if err:
            print(f"[{i + 1}/{len(grid)}] {tag}: {err}", file=sys.stderr)
            failures.append(dict(spec, error=err))
            continue
        rec = dict(spec)
        rec.update(res)
        rec["effective_k"] = effective_k(spec["k"], spec["sparsity"])
        rec["closed_form_cycles"] = cf
        rec["matches_closed_form"] = res["total_cycles"] == cf
        runs.append(rec)
        print(
            f"[{i + 1}/{len(grid)}] {tag}: cycles={res['total_cycles']} "
            f"stall={res['stall_cycles']} closed_form={cf} "
            f"{'OK' if rec['matches_closed_form'] else 'DIFF'} ({res['seconds']} s)",
            file=sys.stderr,
        )

    doc = dict(
        generator=dict(
            tool="SCALE-Sim v3 (PyPI package 'scalesim')",
            scalesim_version=version("scalesim"),
            numpy_version=numpy.__version__,
            python_version=sys.version.split()[0],
            date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            script="benchmarks/scalesim_reference.py",
            command="/work/scalesim-venv/bin/python benchmarks/scalesim_reference.py "
            "--out tests/data/scalesim_reference.json",
            scalesim_api_call=API_CALL,
            scalesim_cli_equivalent=CLI_EQUIVALENT,
            config_template=CONFIG_TEMPLATE,
            topology_template=TOPOLOGY_TEMPLATE,
            layout_file=LAYOUT_TEXT,
            notes=[
                "GEMM convention: activations MxK, weights KxN, output MxN; topology row "
                "'name, M, N, K, n:m,' (trailing comma required).",
                "Dense runs use SparsitySupport=false and ratio 1:1; sparse runs use "
                "SparsitySupport=true, SparseRep=ellpack_block, OptimizedMapping=false "
                "(layer-wise N:M on the weights: SCALE-Sim keeps the first n of every m "
                "K-rows and compresses K to K' = n*floor(K/m) + min(n, K mod m)).",
                "total_cycles = COMPUTE_REPORT 'Total Cycles' (what the verbose run prints "
                "as 'Compute cycles'; includes stalls, which are 0 here). compute_cycles "
                "is the same number. total_cycles_incl_prefetch = COMPUTE_REPORT "
                "'Total Cycles (incl. prefetch)' (printed as 'Total cycles'), which spans "
                "the modelled DRAM prefetch window and depends on SRAM size; do not "
                "compare against it.",
                "overall_util_percent = 100*M*N*K/(total_cycles*R*C) with the DENSE K "
                "even for sparse runs; mapping_efficiency_percent is SCALE-Sim's per-fold "
                "average.",
                "closed_form_cycles/matches_closed_form: folds*per_fold-1 with "
                "OS folds ceil(M/R)ceil(N/C), per fold K'+R+C-2; WS folds ceil(K'/R)ceil(N/C), "
                "per fold 2R+C+M-2; IS folds ceil(K'/R)ceil(M/C), per fold 2R+C+N-2.",
                "seconds = wall time of run_scale() only (no traces written), on the "
                "machine that generated this file.",
            ],
        ),
        runs=runs,
        failed_or_skipped=failures,
    )
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: {len(runs)} runs, {len(failures)} failed/skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
