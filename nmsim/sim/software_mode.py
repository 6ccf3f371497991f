"""The ``software`` sparse-kernel mode: N:M layers on a GPU's CUDA cores (CSR SpMM), as a GemmResult.

``sparse_kernel='tensor-core'`` (the default) runs every layer in the engine's hardware modes.
``sparse_kernel='software'`` runs each layer with N:M weights (any N:M: CSR does not care about the
format) through :mod:`nmsim.engine.software_sparse` instead, in the kernel's own dtype (cupy's sparse
``dot`` has no fp16); dense and unstructured layers run as before. A software layer reads its input
from DRAM and writes its output to DRAM: it neither keeps nor finds anything resident
(:func:`residency_layers`). Its result: ``hw_mode`` ``software:<n:m>``, ``fell_back`` False, no folds
or waves; cycles are its latency at the array clock; ``peak_mac_slots`` are the CUDA cores' peak MACs
(``peak_tflops``/2) over those cycles, so ``pe_utilization`` is the CUDA cores' utilization;
``mapping_efficiency`` is the kernel's ``efficiency``; energy as :func:`software_energy_pj`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from nmsim.engine.layout import ENERGY_PARTS
from nmsim.engine.software_sparse import software_energy_pj, software_kernel, software_sparse_gemm
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.result import GemmResult

SparseKernel = Literal["tensor-core", "software"]
SPARSE_KERNELS: tuple[str, ...] = ("tensor-core", "software")
SOFTWARE = "software"


def check_sparse_kernel(value: str | None, hw: HardwareConfig) -> bool:
    """True for the software mode (checking ``hw`` has a kernel), False for tensor cores; else a one-line error."""
    if value is None or value == "tensor-core":
        return False
    if value != SOFTWARE:
        raise NmsimInputError("sparse_kernel", f"one of {', '.join(SPARSE_KERNELS)}", value)
    software_kernel(hw)
    return True


def runs_in_software(layer: Layer, software: bool) -> bool:
    """Whether ``layer`` goes through the software kernel: software mode and N:M weights."""
    return software and layer.nm is not None


def residency_layers(layers: Sequence[Layer], software: bool) -> list[Layer]:
    """``layers`` as the residency planner sees them: software layers without input edges, so that
    they read their input from DRAM and leave their output there."""
    return [x.model_copy(update={"inputs": None}) if runs_in_software(x, software) else x for x in layers]


def software_result(
    name: str, hw: HardwareConfig, m: int, n: int, k: int, repeat: int, pattern: str
) -> GemmResult:
    """One N:M GEMM (times ``repeat``) through ``hw``'s software sparse kernel, as a
    :class:`~nmsim.sim.result.GemmResult` (fields as the module docstring says)."""
    kernel = software_kernel(hw)
    cost = software_sparse_gemm(kernel, hw, m, k, n, pattern, repeat)
    clock_hz = hw.array.clock_ghz * 1e9
    cycles = max(1, round(cost.latency_s * clock_hz))
    work_s = max(cost.compute_s, cost.memory_s)
    bound = (
        "latency"
        if cost.overhead_s > work_s
        else ("compute" if cost.compute_s >= cost.memory_s else "memory")
    )
    stall = round(max(0.0, cost.memory_s - cost.compute_s) * clock_hz)
    issued = cost.flops // 2
    dense = m * n * k * repeat
    parts = software_energy_pj(kernel, hw, cost)
    breakdown = {p: parts.get(p, 0.0) for p in ENERGY_PARTS}
    dram = hw.memory.dram.name
    mapping = {
        "kernel": kernel.name,
        "compute_s": cost.compute_s,
        "memory_s": cost.memory_s,
        "overhead_s": cost.overhead_s,
        "bytes_per_level": {
            dram: {"read_bytes": cost.weight_bytes + cost.input_bytes, "write_bytes": cost.output_bytes}
        },
    }
    return GemmResult(
        name=name,
        m=m,
        n=n,
        k=k,
        repeat=repeat,
        dtype=kernel.dtype,
        pattern=pattern,
        hw_mode=f"{SOFTWARE}:{pattern}",
        k_compacted=cost.nnz // (n * repeat),
        fell_back=False,
        folds=0,
        waves=0,
        cycles=cycles,
        compute_cycles=cycles - stall,
        stall_cycles=stall,
        bound=bound,
        latency_s=cost.latency_s,
        dense_macs=dense,
        issued_macs=issued,
        useful_macs=float(issued),
        peak_mac_slots=round(cycles * kernel.peak_tflops * 1e12 / 2 / clock_hz),
        pe_utilization=issued / (cycles * kernel.peak_tflops * 1e12 / 2 / clock_hz),
        mapping_efficiency=kernel.efficiency,
        issued_mac_utilization=1.0,
        effective_macs_per_cycle=dense / cycles,
        dram_bytes=cost.dram_bytes,
        dram_ifmap_bytes=cost.input_bytes,
        dram_filter_bytes=cost.weight_bytes,
        dram_ofmap_bytes=cost.output_bytes,
        energy_pj=sum(breakdown.values()),
        energy_breakdown_pj=breakdown,
        mapping=mapping,
    )
