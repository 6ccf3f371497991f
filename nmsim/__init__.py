"""nmsim: N:M sparse training recipes and what they cost on sparse systolic-array hardware.

Public API::

    import nmsim
    hw = nmsim.load_hardware("vegeta", rows=32)
    trace = nmsim.load_trace("wmt_transformer_1x8")   # a file, a shipped name; load_traces: folders, globs
    report = nmsim.simulate(trace, hw)          # per-layer latency / energy / utilization
    one = nmsim.simulate_gemm(256, 1024, 4096, hw, sparsity="1:8")
"""

from nmsim.errors import NmsimInputError
from nmsim.io.loaders import load_hardware, load_trace, load_traces, save_trace
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.gemm import GemmResult, simulate_gemm
from nmsim.sim.report import Report
from nmsim.sim.simulate import simulate

__all__ = [
    "GemmResult",
    "HardwareConfig",
    "Layer",
    "NmsimInputError",
    "Report",
    "Trace",
    "load_hardware",
    "load_trace",
    "load_traces",
    "save_trace",
    "simulate",
    "simulate_gemm",
]
__version__ = "0.1.0"
