"""An additive cost record: cycles, seconds, picojoules, MACs and FLOPs of some work on one config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nmsim.engine.layout import ENERGY_PARTS
from nmsim.sim.gemm import GemmResult


@dataclass
class Cost:
    """Accumulated cost. Units: cycles; seconds; pJ; MACs; FLOPs.

    ``issued_macs``/``dense_macs``: MACs the array issued / the dense-equivalent MACs of the same
    GEMMs (as :class:`~nmsim.sim.gemm.GemmResult`). ``flops``: the ideal FLOPs of the work (2 × MACs,
    zeros skipped wherever the math allows; docs/references.md#flops-training); ``flops_dense``: the
    same work with dense weights. Mask work (refresh, SR-STE regularizer) adds cycles, time and energy, not MACs or FLOPs.
    """

    cycles: int = 0
    latency_s: float = 0.0
    energy_pj: float = 0.0
    issued_macs: int = 0
    dense_macs: int = 0
    flops: float = 0.0
    flops_dense: int = 0
    energy_breakdown_pj: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ENERGY_PARTS, 0.0))

    def add(self, other: Cost, times: int = 1) -> Cost:
        """Add ``times`` × ``other`` in place; returns self."""
        if times == 0:
            return self
        self.cycles += other.cycles * times
        self.latency_s += other.latency_s * times
        self.energy_pj += other.energy_pj * times
        self.issued_macs += other.issued_macs * times
        self.dense_macs += other.dense_macs * times
        self.flops += other.flops * times
        self.flops_dense += other.flops_dense * times
        for key, value in other.energy_breakdown_pj.items():
            self.energy_breakdown_pj[key] = self.energy_breakdown_pj.get(key, 0.0) + value * times
        return self

    @classmethod
    def of_gemm(cls, r: GemmResult, flops: float, flops_dense: int) -> Cost:
        """The cost of one simulated GEMM, with its ideal and dense FLOPs (dense MACs = dense FLOPs / 2)."""
        return cls(
            cycles=r.cycles,
            latency_s=float(r.latency_s),
            energy_pj=float(r.energy_pj),
            issued_macs=r.issued_macs,
            dense_macs=flops_dense // 2,
            flops=flops,
            flops_dense=flops_dense,
            energy_breakdown_pj={k: float(v) for k, v in r.energy_breakdown_pj.items()},
        )

    def pe_utilization(self, pes: int) -> float:
        """Issued MACs / (PEs × cycles), in [0, 1] (0 when nothing ran)."""
        return min(1.0, self.issued_macs / (pes * self.cycles)) if self.cycles else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycles": self.cycles,
            "latency_s": self.latency_s,
            "energy_pj": self.energy_pj,
            "issued_macs": self.issued_macs,
            "dense_macs": self.dense_macs,
            "flops": self.flops,
            "flops_dense": self.flops_dense,
            "energy_breakdown_pj": dict(self.energy_breakdown_pj),
        }
