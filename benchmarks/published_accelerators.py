"""nmsim beside the published sparse-accelerator figures, like for like where the data allows.

Run: ``python benchmarks/published_accelerators.py`` → prints the markdown table of docs/fidelity.md
("Published sparse accelerators") and writes ``benchmarks/results/published_accelerators.json``.

The papers' figures come from ``benchmarks/published_figures.yaml`` (each cited, with its status); this
script never types one. For each figure it runs the workload nmsim has for it on the config that stands
for the paper's machine, against that machine's own baseline, and prints the paper's figure, nmsim's,
the gap and whether it is within the targets (15 % on a speedup, 25 % on an energy ratio). A figure that
cannot be compared like for like yet says why. The machines are the presets of docs/presets.md:
``vegeta`` against its own dense mode, ``s2ta`` against its own baseline ``s2ta_baseline_zvcg`` (zero-value
clock gating modelled here: :func:`zvcg_energy_pj`); ``nvidia_a100_sxm`` (uncalibrated: peak rates) against
NVIDIA's published A100 2:4 measurements (a CUTLASS throughput, a 4096³ GEMM pair, TensorRT's BERT-Large
INT8 tables: :func:`bert_int8_runs`); the measured H100 rows of this repository stand beside them.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

import nmsim
from nmsim.calibration.fit import Sample, predict, speedups
from nmsim.calibration.measurements import load_measurements
from nmsim.engine.clock_state import at_clock_state
from nmsim.io.atomic import write_text_atomic
from nmsim.schemas.hardware import HardwareConfig
from nmsim.sparsity import parse_nm
from nmsim.workloads.cnn import CNN_TRACES
from nmsim.workloads.scope import apply_nm
from nmsim.workloads.transformer import transformer_trace
from nmsim.workloads.zoo import BERT_LARGE

ROOT = Path(__file__).resolve().parent
FIGURES = {f["id"]: f for f in yaml.safe_load((ROOT / "published_figures.yaml").read_text())["figures"]}
SPEEDUP_TARGET, ENERGY_TARGET = 0.15, 0.25

# Stand-in GEMMs (tokens M, in K, out N) while the paper's own layers are not transcribed.
STAND_IN_GEMMS = {"bert_ff1": (512, 768, 3072), "bert_ff2": (512, 3072, 768), "gpt_ff1": (2048, 4096, 16384)}


@dataclass
class Row:
    """One comparison: the paper's figure, nmsim's, and the verdict."""

    figure: str
    source: str
    machine: str
    baseline: str
    workload: str
    paper_speedup: float | None
    paper_energy: float | None
    bound: str
    nmsim_speedup: float
    nmsim_speedup_range: tuple[float, float]
    nmsim_energy: float | None
    verdict: str
    paper_speedup_range: tuple[float, float] | None = None


def _gap(
    nmsim_value: float | None, paper: float | None, bound: str, target: float
) -> tuple[str, bool | None]:
    """('+x%', within target) against an exact figure, or against a lower bound ('≥' figure)."""
    if nmsim_value is None or paper is None:
        return "", None
    if bound == "lower":
        return (
            "meets" if nmsim_value >= paper else f"{nmsim_value / paper - 1:+.0%} below"
        ), nmsim_value >= paper
    gap = nmsim_value / paper - 1
    return f"{gap:+.1%}", abs(gap) <= target


def gemm_ratios(hw: HardwareConfig, pattern: str) -> list[tuple[float, float]]:
    """(speedup, dense/sparse energy) of the stand-in GEMMs at ``pattern`` over the config's own dense mode."""
    out = []
    for m, k, n in STAND_IN_GEMMS.values():
        dense = nmsim.simulate_gemm(m, n, k, hw)
        sparse = nmsim.simulate_gemm(m, n, k, hw, sparsity=pattern)
        out.append((dense.latency_s / sparse.latency_s, dense.energy_pj / sparse.energy_pj))
    return out


