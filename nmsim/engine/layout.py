"""Index layout of the engine's flat arrays, and the only code that packs or unpacks them.

Flat float64 vectors let one compiled kernel serve a single GEMM and batches of configurations:
a hardware vector (one per config × dtype), a GEMM row (one per GEMM to evaluate) and a result
vector. Other modules read them through :data:`HW`, :data:`GEMM`, :data:`OUT` (name → index) or
:func:`unpack`, never by position.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

LEVEL_SLOTS = 6  # on-chip levels the engine models: up to two per operand (a chain), possibly shared
MAX_CHAIN = 2  # on-chip levels one operand may pass through (innermost first)
FILL_PORTS = 8  # ports the inner-level fills can pass: read and write of the ≤ 4 levels they join

# --- hardware vector (one per hardware config × dtype) --------------------------------------------
HW_FIELDS: tuple[str, ...] = (
    "dataflow",  # 0 os, 1 ws, 2 is
    "rows",
    "cols",
    "cores",
    "clock_hz",
    "elem_bytes",
    "acc_bytes",  # partial-sum bytes (pe.accumulator_bits / 8)
    "weights_per_pe",  # weights a PE holds (ws): K reduced inside the PE before a partial sum leaves
    "lvl_act",  # outermost on-chip level slot holding activations / weights / outputs; -1 = none (DRAM only)
    "lvl_w",
    "lvl_out",
    "lvl_act_in",  # the inner on-chip level of each operand's chain (fed from the outer one); -1 = none
    "lvl_w_in",
    "lvl_out_in",
    *(f"cap_{i}" for i in range(LEVEL_SLOTS)),  # usable bytes of each on-chip level (half if double-buffered)
    *(f"rd_bw_{i}" for i in range(LEVEL_SLOTS)),  # read port, bytes/cycle, chip-wide (0 = unlimited)
    *(f"wr_bw_{i}" for i in range(LEVEL_SLOTS)),  # write port, bytes/cycle, chip-wide (0 = unlimited)
    *(f"e_rd_{i}" for i in range(LEVEL_SLOTS)),  # pJ per byte read
    *(f"e_wr_{i}" for i in range(LEVEL_SLOTS)),  # pJ per byte written
    "dram_bytes_per_cycle",
    "e_dram_read",  # pJ per byte
    "e_dram_write",
    "mux_extra",  # cycles
    "k_per_pe",  # MACs a PE does per cycle along K for this dtype
    "efficiency",  # achieved fraction of peak, dense
    "sparse_efficiency",  # achieved fraction of peak in a sparse mode
    "tile_folds",  # folds per tile handed to one array
    "overhead_cycles",  # fixed per-GEMM launch/epilogue cost
    "sparse_overhead_cycles",  # extra fixed cost of a sparse kernel
    "tile_overhead_cycles",  # per wave of tiles: prologue + epilogue outside the K loop
    "split_k",  # most pieces K is split into when the tiles leave cores idle (1 = never)
    "meta_bits_per_cycle",  # metadata path into the array, bits/cycle (0 = unlimited)
    "fallback",  # 1: run dense when the sparse mode is worse on the objective (auto); 0: never
    "e_mac",  # pJ per MAC
    "e_mux",  # pJ per operand select
    "e_metadata_bit",  # pJ per metadata bit read
    "e_register",  # pJ per MAC: the PE's weight read + partial-sum register read and write
    "static_w",  # W
)
HW = {name: i for i, name in enumerate(HW_FIELDS)}
HW_LEN = len(HW_FIELDS)

# --- GEMM row (one per GEMM to evaluate) ----------------------------------------------------------
OBJECTIVES: tuple[str, ...] = ("latency", "energy", "edp")  # codes of the "objective" field
GEMM_FIELDS: tuple[str, ...] = (
    "m",
    "n",
    "k",
    "kc",  # compacted K (= k when dense)
    "meta_bits",  # metadata bits per kept weight
    "repeat",
    "compat",  # 1: SCALE-Sim timing
    "sparse",  # 1: the PEs run an N:M mode (mux active)
    "objective",  # index into OBJECTIVES
    "input_resident",  # 1: the activation operand is already on chip (no DRAM read)
    "output_resident",  # 1: the output stays on chip for its consumers (no DRAM write)
    *(f"reserved_{i}" for i in range(LEVEL_SLOTS)),  # bytes of each on-chip level held by resident tensors
    "weight_resident",  # 1: the second operand is already on chip (an activation, e.g. attention's k or v)
)
GEMM = {name: i for i, name in enumerate(GEMM_FIELDS)}
GEMM_LEN = len(GEMM_FIELDS)

# --- result vector --------------------------------------------------------------------------------
OUT_FIELDS: tuple[str, ...] = (
    "folds",
    "waves",
    "compute_cycles",
    "stall_cycles",
    "cycles",
    "work_cycles",
    "fixed_cycles",
    "memory_cycles",
    "port_cycles",  # cycles the on-chip ports / metadata path need at the least
    "bound",  # index into BOUNDS
    "latency_s",
    "issued_macs",
    "peak_mac_slots",  # peak MACs per cycle (PEs × k_per_pe; compat: PEs) × cycles
    "mapping_efficiency",
    "fell_back",  # 1: the sparse mode was worse on the objective, the layer ran dense
    "loop_order",  # index into LOOP_ORDERS
    "tile_m",  # DRAM-level tile: rows of M, columns of N, compacted K rows per array pass
    "tile_n",
    "tile_k",
    "dense_schedule",  # 1: a sparse layer runs the dense layer's schedule (fewer rows per fold)
    "inner_loop_order",  # inner-level tile (within the DRAM-level tile): index into LOOP_ORDERS; -1 = no inner level
    "inner_tile_m",
    "inner_tile_n",
    "fill_ifmap_bytes",  # bytes read from an outer on-chip level and written into the inner one
    "fill_filter_bytes",
    "drain_ofmap_bytes",  # outputs moved from the inner output level to the outer one
    "onchip_transfer_bytes",  # the three above: bytes moved between on-chip levels
    "port_binding",  # the port that needs the most cycles: index into port_names(); -1 = none limits
    "dram_ifmap_bytes",
    "dram_filter_bytes",
    "dram_ofmap_bytes",
    "dram_bytes",
    "sram_ifmap_read_bytes",
    "sram_filter_read_bytes",
    "sram_ofmap_read_bytes",
    "sram_ofmap_write_bytes",
    "energy_mac",
    "energy_ifmap_sram",
    "energy_filter_sram",
    "energy_ofmap_sram",
    "energy_dram",
    "energy_metadata",
    "energy_registers",
    "energy_mux",
    "energy_static",
    "energy_pj",
)
OUT = {name: i for i, name in enumerate(OUT_FIELDS)}
BOUNDS: tuple[str, ...] = ("compute", "memory", "latency", "port")  # codes of the "bound" field
LOOP_ORDERS: tuple[str, ...] = (
    "output-stationary (K innermost)",  # A re-read per N tile, W per M tile, outputs once
    "weight-block-stationary (M innermost)",  # W read once, A re-read per N tile
    "activation-block-stationary (N innermost)",  # A read once, W re-read per M tile
)
OUT_LEN = len(OUT_FIELDS)


def port_names(level_names: tuple[str, ...]) -> tuple[str, ...]:
    """Labels of the ``port_binding`` codes: slot ``s`` read port = ``2s``, write port = ``2s + 1``;
    ``2·LEVEL_SLOTS``: the metadata path. ``level_names``: the on-chip levels, slot order."""
    names = []
    for s in range(LEVEL_SLOTS):
        level = level_names[s] if s < len(level_names) else f"slot {s}"
        names += [f"{level} read port", f"{level} write port"]
    return (*names, "metadata path")


# --- mapper parameters (one vector per way a GEMM runs, built by the kernel, read by the mapper) ----
MAP_FIELDS: tuple[str, ...] = (
    "m",
    "n",
    "k",
    "kc",  # compacted K rows
    "kb",  # compacted K rows per array pass
    "kbd",  # activation columns they need
    "elem_bytes",
    "acc_bytes",
    "meta_bits",  # metadata bits per kept weight (0 in compat)
    "a_resident",
    "o_resident",
    "w_resident",  # 1: the second operand is on chip (no DRAM read, no footprint beyond the reservation)
    "objective",
    "repeat",
    "ports",  # 1: on-chip ports limit the array (0 in compat)
    "la",  # outer / inner level slot of each operand, as the hardware vector's lvl_* fields
    "lw",
    "lo",
    "la_in",
    "lw_in",
    "lo_in",
    "work",  # fold work, cycles (ports may stretch it)
    "fixed",  # fixed latency, cycles
    "port0",  # the longest port time before inner-level fills (cycles, unrounded)
    "prologue",  # exposed DRAM bytes
    "epilogue",
    "bytes_per_cycle",  # DRAM
    "e_dram_rd",  # pJ per byte
    "e_dram_wr",
    "e_fill_a",  # pJ per byte written into the outer level by a DRAM read / read out for a DRAM write
    "e_fill_w",
    "e_drain_o",
    "e_inner_a",  # pJ per byte moved outer → inner level (read outer + write inner)
    "e_inner_w",
    "static_pj_per_cycle",
    *(f"cap_{i}" for i in range(LEVEL_SLOTS)),  # free bytes of each level for one tile
    *(
        f"port_cycles_{c}" for c in range(2 * LEVEL_SLOTS + 1)
    ),  # each port's cycles before the fills (port_binding codes)
    "fill_ports",  # how many ports carry inner-level fills (the fp_* entries in use)
    *(f"fp_base_{i}" for i in range(FILL_PORTS)),  # its bytes whatever the tiling (per copy)
    *(f"fp_a_{i}" for i in range(FILL_PORTS)),  # 1 when the activation fills pass it
    *(f"fp_w_{i}" for i in range(FILL_PORTS)),  # 1 when the weight fills pass it
    *(f"fp_scale_{i}" for i in range(FILL_PORTS)),  # repeat / its bytes per cycle
    *(f"fp_code_{i}" for i in range(FILL_PORTS)),  # which port it is (a port_binding code)
)
MAP = {name: i for i, name in enumerate(MAP_FIELDS)}
MAP_LEN = len(MAP_FIELDS)
ENERGY_PARTS: tuple[str, ...] = tuple(
    f[len("energy_") :] for f in OUT_FIELDS if f.startswith("energy_") and f != "energy_pj"
)


def pack(fields: tuple[str, ...], values: Mapping[str, float]) -> np.ndarray:
    """A float64 vector laid out as ``fields`` from ``values`` (missing names are 0)."""
    index = {name: i for i, name in enumerate(fields)}
    vec = np.zeros(len(fields), dtype=np.float64)
    for name, value in values.items():
        vec[index[name]] = value
    return vec


def unpack(fields: tuple[str, ...], vec: np.ndarray) -> dict[str, float]:
    """``vec`` (laid out as ``fields``) as a name → value dict."""
    return dict(zip(fields, vec.tolist(), strict=True))


def gemm_row(
    m: int,
    n: int,
    k: int,
    kc: int,
    meta_bits: int,
    repeat: int,
    compat: bool,
    sparse: bool,
    objective: int = 0,
    input_resident: bool = False,
    output_resident: bool = False,
    reserved: tuple[float, ...] = (0.0,) * LEVEL_SLOTS,
    weight_resident: bool = False,
) -> tuple[float, ...]:
    """One GEMM row as a tuple in :data:`GEMM_FIELDS` order (hashable: the sweep's dedup key);
    ``reserved``: bytes per level slot (slots past its end: 0)."""
    return (
        float(m),
        float(n),
        float(k),
        float(kc),
        float(meta_bits),
        float(repeat),
        float(compat),
        float(sparse),
        float(objective),
        float(input_resident),
        float(output_resident),
        *(float(r) for r in reserved),
        *(0.0 for _ in range(LEVEL_SLOTS - len(reserved))),  # slots not given hold nothing
        float(weight_resident),
    )
