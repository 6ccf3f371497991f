"""A simulation report: per-layer results and totals, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from nmsim.engine.layout import ENERGY_PARTS as BREAKDOWN_KEYS
from nmsim.sim.gemm import GemmResult

# Per-layer columns of the CSV / DataFrame, in order.
LAYER_COLUMNS: tuple[str, ...] = (
    "name",
    "m",
    "n",
    "k",
    "repeat",
    "dtype",
    "pattern",
    "hw_mode",
    "k_compacted",
    "cycles",
    "compute_cycles",
    "stall_cycles",
    "bound",
    "latency_s",
    "dense_macs",
    "issued_macs",
    "pe_utilization",
    "mapping_efficiency",
    "issued_mac_utilization",
    "effective_macs_per_cycle",
    "dram_bytes",
    "energy_pj",
)


@dataclass(frozen=True)
class Totals:
    """Whole-trace totals (layers run one after another). Units: cycles, s, MACs, bytes, pJ."""

    cycles: int
    compute_cycles: int
    stall_cycles: int
    latency_s: float
    dense_macs: int
    issued_macs: int
    useful_macs: float
    pe_utilization: float
    effective_macs_per_cycle: float
    dram_bytes: int
    energy_pj: float
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


def totals_of(layers: list[GemmResult], pes: int) -> Totals:
    """Sum layer results run back to back on ``pes`` PEs."""
    cycles = sum(r.cycles for r in layers)
    issued = sum(r.issued_macs for r in layers)
    dense = sum(r.dense_macs for r in layers)
    breakdown = {k: sum(r.energy_breakdown_pj[k] for r in layers) for k in BREAKDOWN_KEYS}
    return Totals(
        cycles=cycles,
        compute_cycles=sum(r.compute_cycles for r in layers),
        stall_cycles=sum(r.stall_cycles for r in layers),
        latency_s=sum(r.latency_s for r in layers),
        dense_macs=dense,
        issued_macs=issued,
        useful_macs=sum(r.useful_macs for r in layers),
        pe_utilization=min(1.0, issued / (pes * cycles)),
        effective_macs_per_cycle=dense / cycles,
        dram_bytes=sum(r.dram_bytes for r in layers),
        energy_pj=sum(breakdown.values()),
        energy_breakdown_pj=breakdown,
    )
