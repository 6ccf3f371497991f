"""Simulate a whole trace on a hardware config (inference: every layer once, back to back)."""

from __future__ import annotations

from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Trace
from nmsim.sim.bounds import check_layers
from nmsim.sim.gemm import Compat, _compat_flag, simulate_layer
from nmsim.sim.report import Report, totals_of
from nmsim.sim.residency_plan import plan_for
from nmsim.sim.software_mode import check_sparse_kernel, residency_layers


def simulate(
    trace: Trace,
    hw: HardwareConfig,
    compat: Compat = None,
    residency: str = "auto",
    objective: str | None = None,
    sparse_kernel: str | None = None,
) -> Report:
    """Per-layer latency, energy and utilization of ``trace`` on ``hw``, with totals.

    ``residency``: ``auto`` keeps a layer's output on chip for its consumers where the trace has
    producer→consumer edges, the activation level can hold it and keeping it pays on the objective
    (:mod:`nmsim.sim.residency_plan`);
    ``none`` sends every output to DRAM and reads it back. ``objective``: what the mapper minimises
    (latency | energy | edp; default: the config's ``mapper.objective``). ``sparse_kernel``:
    tensor-core (default) | software: N:M layers through the config's software sparse kernel, their
    outputs and inputs via DRAM (:mod:`nmsim.sim.software_mode`).
    """
    check_layers(hw, [(x.name, x.m, x.n, x.k, x.repeat) for x in trace.layers])  # type: ignore[misc]
    software = check_sparse_kernel(sparse_kernel, hw)
    flag = _compat_flag(compat)
    plan = plan_for(residency_layers(trace.layers, software), hw, residency, flag, objective, software)
    results = [
        simulate_layer(layer, hw, compat, objective, p, checked=True, sparse_kernel=sparse_kernel)
        for layer, p in zip(trace.layers, plan, strict=True)
    ]
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    return Report(
        trace_name=trace.name,
        hardware=hw.name,
        compat=compat,
        pes=pes,
        layers=results,
        totals=totals_of(results, pes),
    )