def zvcg_energy_pj(totals_energy_pj: float, mac_pj: float, weight_density: float) -> float:
    """Energy (pJ) of a dense run on an array with zero-value clock gating: a MAC whose weight is zero does
    not switch, so the dense run's MAC energy ``mac_pj`` is charged only for the ``weight_density`` share
    of MACs; cycles, operand reads and static power stay (the gating saves switching, not time).
    Zero activations would gate too; their density is not in the traces, so that saving is left out."""
    return totals_energy_pj - mac_pj * (1.0 - weight_density)


def cnn_vs_zvcg(
    sparse_hw: HardwareConfig, baseline_hw: HardwareConfig, pattern: str
) -> list[tuple[float, float]]:
    """(speedup, energy ratio) of each CNN, every sparsifiable layer at ``pattern``, on ``sparse_hw``
    over the same weights on the zero-gated dense ``baseline_hw``."""
    nm = parse_nm(pattern)
    out = []
    for build in CNN_TRACES.values():
        sparse_trace = apply_nm(build(), pattern, "all")
        report = nmsim.simulate(sparse_trace, baseline_hw)  # kind none: runs the weights dense
        base = report.totals
        macs = sum(x.dense_macs for x in report.layers)
        sparse_macs = sum(x.dense_macs for x in report.layers if x.pattern != "dense")
        density = 1.0 - (1.0 - nm.density) * sparse_macs / macs  # share of MACs with a nonzero weight
        base_energy = zvcg_energy_pj(base.energy_pj, base.energy_breakdown_pj["mac"], density)
        sparse = nmsim.simulate(sparse_trace, sparse_hw).totals
        out.append((base.latency_s / sparse.latency_s, base_energy / sparse.energy_pj))
    return out


def with_dram(preset: str, gbps: float | None) -> HardwareConfig:
    """Preset ``preset`` with its DRAM (last memory level) at ``gbps`` GB/s: the GPU a source ran on where
    its memory differs from the preset's (None: the preset as shipped)."""
    overrides = {} if gbps is None else {"memory.levels.@dram.bandwidth_gbps": gbps}
    return nmsim.load_hardware(preset, **overrides)


def gemm_tflops(hw: HardwareConfig, m: int, n: int, k: int, dtype: str, pattern: str | None = None) -> float:
    """Throughput (TFLOPS, 2·m·n·k / modelled latency: dense-equivalent, as the CUTLASS profiler counts)."""
    return 2.0 * m * n * k / nmsim.simulate_gemm(m, n, k, hw, sparsity=pattern, dtype=dtype).latency_s / 1e12


def gemm_pair(hw: HardwareConfig, raw: dict) -> list[tuple[float, float]]:
    """[(speedup, dense/sparse energy)] of the dense and 2:4 GEMM of ``raw`` (m, n, k, dtype) on ``hw``."""
    m, n, k = raw["m"], raw["n"], raw["k"]
    dense = nmsim.simulate_gemm(m, n, k, hw, dtype=raw["dtype"])
    sparse = nmsim.simulate_gemm(m, n, k, hw, sparsity="2:4", dtype=raw["dtype"])
    return [(dense.latency_s / sparse.latency_s, dense.energy_pj / sparse.energy_pj)]


def paper_ratios(raw: dict) -> list[float]:
    """The source's dense / sparse latency ratios, one per measurement in ``raw`` (dense_ms, sparse_ms)."""
    dense, sparse = raw["dense_ms"], raw["sparse_ms"]
    if isinstance(dense, list):
        return [d / s for d, s in zip(dense, sparse, strict=True)]
    return [dense / sparse]


@cache
def _bert_int8_run(seq: int, batch: int, dram_gbps: float | None) -> tuple[float, float, float, float]:
    """(dense s, 2:4 s, dense pJ, 2:4 pJ) of BERT-Large (no vocabulary head) in int8 on ``nvidia_a100_sxm``,
    every weight GEMM (q, k, v, attention output, FF1, FF2) at 2:4; attention scores and context dense."""
    hw = with_dram("nvidia_a100_sxm", dram_gbps)
    spec = dataclasses.replace(BERT_LARGE, src_len=seq, batch=batch, vocab=0, dtype="int8")
    trace = transformer_trace(spec)
    dense = nmsim.simulate(trace, hw).totals
    sparse = nmsim.simulate(apply_nm(trace, "2:4", "all"), hw).totals
    return dense.latency_s, sparse.latency_s, dense.energy_pj, sparse.energy_pj


