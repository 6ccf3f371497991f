"""[PGF]'s speed tables (8: ViT-L end to end vs dense; 19: FFN kernel vs 2:4) beside nmsim's software-kernel mode.

Run: ``python benchmarks/pgf_kernel_speedups.py`` → prints the markdown table of docs/fidelity.md
("Software sparse kernel: [PGF] Tables 8 and 19") and writes ``benchmarks/results/pgf_kernel_speedups.json``.

The paper's figures come from ``nmsim/published/pgf_tables.yaml`` (its ``speedups`` section); this script
never types one. The model is :mod:`nmsim.published.kernel_check` (cuSPARSE CSR SpMM in fp32 on the CUDA
cores, parameters in each GPU config's ``gpu.software_sparse`` section, none fitted to these tables). A gap above
20 % is a miss.
"""

from __future__ import annotations

import json
from pathlib import Path

from nmsim.io.atomic import write_text_atomic
from nmsim.published.kernel_check import MISS_ABOVE, Gap, speed_table_gaps

OUT = Path(__file__).with_name("results") / "pgf_kernel_speedups.json"


def markdown(gaps: list[Gap]) -> str:
    """The comparison as a markdown table, one row per (table, machine, pattern) cell."""
    lines = [
        "| Table | Paper machine (nmsim config) | Pattern | Paper | nmsim | Gap | Within 20 %? |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in gaps:
        verdict = "miss" if g.miss else "yes"
        lines.append(
            f"| {g.table} | {g.hardware} ({g.config}) | {g.pattern} | {g.paper:.3g}x | {g.model:.3g}x "
            f"| {g.gap:+.0%} | {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    gaps = speed_table_gaps()
    doc = {"miss_above": MISS_ABOVE, "cells": [g.to_dict() for g in gaps]}
    write_text_atomic(OUT, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(markdown(gaps))


if __name__ == "__main__":
    main()
