"""The result of one simulated GEMM: :class:`GemmResult` (its fields are listed in :mod:`nmsim.sim.fields`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GemmResult:
    """Cost of one GEMM (times ``repeat``) on one hardware config (fields: :mod:`nmsim.sim.fields`).

    Units: cycles; seconds; MACs; bytes; pJ. ``pe_utilization`` = issued MACs / (peak MACs per cycle
    — PEs × ``k_per_pe`` — × cycles), computed, not clamped; ``effective_macs_per_cycle`` =
    dense-equivalent MACs per cycle (can exceed the peak on a sparse mode: throughput, not
    utilization). ``fell_back``: the sparse mode was worse on the objective and the layer ran dense
    (``sparse.fallback: auto``). ``mapping``: the mapper's choice (loop order, tiles, bytes per level).
    """

    name: str
    m: int
    n: int
    k: int
    repeat: int
    dtype: str
    pattern: str
    hw_mode: str
    k_compacted: int
    fell_back: bool
    folds: int
    waves: int
    cycles: int
    compute_cycles: int
    stall_cycles: int
    bound: str
    latency_s: float
    dense_macs: int
    issued_macs: int
    useful_macs: float
    peak_mac_slots: int
    pe_utilization: float
    mapping_efficiency: float
    issued_mac_utilization: float
    effective_macs_per_cycle: float
    dram_bytes: int
    dram_ifmap_bytes: int
    dram_filter_bytes: int
    dram_ofmap_bytes: int
    energy_pj: float
    energy_breakdown_pj: dict[str, float] = field(default_factory=dict)
    mapping: dict[str, Any] = field(default_factory=dict)
    onchip_transfer_bytes: int = 0
    """Bytes moved between on-chip levels: fills of inner levels from outer ones and output drains
    (0 when every operand has at most one on-chip level)."""
    input_resident: bool = False
    """The activation operand was on chip (inter-layer residency: no DRAM read of it)."""
    weight_resident: bool = False
    """The second operand (an activation, e.g. attention's k or v) was on chip: no DRAM read of it."""
    output_resident: bool = False
    """The output stayed on chip for its consumers: no DRAM write of it."""
    resident_reserved_bytes: int = 0
    """On-chip bytes (the activation level) held by resident tensors while the layer ran, its own
    resident output included; unavailable to its tiles."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
