"""Results tables of a grid folder (``nmsim train-table``): every pattern present, mean ± std, n, and
a paired comparison of each recipe with SR-STE on the same seeds (mean difference, paired t-test p).

A folder whose traces carry different settings hashes (:func:`nmsim.train.trainer.settings_hash`) is
refused: cells trained with different settings are never reported together.
"""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from nmsim.errors import NmsimInputError
from nmsim.io.loaders import load_trace
from nmsim.schemas.trace import Phase
from nmsim.sparsity import DENSE, NM, Pattern, parse_pattern
from nmsim.train.stats import paired_t_test

BASELINE = "srste"


@dataclass
class GridResults:
    """Per (cell label, pattern): seed → value, for accuracy and (LM) bits per byte."""

    metric: str = "accuracy"
    accuracy: dict[tuple[str, Pattern], dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    bpb: dict[tuple[str, Pattern], dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    devices: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    structure_k: dict[str, int] = field(default_factory=dict)
    settings: str | None = None
    steps: set[int] = field(default_factory=set)


def _k_from_phases(phases: list[Phase], target: Pattern) -> int | None:
    """SDGF-geometric's block multiplier k read off the schedule (k·N:k·M first, N:M last): the first
    structure phase's M over the target's M."""
    for ph in phases:
        if ph.kind != "structure" or not isinstance(target, NM):
            continue
        pats = [spec.pattern for spec in ph.layers.values()] or [ph.default.pattern]
        first = parse_pattern(pats[0], "phase pattern")
        if isinstance(first, NM) and first.m % target.m == 0:
            return first.m // target.m
        return None
    return None


def collect(trace_dir: str | os.PathLike[str]) -> GridResults:
    """Read every finished cell trace of ``trace_dir``; refuses mixed settings hashes."""
    res = GridResults()
    hashes: dict[str | None, list[str]] = defaultdict(list)
    for p in sorted(Path(trace_dir).glob("*.json")):
        tr = load_trace(p)
        if tr.metrics is None or tr.metrics.accuracy is None or tr.training is None:
            continue
        params = tr.training.params
        hashes[tr.training.settings_hash].append(p.name)
        cell = str(params.get("cell", tr.training.recipe))
        nm = DENSE if cell == "dense" else parse_pattern(str(params.get("nm", tr.training.target)), "nm")
        seed = tr.metrics.seed if tr.metrics.seed is not None else 0
        res.metric = tr.metrics.metric
        res.accuracy[(cell, nm)][seed] = tr.metrics.accuracy
        if "bits_per_byte" in tr.metrics.extra:
            res.bpb[(cell, nm)][seed] = tr.metrics.extra["bits_per_byte"]
        k = params.get("structure_k")
        if k is None and params.get("structure") == "geometric":
            k = _k_from_phases(tr.training.phases, nm)  # traces written before structure_k was recorded
        if k is not None:
            res.structure_k[f"{cell} {nm}"] = int(k)
        res.devices[str(params.get("device_name", params.get("device", "cpu")))] += 1
        res.steps.add(tr.training.total_steps)
    if len(hashes) > 1:
        detail = "; ".join(f"{h} ({len(f)} files, e.g. {f[0]})" for h, f in hashes.items())
        raise NmsimInputError(
            "trace_dir", "one folder per training setting: it holds cells of different settings hashes",
            detail,
        )  # fmt: skip
    res.settings = next(iter(hashes), None)
    return res


def _pattern_key(p: Pattern) -> tuple[float, str]:
    """Densest first (ties by spelling)."""
    return (-(p.density if p.density is not None else 0.0), str(p))


def _cell_order() -> list[str]:
    from nmsim.train.grid import CELLS
    from nmsim.train.trainer import cell_label

    return ["dense"] + [
        cell_label(r, kw.get("decay"), kw.get("structure"), kw.get("grad_mode")) for r, kw in CELLS
    ]


def _fmt(vals: dict[int, float], scale: float, digits: int) -> str:
    if not vals:
        return ""
    v = [scale * x for x in vals.values()]
    std = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.fmean(v):.{digits}f} ± {std:.{digits}f} (n={len(v)})"


def _p(p: float | None) -> str:
    if p is None:
        return "p —"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def results_table(trace_dir: str | os.PathLike[str]) -> str:
    """Markdown: the metric (mean ± std over seeds, n) per cell × pattern, bits per byte where recorded,
    and each recipe minus SR-STE on the seeds both have (mean difference in points, paired t-test p)."""
    res = collect(trace_dir)
    if not res.accuracy:
        return "(no finished cells)\n"
    order = _cell_order()
    cells = sorted({c for c, _ in res.accuracy}, key=lambda c: (order.index(c) if c in order else 99, c))
    pats = sorted({p for _, p in res.accuracy if not p.is_dense}, key=_pattern_key)
    steps = ", ".join(str(s) for s in sorted(res.steps))
    lines = [
        f"{res.metric} in % (mean ± std over seeds, n seeds); {steps} steps; settings {res.settings or 'not recorded'}",
        "",
    ]

    header = ["| recipe | " + " | ".join(map(str, pats)) + " |", "|---|" + "---|" * len(pats)]

    def table(data: dict[tuple[str, Pattern], dict[int, float]], scale: float, digits: int) -> list[str]:
        out = list(header)
        for c in cells:
            if c == "dense":
                out.append("| dense | " + " | ".join(_fmt(data.get(("dense", DENSE), {}), scale, digits)
                                                   for _ in pats) + " |")  # fmt: skip
            else:
                out.append(
                    f"| {c} | " + " | ".join(_fmt(data.get((c, p), {}), scale, digits) for p in pats) + " |"
                )
        return out

    lines += table(res.accuracy, 100.0, 2)
    if res.bpb:
        lines += ["", "bits per byte (held-out; lower is better)", "", *table(res.bpb, 1.0, 3)]
    lines += [
        "",
        f"paired vs {BASELINE} (same seeds): mean difference in points, two-sided paired t-test p",
        "",
    ]
    lines += header
    for c in cells:
        if c == BASELINE:
            continue
        row = []
        for p in pats:
            a = res.accuracy.get(("dense", DENSE) if c == "dense" else (c, p), {})
            b = res.accuracy.get((BASELINE, p), {})
            seeds = sorted(set(a) & set(b))
            if not seeds:
                row.append("")
                continue
            t = paired_t_test([100 * a[s] for s in seeds], [100 * b[s] for s in seeds])
            row.append(f"{t.mean_diff:+.2f}, {_p(t.p)} (n={t.n})")
        lines.append(f"| {c} | " + " | ".join(row) + " |")
    if res.structure_k:
        ks = ", ".join(f"{k}: k={v}" for k, v in sorted(res.structure_k.items()))
        lines += ["", f"SDGF-geometric block multiplier k as run ({ks})."]
    tally = ", ".join(f"{n} on {d}" for d, n in sorted(res.devices.items()))
    lines += ["", f"Cells by device: {tally}."]
    return "\n".join(lines) + "\n"
