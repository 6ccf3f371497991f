"""Simulate a whole trace on a hardware config (inference: every layer once, back to back)."""

from __future__ import annotations

from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.bounds import check_layers
from nmsim.sim.gemm import Compat, simulate_layer
from nmsim.sim.report import Report, totals_of


def simulate(trace: Trace, hw: HardwareConfig, compat: Compat = None) -> Report:
    """Per-layer latency, energy and utilization of ``trace`` on ``hw``, with totals."""
    check_layers(hw, [(x.name, x.m, x.n, x.k, x.repeat) for x in trace.layers])  # type: ignore[misc]
    results = [simulate_layer(layer, hw, compat, checked=True) for layer in trace.layers]
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    return Report(
        trace_name=trace.name,
        hardware=hw.name,
        compat=compat,
        pes=pes,
        layers=results,
        totals=totals_of(results, pes),
    )