def bert_int8_runs(raw: dict) -> list[tuple[float, float, float, float]]:
    """:func:`_bert_int8_run` at each batch of a demoBERT entry's ``raw`` (seq, batches, dram_gbps)."""
    return [_bert_int8_run(raw["seq"], b, raw.get("dram_gbps")) for b in raw["batches"]]


def bert_ratios(raw: dict) -> list[tuple[float, float]]:
    """[(speedup, energy ratio)] of the whole BERT-Large int8 network, dense over 2:4, per batch of ``raw``."""
    return [(d / s, ed / es) for d, s, ed, es in bert_int8_runs(raw)]


def bert_latency_ratios(raw: dict) -> dict[str, tuple[float, float]]:
    """(min, max) over the batches of nmsim's latency / the source's, for the dense and the 2:4 network."""
    runs = bert_int8_runs(raw)
    dense = [r[0] * 1e3 / ms for r, ms in zip(runs, raw["dense_ms"], strict=True)]
    sparse = [r[1] * 1e3 / ms for r, ms in zip(runs, raw["sparse_ms"], strict=True)]
    return {"dense": (min(dense), max(dense)), "sparse": (min(sparse), max(sparse))}


def _row(fid: str, machine: str, workload: str, ratios: list[tuple[float, float]], reason: str) -> Row:
    f = FIGURES[fid]
    paper = paper_ratios(f["raw"]) if "dense_ms" in f.get("raw", {}) else []
    sp = [r[0] for r in ratios]
    en = [r[1] for r in ratios]
    nm_sp, nm_en = statistics.median(sp), statistics.median(en)
    sp_gap, sp_ok = _gap(nm_sp, f["speedup"], f["bound"], SPEEDUP_TARGET)
    en_gap, en_ok = _gap(nm_en, f["energy_ratio"], f["bound"], ENERGY_TARGET)
    checks = [ok for ok in (sp_ok, en_ok) if ok is not None]
    verdict = "within target" if checks and all(checks) else f"miss: {reason}" if checks else reason
    gaps = "; ".join(
        g for g in (f"speedup {sp_gap}" if sp_gap else "", f"energy {en_gap}" if en_gap else "") if g
    )
    return Row(
        figure=fid,
        source=f"[{f['paper']}] {f['where']}",
        machine=machine,
        baseline=f["baseline"],
        workload=workload,
        paper_speedup=f["speedup"],
        paper_energy=f["energy_ratio"],
        bound=f["bound"],
        nmsim_speedup=nm_sp,
        nmsim_speedup_range=(min(sp), max(sp)),
        nmsim_energy=nm_en if f["energy_ratio"] is not None else None,
        verdict=f"{gaps}. {verdict}" if gaps else verdict,
        paper_speedup_range=(min(paper), max(paper)) if len(paper) > 1 else None,
    )


def measured_h100_rows() -> list[dict[str, object]]:
    """fp16/bf16 2:4 speedups of the measured H100 squares, each predicted in its own clock state."""
    doc = load_measurements(ROOT / "results" / "gpu" / "h100_24_calibration.json")
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    out = []
    for state, samples in (
        ("burst", doc.samples(plain_state="burst")),
        ("sustained", doc.samples(sustained=True)),
    ):
        keep = [s for s in samples if s.dtype in ("fp16", "bf16") and ".Brow" not in s.label]
        measured = speedups(keep, np.array([s.seconds for s in keep]))
        as_state = [Sample(s.m, s.n, s.k, s.dtype, s.sparsity, s.seconds, s.label, state) for s in keep]
        predicted = speedups(as_state, predict(hw, as_state))
        errors = [abs(predicted[k] / measured[k] - 1) for k in measured]
        out.append({
            "state": state, "gemms": len(measured),
            "measured": (min(measured.values()), max(measured.values())),
            "predicted": (min(predicted.values()), max(predicted.values())),
            "median_error": statistics.median(errors), "max_error": max(errors),
        })  # fmt: skip
    return out


