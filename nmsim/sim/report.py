"""A simulation report: per-layer results and totals, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from nmsim.engine.layout import ENERGY_PARTS as BREAKDOWN_KEYS
from nmsim.sim.fields import LAYER_COLUMNS, SUMMED_FLOAT, SUMMED_INT, totals_from_sums
from nmsim.sim.gemm import GemmResult


@dataclass(frozen=True)
class Totals:
    """Whole-trace totals (layers run one after another; fields :data:`nmsim.sim.fields.TOTAL_FIELDS`).

    Units: cycles, s, MACs, bytes, pJ. ``pe_utilization`` = issued MACs / peak MAC slots over all
    layers; ``layers_fell_back``: layers that ran dense because their sparse mode was worse.
    """

    cycles: int
    compute_cycles: int
    stall_cycles: int
    latency_s: float
    energy_pj: float
    pe_utilization: float
    effective_macs_per_cycle: float
    dense_macs: int
    issued_macs: int
    useful_macs: float
    dram_bytes: int
    onchip_transfer_bytes: int
    layers_fell_back: int
    energy_breakdown_pj: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Result of :func:`nmsim.simulate`: one :class:`GemmResult` per layer plus :class:`Totals`."""

    trace_name: str
    hardware: str
    compat: str | None
    pes: int
    layers: list[GemmResult]
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace": self.trace_name,
            "hardware": self.hardware,
            "compat": self.compat,
            "totals": self.totals.__dict__,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        breakdown = [f"energy_{k}_pj" for k in BREAKDOWN_KEYS]
        writer.writerow([*LAYER_COLUMNS, *breakdown])
        for layer in self.layers:
            d = layer.to_dict()
            writer.writerow(
                [d[c] for c in LAYER_COLUMNS] + [d["energy_breakdown_pj"][k] for k in BREAKDOWN_KEYS]
            )
        return buf.getvalue()

    def to_dataframe(self) -> Any:
        """Per-layer ``pandas.DataFrame`` (one row per layer, energy breakdown as ``energy_<part>_pj``)."""
        import pandas as pd

        rows = []
        for layer in self.layers:
            d = layer.to_dict()
            row = {c: d[c] for c in LAYER_COLUMNS}
            row.update({f"energy_{k}_pj": v for k, v in d["energy_breakdown_pj"].items()})
            rows.append(row)
        return pd.DataFrame(rows)


def totals_of(layers: list[GemmResult], pes: int = 0) -> Totals:
    """Sum layer results run back to back (``pes`` is unused: the peak comes from each layer)."""
    sums = {f: sum(getattr(r, f) for r in layers) for f in (*SUMMED_INT, *SUMMED_FLOAT)}
    breakdown = {k: sum(r.energy_breakdown_pj[k] for r in layers) for k in BREAKDOWN_KEYS}
    fell = sum(1 for r in layers if r.fell_back)
    return Totals(**totals_from_sums(sums, breakdown, fell), energy_breakdown_pj=breakdown)
