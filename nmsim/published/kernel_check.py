"""[PGF]'s speed tables (8, 19) beside nmsim's software-sparse-kernel mode: modelled speedups and gaps.

Table 8: end-to-end ViT-L/16 inference speedup vs dense with FF-only N:M. Modelled as the engine's
dense ViT-L (the zoo trace, one image, every layer fp32 on the CUDA cores: cupy's sparse ``dot`` has
no fp16, so the paper's model is taken to run fp32) against the same trace with its FF layers N:M in
the ``software`` sparse-kernel mode (:mod:`nmsim.sim.software_mode`, ``simulate(...,
sparse_kernel='software')``). Table 19: the FFN kernel (FF1 and FF2 of one ViT-L
layer) speedup relative to 2:4, the mean of FF1's and FF2's, all through the software kernel.
Nothing is fitted to the tables: the gaps are what the kernel model's sourced parameters give.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from nmsim.engine.software_sparse import (
    FP32_MAC_PJ_45NM,
    FP32_MAC_SOURCE,
    software_kernel,
    software_sparse_gemm,
)
from nmsim.io.loaders import load_hardware, load_trace
from nmsim.published.tables import PaperTables, SpeedupTable, load_tables
from nmsim.schemas.gpu import SoftwareSparseKernel
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.simulate import simulate
from nmsim.sparsity import parse_pattern

ZOO = Path(__file__).resolve().parents[2] / "traces" / "zoo"
FF_ROLE = "ff"
# Which nmsim config stands for which of the paper's machines (GH200: the GH100 GPU with HBM3(e)).
CONFIG_FOR = {"A100": "nvidia_a100_sxm", "GH200": "nvidia_h200_sxm"}
MISS_ABOVE = 0.20


@dataclass(frozen=True)
class Gap:
    """One cell of a speed table beside the model: ``gap`` = model / paper − 1."""

    table: str
    hardware: str
    config: str
    pattern: str
    paper: float
    model: float

    @property
    def gap(self) -> float:
        return self.model / self.paper - 1.0

    @property
    def miss(self) -> bool:
        return abs(self.gap) > MISS_ABOVE

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "gap": self.gap, "miss": self.miss}


def fp32_on_cuda_cores(hw: HardwareConfig, kernel: SoftwareSparseKernel) -> HardwareConfig:
    """``hw`` with its fp32 dense rate set to the CUDA cores' peak (``kernel.peak_tflops``).

    The engine's arrays are the tensor cores; an fp32 GEMM (cuBLAS SGEMM) runs on the CUDA cores at
    ``peak_tflops``, i.e. at ``peak_tflops / array peak`` of the array's MAC rate.
    """
    array_peak_tflops = 2 * hw.array.rows * hw.array.cols * hw.array.cores * hw.array.clock_ghz / 1e3
    eff = dict(hw.array.efficiency)
    eff["fp32"] = kernel.peak_tflops / array_peak_tflops
    mac = dict(hw.energy.mac)
    if "fp32" not in mac:  # latency is what the speed tables check; an fp32 MAC energy only lets it run
        mac["fp32"] = mac["fp16"].model_copy(update={"pj": FP32_MAC_PJ_45NM, "source": FP32_MAC_SOURCE})
    return hw.model_copy(
        update={
            "array": hw.array.model_copy(update={"efficiency": eff}),
            "energy": hw.energy.model_copy(update={"mac": mac}),
        }
    )


def _fp32(trace: Trace) -> Trace:
    return trace.model_copy(update={"layers": [x.model_copy(update={"dtype": "fp32"}) for x in trace.layers]})


def _ff_layers(trace: Trace) -> list[Layer]:
    return [x for x in trace.layers if x.role == FF_ROLE]


def ff_pruned(trace: Trace, pattern: str) -> Trace:
    """``trace`` with its FF layers' weights at ``pattern`` (the rest unchanged)."""
    layers = [x.model_copy(update={"pattern": pattern}) if x.role == FF_ROLE else x for x in trace.layers]
    return trace.model_copy(update={"layers": layers})


def end_to_end_speedups(hw_name: str, patterns: list[str], trace: Trace) -> dict[str, float]:
    """Modelled ViT inference speedup vs dense per pattern: the FF layers N:M in the software mode."""
    hw = load_hardware(hw_name)
    hw = fp32_on_cuda_cores(hw, software_kernel(hw))
    fp32 = _fp32(trace)
    dense_s = simulate(fp32, hw).totals.latency_s
    return {
        p: 1.0
        if parse_pattern(p, "patterns").is_dense
        else dense_s / simulate(ff_pruned(fp32, p), hw, sparse_kernel="software").totals.latency_s
        for p in patterns
    }


def ffn_kernel_speedups(
    hw_name: str, patterns: list[str], trace: Trace, relative_to: str
) -> dict[str, float]:
    """Modelled FFN kernel speedup per pattern relative to ``relative_to``: mean over FF1 and FF2."""
    hw = load_hardware(hw_name)
    kernel = software_kernel(hw)
    ff1, ff2 = _ff_layers(trace)[:2]

    def t(layer: Layer, pattern: str) -> float:
        return software_sparse_gemm(kernel, hw, layer.m, layer.k, layer.n, pattern).latency_s

    return {p: (t(ff1, relative_to) / t(ff1, p) + t(ff2, relative_to) / t(ff2, p)) / 2 for p in patterns}


def _gaps(table: SpeedupTable, modelled: dict[str, float], hardware: str, config: str) -> list[Gap]:
    return [
        Gap(table.id, hardware, config, p, table.speedup(hardware, p), modelled[p])
        for p in table.patterns
        if parse_pattern(p, "patterns") != parse_pattern(table.relative_to, "relative_to")
    ]


def speed_table_gaps(tables: PaperTables | None = None, trace: Trace | None = None) -> list[Gap]:
    """Every A100/GH200 cell of Tables 8 and 19 beside the model (V100: no config, skipped)."""
    tables = tables or load_tables()
    trace = trace or load_trace(ZOO / "vit_l16.json")
    gaps: list[Gap] = []
    t8 = tables.speedup_table("8")
    config = CONFIG_FOR["A100"]
    gaps += _gaps(t8, end_to_end_speedups(config, t8.patterns, trace), "A100", config)
    t19 = tables.speedup_table("19")
    for hardware in ("A100", "GH200"):
        config = CONFIG_FOR[hardware]
        gaps += _gaps(
            t19, ffn_kernel_speedups(config, t19.patterns, trace, t19.relative_to), hardware, config
        )
    return gaps