def peak_check() -> float:
    """nmsim's 2:4 fp16 speedup at 16384³ on the H100 hardware model (burst): must not exceed the peak 2×."""
    hw = at_clock_state(nmsim.load_hardware("nvidia_h100_sxm"), "burst")
    dense = nmsim.simulate_gemm(16384, 16384, 16384, hw, dtype="fp16")
    return (
        dense.latency_s / nmsim.simulate_gemm(16384, 16384, 16384, hw, sparsity="2:4", dtype="fp16").latency_s
    )


A100 = "nvidia_a100_sxm (uncalibrated: peak rates)"
A100_REASON = (
    "uncalibrated peak preset: no kernel efficiency, launch or sparse-kernel overhead, so a compute-bound GEMM "
    "runs at the peak rate and gains the full 2x"
)
BERT_REASON = (
    "; GEMM-only trace (no layernorm, softmax, GELU or embedding kernels); the sparse engine is another "
    "checkpoint on another builder path (see the prose)"
)
BERT_FIGURES = [fid for fid, f in FIGURES.items() if f["paper"] == "TRT-demoBERT"]

COMPARISONS: list[tuple[str, str, str, Callable[[], list[tuple[float, float]]], str]] = [
    ("vegeta_2of4_vs_own_dense", "vegeta, its 4:4 mode as baseline", "stand-in BERT/GPT FF GEMMs",
     lambda: gemm_ratios(nmsim.load_hardware("vegeta"), "2:4"),
     "stand-in workload (the paper's layers are not transcribed)"),
    ("vegeta_1of4_vs_own_dense", "vegeta, its 4:4 mode as baseline", "stand-in BERT/GPT FF GEMMs",
     lambda: gemm_ratios(nmsim.load_hardware("vegeta"), "1:4"),
     "nmsim's compute-bound 1:4 reaches the ideal 4x: it has no per-instruction fill/drain or tile-register "
     "load cost, which the paper's 86% of ideal reflects; its engine size and memory are assumptions"),
    ("s2ta_16nm_vs_zvcg", "s2ta (S2TA-W: weights 4:8) vs s2ta_baseline_zvcg", "AlexNet, VGG-16, ResNet-50, MobileNet-v1",
     lambda: cnn_vs_zvcg(nmsim.load_hardware("s2ta"), nmsim.load_hardware("s2ta_baseline_zvcg"), "4:8"),
     "the figure is S2TA-AW's lower bound; nmsim models S2TA-W (no activation DBB, so compute gains at most "
     "2x and memory-bound layers less); the array, buffers and DRAM are assumptions"),
    ("a100_fp16_4096_cusparselt_vs_cutlass", A100, "fp16 GEMM 4096³",
     lambda: gemm_pair(nmsim.load_hardware("nvidia_a100_sxm"),
                       FIGURES["a100_fp16_4096_cusparselt_vs_cutlass"]["raw"]),
     A100_REASON + "; cuSPARSELt (2022) against CUTLASS dense at unlocked clocks: 'expected for small "
     "sizes' (NVIDIA)"),
    *[(fid, f"{A100}, DRAM at {FIGURES[fid]['raw']['dram_gbps']} GB/s (the source's A100 40GB)",
       f"BERT-Large int8, seq {FIGURES[fid]['raw']['seq']}, batch 1–128 (median over the source's 10 batches)",
       lambda fid=fid: bert_ratios(FIGURES[fid]["raw"]), A100_REASON + BERT_REASON) for fid in BERT_FIGURES],
]  # fmt: skip


THROUGHPUT_REASONS = {"a100_fp16_16384_cutlass_sparse_tflops": A100_REASON}


