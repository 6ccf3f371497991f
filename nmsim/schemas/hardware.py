"""Hardware config schema: one class per section of ``hw_configs/*.yaml``.

Sections: ``array`` (the PE grid), ``pe`` (what one PE holds), ``sparse`` (which N:M modes the PEs
execute, their costs, the dense fallback), ``memory`` (the hierarchy: an ordered list of levels from the
PEs out to DRAM, each with capacity, operands, ports and energies) and ``energy`` (logic energies, each
entry with its source and technology node). ``schema_version`` 2.0; 1.x documents migrate on load.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from nmsim.dtypes import DType
from nmsim.limits import (
    MAX_BUFFER_KB,
    ArrayDim,
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
    fallback: Literal["auto", "never"] = Field(
        "auto",
        description="auto: a layer runs dense when its sparse mode would be slower; never: always sparse",
    )
    metadata_bits_per_cycle: Rate | None = Field(
        None, description="metadata path into the array (bits/cycle); omitted: unlimited"
    )
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


CapacityBytes = Annotated[float, Field(gt=0, le=MAX_BUFFER_KB * 1024, allow_inf_nan=False)]
"""An on-chip level's capacity (bytes): above 0, at most :data:`nmsim.limits.MAX_BUFFER_KB` KiB."""
Operand = Literal["activations", "weights", "outputs"]
OPERANDS: tuple[str, ...] = ("activations", "weights", "outputs")
MAX_CHAIN = 2
"""On-chip levels one operand may pass through (nmsim.engine.layout.MAX_CHAIN)."""
MAX_ON_CHIP_LEVELS = 6
"""On-chip levels a hierarchy may have (nmsim.engine.layout.LEVEL_SLOTS)."""


class LevelEnergy(Strict):
    """Energy of one access to a memory level: ``pj`` picojoules at ``node_nm`` per ``per``
    (``access``: one word of the level's ``word_bytes``; ``byte``: one byte), with its ``source``."""

    pj: EnergyPJ
    node_nm: NodeNm
    source: str = Field(min_length=3)
    per: Literal["access", "byte"] = "access"


class MemoryLevel(Sourced):
    """One level of the memory hierarchy above the PEs' registers (an SRAM, a cache, DRAM/HBM).

    ``operands``: which GEMM operands it holds (one, or several sharing its capacity). The last level
    is off-chip (DRAM/HBM): unbounded, it holds every operand and has a ``bandwidth_gbps``. Read and
    write bandwidths are bytes per PE-clock cycle (omitted: unlimited, the port never throttles).
    """

    name: str = Field(min_length=1)
    operands: list[Operand] = Field(min_length=1)
    capacity_bytes: CapacityBytes | None = Field(None, description="bytes; omitted for the off-chip level")
    word_bytes: PerPE = Field(8, description="bytes per access (the energy figures' width)")
    read_bytes_per_cycle: Rate | None = Field(None, description="read port (bytes/cycle)")
    write_bytes_per_cycle: Rate | None = Field(None, description="write port (bytes/cycle)")
    bandwidth_gbps: Rate | None = Field(
        None, description="off-chip level: read+write bandwidth (GB/s, 1e9 bytes/s)"
    )
    read_energy: LevelEnergy
    write_energy: LevelEnergy
    double_buffer: bool = Field(True, description="half the capacity fills while the other half serves")
    per_core: bool = Field(
        False,
        description="capacity and ports are per core (array.cores copies, e.g. a GPU SM's shared memory): "
        "a tile must fit one core's capacity; the chip-wide ports are cores × the ones given",
    )

    @field_validator("operands")
    @classmethod
    def _distinct(cls, ops: list[str]) -> list[str]:
        if len(set(ops)) != len(ops):
            raise ValueError("an operand is listed twice")
        return ops

    def per_byte(self, entry: LevelEnergy) -> float:
        """``entry`` in pJ per byte, at its own node (no scaling)."""
        return entry.pj if entry.per == "byte" else entry.pj / self.word_bytes

    @property
    def usable_bytes(self) -> float:
        """Capacity available to one tile (bytes): half when double-buffered; inf off chip."""
        if self.capacity_bytes is None:
            return math.inf
        return self.capacity_bytes / 2.0 if self.double_buffer else self.capacity_bytes


