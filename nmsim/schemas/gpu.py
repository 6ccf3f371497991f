"""The GPU section of a hardware config (``gpu:``): clock/power states and the measured software stack.

A GPU's clock depends on how long it has been loaded: a short burst runs near the boost clock, a
kernel that has run for a few tenths of a second holds whatever clock keeps the card at its power
limit, and a sparse and a dense kernel may hold different clocks there. A GPU config's ``array``
section describes the **burst** state (both kernels at ``array.clock_ghz``); ``gpu.sustained`` gives
the effective clocks of both kernels in the **sustained** state. The clocks are *effective*: fitted to
latencies together with the kernels' efficiencies, so a clock absorbs what the dense fp16 kernel
loses to its own efficiency (docs/fidelity.md).

``gpu.library`` is the software stack the measurements were taken with, as per-dtype efficiencies of
its dense and sparse kernels relative to the hardware model (``torch._int_mm``'s int8 kernel is weaker
than the tensor cores' int8 rate, the same as fp8's, allows): library effects, not hardware. They apply
only when asked for (``--library``) and in calibration, whose measurements ran that stack.

``gpu.software_sparse`` is a second execution mode for N:M weights: a software sparse GEMM (CSR SpMM,
e.g. cuSPARSE through cupy's sparse ``dot``) on the CUDA cores instead of the sparse tensor cores,
with its own rate, efficiency, index bytes and per-call overhead. It is costed by
:mod:`nmsim.engine.software_sparse`, beside the engine (docs/fidelity.md, [PGF] Tables 8 and 19).

:mod:`nmsim.engine.clock_state` turns a config and a state into the config the engine runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

from nmsim.dtypes import DType
from nmsim.schemas.common import Sourced

ClockStateName = Literal["burst", "sustained"]
CLOCK_STATES: tuple[str, ...] = ("burst", "sustained")

Fraction = Annotated[float, Field(gt=0, le=1)]


class SustainedClocks(Sourced):
    """Effective clocks (GHz) of the dense and the sparse kernels at the power limit."""

    dense_ghz: PositiveFloat = Field(description="dense kernels' effective clock under sustained load (GHz)")
    sparse_ghz: PositiveFloat = Field(
        description="sparse kernels' effective clock under sustained load (GHz)"
    )


class LibraryEfficiency(Sourced):
    """The measured software stack: its kernels' achieved fraction of the hardware model, per dtype."""

    name: str = Field(min_length=3, description="the stack, e.g. 'torch 2.11 + cuBLAS + cuSPARSELt 0.8.0'")
    dense_efficiency: dict[DType, Fraction] = Field(default_factory=dict, description="default 1")
    sparse_efficiency: dict[DType, Fraction] = Field(default_factory=dict, description="default 1")


class SoftwareSparseKernel(Sourced):
    """A software sparse GEMM kernel on the CUDA cores (module docstring): its rate and overheads."""

    name: str = Field(min_length=3, description="the kernel, e.g. 'cuSPARSE CSR SpMM via cupy'")
    dtype: DType = Field("fp32", description="the precision it runs in")
    peak_tflops: PositiveFloat = Field(description="the CUDA cores' peak rate in that dtype (TFLOP/s)")
    efficiency: Fraction = Field(description="achieved fraction of peak_tflops on the kept values")
    index_bytes: PositiveInt = Field(description="bytes of one column index / row pointer")
    launch_overhead_us: NonNegativeFloat = Field(description="fixed cost per call (µs)")


class GpuConfig(Sourced):
    """Clock/power states, the measured software stack and the software sparse kernel of a GPU config."""

    default_clock_state: ClockStateName = Field(
        "burst",
        description="the state nmsim gemm/simulate report when --clock-state is not given; sweeps, recipes "
        "and every other path run the config as written, i.e. burst, so keep this burst unless they differ",
    )
    sustained: SustainedClocks | None = Field(
        None, description="None: not measured, the config has the burst state only"
    )
    library: LibraryEfficiency | None = None
    software_sparse: SoftwareSparseKernel | None = None

    @model_validator(mode="after")
    def _default_state_exists(self) -> GpuConfig:
        if self.default_clock_state == "sustained" and self.sustained is None:
            raise ValueError("default_clock_state 'sustained' needs a gpu.sustained section")
        return self
