"""Hardware config schema: one class per section of ``hw_configs/*.yaml``.

Sections: ``array`` (the PE grid), ``sparse`` (which N:M modes the PEs execute), ``memory`` (SRAM
buffers, DRAM) and ``energy`` (the energy table, each entry with its source and technology node).
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from nmsim.dtypes import DType
from nmsim.limits import (
    ArrayDim,
    BufferKB,
    Cores,
    Efficiency,
    EnergyPJ,
    NodeNm,
    OverheadCycles,
    OverheadUs,
    PatternM,
    PerPE,
    PipeStages,
    Rate,
    Watts,
)
from nmsim.schemas.common import Sourced, Strict
from nmsim.schemas.gpu import GpuConfig
from nmsim.sparsity import NM, parse_nm

Dataflow = Literal["os", "ws", "is"]


class ArrayConfig(Sourced):
    """The systolic array(s): ``rows``×``cols`` PEs per array, ``cores`` arrays per chip."""

    rows: ArrayDim
    cols: ArrayDim
    dataflow: Dataflow
    clock_ghz: Rate = Field(description="PE clock (GHz)")
    cores: Cores = Field(1, description="arrays on the chip; GEMM tiles spread over them in waves")
    tile_folds: Cores = Field(1, description="folds in the tile one array takes (a GPU block's tile)")
    k_per_pe: dict[DType, PerPE] = Field(
        default_factory=dict, description="MACs a PE does per cycle along K, per dtype (default 1)"
    )
    efficiency: dict[DType, Efficiency] = Field(
        default_factory=dict, description="achieved fraction of peak in dense mode, per dtype (default 1)"
    )
    launch_overhead_us: OverheadUs = Field(0.0, description="fixed cost per GEMM: launch, epilogue (µs)")
    tile_overhead_cycles: OverheadCycles = Field(
        0.0, description="cycles each wave of tiles spends outside its K loop: prologue, epilogue"
    )
    split_k: int = Field(
        1,
        ge=1,
        le=64,
        description="most pieces K is split into when the output tiles leave cores idle (1 = never)",
    )


class ModeRange(Strict):
    """Every ``n:m`` with ``n_min ≤ n ≤ n_max`` (e.g. any n ≤ 4 of 8)."""

    m: PatternM
    n_min: PatternM = 1
    n_max: PatternM

    @model_validator(mode="after")
    def _ordered(self) -> ModeRange:
        if not self.n_min <= self.n_max <= self.m:
            raise ValueError("need 1 <= n_min <= n_max <= m")
        return self


class SparseConfig(Sourced):
    """The N:M modes the PEs can execute (weights, along K), and what the sparse datapath costs.

    ``kind``: ``none`` (dense array), ``nm`` (exactly-n:m tensor cores, NVIDIA/VEGETA style) or ``dbb``
    (density-bound blocks, S2TA style: a block of m holds at most n nonzeros).
    """

    kind: Literal["none", "nm", "dbb"] = "none"
    modes: list[str] = Field(default_factory=list, description="'n:m' modes, e.g. ['1:4', '2:4']")
    mode_ranges: list[ModeRange] = Field(default_factory=list)
    metadata_bits_per_value: PerPE | None = Field(
        None, description="index bits stored per kept value; default ceil(log2 m) of the mode used"
    )
    mux_extra_cycles: PipeStages = Field(
        0, description="pipeline stages the operand-select mux adds (cycles)"
    )
    efficiency: dict[DType, Efficiency] = Field(
        default_factory=dict,
        description="achieved fraction of the ideal sparse speedup, per dtype (default 1)",
    )
    extra_overhead_us: OverheadUs = Field(0.0, description="extra fixed cost of a sparse GEMM (µs)")
    tile_adaptive: bool = Field(
        False, description="dbb only: each tile runs at the bound of its densest block (time-unrolled)"
    )

    @field_validator("modes")
    @classmethod
    def _parse_modes(cls, modes: list[str]) -> list[str]:
        return [str(parse_nm(m, "sparse.modes")) for m in modes]

    @model_validator(mode="after")
    def _kind_matches_modes(self) -> SparseConfig:
        if self.kind == "none" and (self.modes or self.mode_ranges):
            raise ValueError("kind 'none' takes no modes; use kind 'nm' or 'dbb'")
        if self.kind != "none" and not (self.modes or self.mode_ranges):
            raise ValueError(f"kind '{self.kind}' needs at least one entry in modes or mode_ranges")
        if self.tile_adaptive and self.kind != "dbb":
            raise ValueError("tile_adaptive applies to kind 'dbb' only")
        return self

    @cached_property
    def mode_set(self) -> tuple[NM, ...]:
        """All supported sparse modes (n < m), sorted."""
        found = {parse_nm(m) for m in self.modes}
        for r in self.mode_ranges:
            found.update(NM(n, r.m) for n in range(r.n_min, r.n_max + 1))
        return tuple(sorted(mode for mode in found if not mode.is_dense))

    def metadata_bits(self, mode: NM) -> int:
        """Metadata bits per kept value in ``mode`` (bits)."""
        if self.metadata_bits_per_value is not None:
            return self.metadata_bits_per_value
        return max(1, math.ceil(math.log2(mode.m)))


class SramBuffer(Sourced):
    """One on-chip SRAM buffer: capacity (KiB) and access width (bytes per access)."""

    size_kb: BufferKB
    word_bytes: PerPE


class MemoryConfig(Sourced):
    """On-chip SRAM buffers and DRAM bandwidth, both chip-level (shared by all arrays)."""

    ifmap: SramBuffer
    filter: SramBuffer
    ofmap: SramBuffer
    dram_bandwidth_gbps: Rate = Field(description="DRAM bandwidth (GB/s, 1e9 bytes/s)")
    double_buffered: bool = True


class EnergyEntry(Strict):
    """One energy-table entry: ``pj`` picojoules at technology ``node_nm``, with its ``source``."""

    pj: EnergyPJ
    node_nm: NodeNm
    source: str = Field(min_length=3)


class StaticPower(Strict):
    """Leakage/static power of the chip (W), charged for every second of latency."""

    watts: Watts
    source: str = Field(min_length=3)


class SramEnergy(Strict):
    """Energy per SRAM access (one word of the buffer's ``word_bytes``)."""

    read: EnergyEntry
    write: EnergyEntry


class EnergyConfig(Sourced):
    """The energy table. Entries are scaled from their own node to ``node_nm`` by ``scaling``."""

    node_nm: NodeNm
    scaling: Literal["stillmaker", "none"] = "stillmaker"
    mac: dict[DType, EnergyEntry] = Field(description="one multiply-accumulate, per input dtype")
    ifmap: SramEnergy
    filter: SramEnergy
    ofmap: SramEnergy
    dram_per_byte: EnergyEntry
    metadata_per_bit: EnergyEntry = Field(description="reading one metadata (index) bit")
    mux_select: EnergyEntry = Field(description="one operand select in a sparse PE, per issued MAC")
    static: StaticPower


class HardwareConfig(Strict):
    """A validated accelerator description (``hw_configs/*.yaml``)."""

    name: str = Field(min_length=1)
    description: str = ""
    default_dtype: DType = "int8"
    array: ArrayConfig
    sparse: SparseConfig = SparseConfig()
    memory: MemoryConfig
    energy: EnergyConfig
    gpu: GpuConfig | None = None  # clock/power states, measured software stack (nmsim/schemas/gpu.py)

    @model_validator(mode="after")
    def _default_dtype_has_mac_energy(self) -> HardwareConfig:
        if self.default_dtype not in self.energy.mac:
            raise ValueError(f"energy.mac needs an entry for default_dtype '{self.default_dtype}'")
        return self