class MemoryConfig(Sourced):
    """The memory hierarchy above the PE registers, ordered from the PEs outwards to DRAM/HBM.

    An operand may be held by up to :data:`MAX_CHAIN` on-chip levels (its chain, innermost first in
    ``levels`` order: the array reads the innermost, which is filled from the next one out); a level
    may be shared by several operands. The last level is off chip and holds all three.
    """

    levels: list[MemoryLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> MemoryConfig:
        *chip, dram = self.levels
        if set(dram.operands) != set(OPERANDS):
            raise ValueError(
                f"the last level ('{dram.name}') is off chip and must hold {', '.join(OPERANDS)}"
            )
        if dram.bandwidth_gbps is None or dram.capacity_bytes is not None:
            raise ValueError(f"the last level ('{dram.name}') needs bandwidth_gbps and no capacity_bytes")
        names = [lv.name for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError("level names must be distinct")
        for lv in chip:
            if lv.capacity_bytes is None:
                raise ValueError(f"on-chip level '{lv.name}' needs capacity_bytes")
            if lv.bandwidth_gbps is not None:
                raise ValueError(
                    f"on-chip level '{lv.name}': give read/write_bytes_per_cycle, not bandwidth_gbps"
                )
        for op in OPERANDS:
            held = [lv.name for lv in chip if op in lv.operands]
            if len(held) > MAX_CHAIN:
                raise ValueError(
                    f"operand '{op}' is in {len(held)} on-chip levels ({', '.join(held)}); "
                    f"at most {MAX_CHAIN} per operand are allowed"
                )
        if len(chip) > MAX_ON_CHIP_LEVELS:
            raise ValueError(f"{len(chip)} on-chip levels; at most {MAX_ON_CHIP_LEVELS} are allowed")
        return self

    @property
    def dram(self) -> MemoryLevel:
        """The off-chip level."""
        return self.levels[-1]

    @property
    def dram_bandwidth_gbps(self) -> float:
        """Off-chip bandwidth (GB/s)."""
        bw = self.levels[-1].bandwidth_gbps
        assert bw is not None
        return bw

    def chain_of(self, operand: str) -> list[int]:
        """Indices of the on-chip levels holding ``operand``, innermost first (empty: it streams from DRAM)."""
        return [i for i, lv in enumerate(self.levels[:-1]) if operand in lv.operands]

    def level_of(self, operand: str) -> int:
        """Index of the outermost on-chip level holding ``operand`` (the one DRAM fills); -1 when it
        streams from DRAM."""
        chain = self.chain_of(operand)
        return chain[-1] if chain else -1

    def inner_level_of(self, operand: str) -> int:
        """Index of the inner on-chip level of ``operand``'s chain (fed from :meth:`level_of`); -1 when
        its chain has one level or none."""
        chain = self.chain_of(operand)
        return chain[0] if len(chain) > 1 else -1


class EnergyEntry(Strict):
    """One energy-table entry: ``pj`` picojoules at technology ``node_nm``, with its ``source``."""

    pj: EnergyPJ
    node_nm: NodeNm
    source: str = Field(min_length=3)


class PeConfig(Sourced):
    """What one PE keeps: stationary weights, the output/partial-sum register, the accumulator width."""

    weights_per_pe: PerPE = Field(
        1, description="weights a PE holds (ws): a K segment reduced inside the PE, no partial-sum spill"
    )
    output_register_bytes: PerPE | None = Field(
        None,
        description="bytes of the output/partial-sum register (one partial sum); omitted: one accumulator",
    )
    accumulator_bits: PerPE = Field(32, description="partial-sum width (bits)")
    weight_read_energy: EnergyEntry | None = Field(
        None, description="a PE reading its stationary weight, once per MAC (pJ); omitted: 0"
    )
    psum_read_energy: EnergyEntry | None = Field(
        None, description="reading the output/partial-sum register, once per MAC (pJ); omitted: 0"
    )
    psum_write_energy: EnergyEntry | None = Field(
        None, description="writing the output/partial-sum register, once per MAC (pJ); omitted: 0"
    )

    @model_validator(mode="after")
    def _one_partial_sum_per_pe(self) -> PeConfig:
        """The engine keeps exactly one partial sum per PE (one output in flight, os; one passing
        partial sum, ws/is): the register must hold one accumulator and not two or more, which the
        model could not use."""
        acc = math.ceil(self.accumulator_bits / 8)
        if self.output_register_bytes is not None and not acc <= self.output_register_bytes < 2 * acc:
            raise ValueError(
                f"output_register_bytes {self.output_register_bytes} must hold exactly one "
                f"{self.accumulator_bits}-bit partial sum ({acc} to {2 * acc - 1} bytes): the engine keeps "
                "one per PE and does not model a register file of several outputs"
            )
        return self


class StaticPower(Strict):
    """Leakage/static power of the chip (W), charged for every second of latency."""

    watts: Watts
    source: str = Field(min_length=3)


class EnergyConfig(Sourced):
    """The energy table. Entries are scaled from their own node to ``node_nm`` by ``scaling``."""

    node_nm: NodeNm
    scaling: Literal["stillmaker", "none"] = "stillmaker"
    mac: dict[DType, EnergyEntry] = Field(description="one multiply-accumulate, per input dtype")
    metadata_per_bit: EnergyEntry = Field(description="reading one metadata (index) bit")
    mux_select: EnergyEntry = Field(description="one operand select in a sparse PE, per issued MAC")
    static: StaticPower


class MapperConfig(Strict):
    """How the mapper chooses tilings for this config (a sweep may vary it: ``objective``)."""

    objective: Literal["latency", "energy", "edp"] = Field(
        "latency", description="what each GEMM's tiling (and the dense fallback) minimises"
    )


SCHEMA_VERSION = "2.0"


class HardwareConfig(Strict):
    """A validated accelerator description (``hw_configs/*.yaml``), schema 2.0.

    A 1.x document (separate ``memory.ifmap/filter/ofmap`` buffers, per-buffer energies in ``energy``)
    is migrated on validation by :func:`nmsim.schemas.migrate.migrate_hardware`.
    """

    schema_version: Literal["2.0"] = SCHEMA_VERSION
    name: str = Field(min_length=1)
    description: str = ""
    default_dtype: DType = "int8"
    array: ArrayConfig
    pe: PeConfig = PeConfig()
    sparse: SparseConfig = SparseConfig()
    memory: MemoryConfig
    energy: EnergyConfig
    mapper: MapperConfig = MapperConfig()
    gpu: GpuConfig | None = None  # clock/power states, measured software stack (nmsim/schemas/gpu.py)

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        from nmsim.schemas.migrate import migrate_hardware

        return migrate_hardware(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _default_dtype_has_mac_energy(self) -> HardwareConfig:
        if self.default_dtype not in self.energy.mac:
            raise ValueError(f"energy.mac needs an entry for default_dtype '{self.default_dtype}'")
        return self
