"""The one table of result fields: what a per-GEMM result and a whole-trace total report.

:class:`nmsim.sim.gemm.GemmResult` carries :data:`LAYER_FIELDS`; the CSV/DataFrame columns, the
:class:`nmsim.sim.report.Totals` fields, the sweep's metric columns and the sweep reducer's summed
columns are all derived from here, and totals are formed by one function, :func:`totals_from_sums`,
used by ``nmsim simulate`` and by sweeps alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nmsim.engine.layout import ENERGY_PARTS


@dataclass(frozen=True)
class ResultField:
    """One result field: ``name``, ``unit``; ``summed``: totals add it over layers (``int`` summed as
    integers, ``float`` in order as Python's ``sum``); ``column``: a per-layer CSV column."""

    name: str
    unit: str
    kind: str  # "int" | "float" | "str" | "bool"
    summed: bool = False
    column: bool = True


LAYER_FIELDS: tuple[ResultField, ...] = (
    ResultField("name", "", "str"),
    ResultField("m", "", "int"),
    ResultField("n", "", "int"),
    ResultField("k", "", "int"),
    ResultField("repeat", "", "int"),
    ResultField("dtype", "", "str"),
    ResultField("pattern", "", "str"),
    ResultField("hw_mode", "", "str"),
    ResultField("k_compacted", "", "int"),
    ResultField("fell_back", "", "bool"),
    ResultField("cycles", "cycles", "int", summed=True),
    ResultField("compute_cycles", "cycles", "int", summed=True),
    ResultField("stall_cycles", "cycles", "int", summed=True),
    ResultField("bound", "", "str"),
    ResultField("latency_s", "s", "float", summed=True),
    ResultField("dense_macs", "MACs", "int", summed=True),
    ResultField("issued_macs", "MACs", "int", summed=True),
    ResultField("useful_macs", "MACs", "float", summed=True, column=False),
    ResultField("peak_mac_slots", "MACs", "int", summed=True, column=False),
    ResultField("pe_utilization", "", "float"),
    ResultField("mapping_efficiency", "", "float"),
    ResultField("issued_mac_utilization", "", "float"),
    ResultField("effective_macs_per_cycle", "MACs/cycle", "float"),
    ResultField("dram_bytes", "bytes", "int", summed=True),
    ResultField("onchip_transfer_bytes", "bytes", "int", summed=True),
    ResultField("energy_pj", "pJ", "float"),
    # inter-layer residency (nmsim.sim.residency): per layer only, not summed into totals
    ResultField("input_resident", "", "bool"),
    ResultField("weight_resident", "", "bool"),
    ResultField("output_resident", "", "bool"),
    ResultField("resident_reserved_bytes", "bytes", "int"),
)
LAYER_COLUMNS: tuple[str, ...] = tuple(f.name for f in LAYER_FIELDS if f.column)
SUMMED: tuple[ResultField, ...] = tuple(f for f in LAYER_FIELDS if f.summed)
SUMMED_INT: tuple[str, ...] = tuple(f.name for f in SUMMED if f.kind == "int")
SUMMED_FLOAT: tuple[str, ...] = tuple(f.name for f in SUMMED if f.kind == "float")
ENERGY_COLUMNS: tuple[str, ...] = tuple(f"energy_{p}_pj" for p in ENERGY_PARTS)
TOTAL_FIELDS: tuple[str, ...] = (
    "cycles",
    "compute_cycles",
    "stall_cycles",
    "latency_s",
    "energy_pj",
    "pe_utilization",
    "effective_macs_per_cycle",
    "dense_macs",
    "issued_macs",
    "useful_macs",
    "dram_bytes",
    "onchip_transfer_bytes",
    "layers_fell_back",
)
"""Whole-trace totals (cycles, s, pJ, MACs, bytes; the energy parts follow as ``energy_<part>_pj``)."""


def totals_from_sums(sums: Mapping[str, float], energy_parts: Mapping[str, float], fell_back: int) -> dict:
    """Totals from the summed fields (:data:`SUMMED`) and summed energy parts (pJ).

    ``pe_utilization`` = issued MACs / peak MAC slots (peak MACs per cycle × cycles, summed over
    layers); ``effective_macs_per_cycle`` = dense-equivalent MACs / cycles; ``energy_pj`` = the parts'
    sum, added in :data:`nmsim.engine.layout.ENERGY_PARTS` order.
    """
    cycles, issued, dense = sums["cycles"], sums["issued_macs"], sums["dense_macs"]
    return {
        "cycles": cycles,
        "compute_cycles": sums["compute_cycles"],
        "stall_cycles": sums["stall_cycles"],
        "latency_s": sums["latency_s"],
        "energy_pj": sum(energy_parts[p] for p in ENERGY_PARTS),
        "pe_utilization": issued / sums["peak_mac_slots"],
        "effective_macs_per_cycle": dense / cycles,
        "dense_macs": dense,
        "issued_macs": issued,
        "useful_macs": sums["useful_macs"],
        "dram_bytes": sums["dram_bytes"],
        "onchip_transfer_bytes": sums["onchip_transfer_bytes"],
        "layers_fell_back": fell_back,
    }