def throughput_rows() -> list[dict[str, object]]:
    """Each published absolute throughput (a ``tflops`` figure) beside nmsim's on the same GEMM and preset."""
    out = []
    for fid, reason in THROUGHPUT_REASONS.items():
        f, raw = FIGURES[fid], FIGURES[fid]["raw"]
        hw = nmsim.load_hardware(f["nmsim_preset"])
        nm = gemm_tflops(hw, raw["m"], raw["n"], raw["k"], raw["dtype"], f["pattern"])
        gap, ok = _gap(nm, f["tflops"], f["bound"], SPEEDUP_TARGET)
        mhz = round(hw.array.clock_ghz * 1000)
        clock = "the preset's" if raw["clock_mhz"] == mhz else f"not the preset's {mhz} MHz"
        reason += f"; the source's clock ({raw['clock_mhz']} MHz, locked) is {clock}"
        out.append({
            "figure": fid, "source": f"[{f['paper']}] {f['where']}", "machine": f"{hw.name} at {mhz} MHz", "workload": f["workload"], "paper_tflops": f["tflops"],
            "nmsim_tflops": nm, "verdict": f"{gap}. " + ("within target" if ok else f"miss: {reason}"),
        })  # fmt: skip
    return out


def main() -> None:
    rows = [
        _row(fid, machine, workload, run(), reason) for fid, machine, workload, run, reason in COMPARISONS
    ]
    throughput = throughput_rows()
    bert = {fid: bert_latency_ratios(FIGURES[fid]["raw"]) for fid in BERT_FIGURES}
    h100 = measured_h100_rows()
    peak = peak_check()
    write_text_atomic(
        ROOT / "results" / "published_accelerators.json",
        json.dumps({"rows": [r.__dict__ for r in rows], "throughput": throughput,
                    "bert_nmsim_over_readme_latency": bert, "h100_measured": h100, "h100_peak_check": peak},
                   indent=1) + "\n",
    )  # fmt: skip
    print("| figure (source) | machine in nmsim | baseline | workload | paper speedup | nmsim speedup (range) | "
          "paper energy ratio | nmsim energy ratio | gap and verdict |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        sign = ">" if r.bound == "lower" else ""
        paper_sp = f"{sign}{r.paper_speedup:.2f}×" if r.paper_speedup else "not given"
        if r.paper_speedup_range:
            paper_sp += " ({:.2f}–{:.2f})".format(*r.paper_speedup_range)
        paper_en = f"{sign}{r.paper_energy:.2f}×" if r.paper_energy else "not given"
        nm_en = f"{r.nmsim_energy:.2f}×" if r.nmsim_energy else "—"
        lo, hi = r.nmsim_speedup_range
        print(f"| {r.figure} ({r.source}) | {r.machine} | {r.baseline} | {r.workload} | {paper_sp} | "
              f"{r.nmsim_speedup:.2f}× ({lo:.2f}–{hi:.2f}) | {paper_en} | {nm_en} | {r.verdict} |")  # fmt: skip
    print()
    print("| figure (source) | machine in nmsim | workload | paper TFLOPS | nmsim TFLOPS | gap and verdict |")
    print("|---|---|---|---|---|---|")
    for x in throughput:
        print(f"| {x['figure']} ({x['source']}) | {x['machine']} | {x['workload']} | {x['paper_tflops']:.0f} | "
              f"{x['nmsim_tflops']:.1f} | {x['verdict']} |")  # fmt: skip
    print()
    print(
        "| BERT-Large int8 figure | nmsim / README latency, dense network | nmsim / README latency, 2:4 network |"
    )
    print("|---|---|---|")
    for fid, lat in bert.items():
        print("| {} | {:.2f}–{:.2f} | {:.2f}–{:.2f} |".format(fid, *lat["dense"], *lat["sparse"]))
    print()
    print("| NVIDIA H100 SXM, fp16/bf16 2:4 squares | GEMMs | measured speedup | nmsim, same state | "
          "median / max error |")  # fmt: skip
    print("|---|---|---|---|---|")
    for h in h100:
        (ml, mh), (pl, ph) = h["measured"], h["predicted"]  # type: ignore[misc]
        print(f"| {h['state']} (h100_24_calibration.json) | {h['gemms']} | {ml:.2f}–{mh:.2f}× | {pl:.2f}–{ph:.2f}× | "
              f"{h['median_error']:.1%} / {h['max_error']:.1%} |")  # fmt: skip
    print(
        f"\nPeak ratio ([A100-WP], [H100-WP]: 2× at 2:4): nmsim's H100 hardware model gives {peak:.2f}× at 16384³ fp16."
    )


if __name__ == "__main__":
    main()
