"""A software sparse GEMM kernel on a GPU's CUDA cores (CSR SpMM), as a cost model beside the engine.

[PGF]'s speed tests (Tables 8 and 19) run every N:M pattern, 2:4 included, through one software
kernel (cupy's sparse ``dot``, i.e. cuSPARSE CSR SpMM in fp32), not through the sparse tensor cores
the engine models. This module is that execution mode. A weight of ``k × n`` at density
``d = N/M`` keeps ``nnz = k·n·N/M`` values; the kernel, on ``m`` activation rows:

- computes ``2·m·nnz`` FLOPs at ``efficiency × peak_tflops`` (the CUDA cores' fp32 rate);
- moves ``nnz·(value + index bytes) + (k+1)·index bytes`` of CSR weight (values, column indices,
  row pointers) plus the dense ``m·k`` input and ``m·n`` output from DRAM, at the config's DRAM
  bandwidth;
- costs ``launch_overhead_us`` per call, and otherwise the larger of the two (they overlap).

Time in seconds. Parameters per GPU config, with sources, in its ``gpu.software_sparse`` section
(:mod:`nmsim.schemas.gpu`); none is fitted to [PGF]'s tables (docs/fidelity.md compares).

Energy (pJ, :func:`software_energy_pj`), three parts and nothing else:

- ``static``: the config's ``energy.static.watts`` × latency (as the engine charges it);
- ``mac``: one MAC in the kernel's dtype per kept MAC (``m·nnz``): the config's ``energy.mac`` entry
  for that dtype if it has one, else Horowitz's 45 nm fp32 MAC (3.7 pJ multiply + 0.9 pJ add,
  ISSCC 2014, docs/references.md), scaled to the config's node as the engine scales logic energy.
  An assumption: the CUDA cores' register-file and shared-memory traffic is not counted;
- ``dram``: the DRAM bytes read (CSR weight, input) and written (output) × the config's DRAM read and
  write energy per byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from nmsim.dtypes import bytes_per_element
from nmsim.engine.energy import scale_factor
from nmsim.errors import NmsimInputError
from nmsim.schemas.gpu import SoftwareSparseKernel
from nmsim.schemas.hardware import HardwareConfig
from nmsim.sparsity import parse_nm


@dataclass(frozen=True)
class SoftwareGemmCost:
    """Cost of one software sparse GEMM: seconds, FLOPs, bytes."""

    latency_s: float
    compute_s: float
    memory_s: float
    overhead_s: float
    nnz: int
    flops: int
    dram_bytes: int
    weight_bytes: int = 0  # CSR values, column indices and row pointers read from DRAM
    input_bytes: int = 0  # the dense m×k activations read from DRAM
    output_bytes: int = 0  # the dense m×n output written to DRAM


FP32_MAC_PJ_45NM = 4.6
FP32_MAC_SOURCE = "Horowitz ISSCC 2014 (45 nm): 32b FP mult 3.7 pJ + add 0.9 pJ (docs/references.md)"


def software_kernel(hw: HardwareConfig) -> SoftwareSparseKernel:
    """``hw``'s software sparse kernel (``gpu.software_sparse``); a one-line input error if it has none."""
    if hw.gpu is None or hw.gpu.software_sparse is None:
        raise NmsimInputError("hardware", "a GPU config with a gpu.software_sparse section", hw.name)
    return hw.gpu.software_sparse


def dram_bytes_per_s(hw: HardwareConfig) -> float:
    """The config's DRAM bandwidth (bytes/s): its last memory level's ``bandwidth_gbps``."""
    gbps = hw.memory.levels[-1].bandwidth_gbps
    if gbps is None:
        raise NmsimInputError("hardware", f"a DRAM level with bandwidth_gbps ('{hw.name}' has none)")
    return gbps * 1e9


def software_sparse_gemm(
    kernel: SoftwareSparseKernel, hw: HardwareConfig, m: int, k: int, n: int, pattern: str, repeat: int = 1
) -> SoftwareGemmCost:
    """Cost of ``repeat`` calls of an ``m×k`` dense by ``k×n`` N:M-pruned weight product (seconds)."""
    nm = parse_nm(pattern, field="pattern")
    if k % nm.m:
        raise NmsimInputError("k", f"a multiple of M={nm.m} for pattern {pattern}", str(k))
    nnz = k // nm.m * nm.n * n
    vb = bytes_per_element(kernel.dtype)
    flops = 2 * m * nnz
    weight_bytes = nnz * (vb + kernel.index_bytes) + (k + 1) * kernel.index_bytes
    input_bytes, output_bytes = m * k * vb, m * n * vb
    dram_bytes = weight_bytes + input_bytes + output_bytes
    compute_s = flops / (kernel.efficiency * kernel.peak_tflops * 1e12)
    memory_s = dram_bytes / dram_bytes_per_s(hw)
    overhead_s = kernel.launch_overhead_us * 1e-6
    one = overhead_s + max(compute_s, memory_s)
    return SoftwareGemmCost(
        latency_s=one * repeat,
        compute_s=compute_s * repeat,
        memory_s=memory_s * repeat,
        overhead_s=overhead_s * repeat,
        nnz=nnz * repeat,
        flops=flops * repeat,
        dram_bytes=dram_bytes * repeat,
        weight_bytes=weight_bytes * repeat,
        input_bytes=input_bytes * repeat,
        output_bytes=output_bytes * repeat,
    )


def mac_energy_pj(kernel: SoftwareSparseKernel, hw: HardwareConfig) -> float:
    """Energy of one MAC in the kernel's dtype at ``hw``'s node (pJ; module docstring)."""
    en = hw.energy
    entry = en.mac.get(kernel.dtype)  # type: ignore[call-overload]
    pj, node = (entry.pj, entry.node_nm) if entry is not None else (FP32_MAC_PJ_45NM, 45)
    return pj * scale_factor("logic", node, en.node_nm, en.scaling)


def software_energy_pj(
    kernel: SoftwareSparseKernel, hw: HardwareConfig, cost: SoftwareGemmCost
) -> dict[str, float]:
    """Energy of ``cost`` by part (pJ): ``static``, ``mac`` and ``dram`` (module docstring)."""
    en, dram = hw.energy, hw.memory.dram
    rd = dram.per_byte(dram.read_energy) * scale_factor(
        "dram", dram.read_energy.node_nm, en.node_nm, en.scaling
    )
    wr = dram.per_byte(dram.write_energy) * scale_factor(
        "dram", dram.write_energy.node_nm, en.node_nm, en.scaling
    )
    return {
        "static": en.static.watts * cost.latency_s * 1e12,
        "mac": cost.flops // 2 * mac_energy_pj(kernel, hw),
        "dram": (cost.weight_bytes + cost.input_bytes) * rd + cost.output_bytes * wr,
    }
