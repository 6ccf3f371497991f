"""Index layout of the engine's flat arrays: a hardware vector in, a result vector out.

Flat float64 vectors let one compiled kernel serve a single GEMM and batches of configurations.
"""

from __future__ import annotations

# --- hardware vector (one per hardware config × dtype) --------------------------------------------
HW_FIELDS: tuple[str, ...] = (
    "dataflow",  # 0 os, 1 ws, 2 is
    "rows",
    "cols",
    "cores",
    "clock_hz",
    "elem_bytes",
    "acc_bytes",
    "cap_ifmap",  # usable bytes (half the buffer when double-buffered)
    "cap_filter",
    "cap_ofmap",
    "dram_bytes_per_cycle",
    "mux_extra",  # cycles
    "k_per_pe",  # MACs a PE does per cycle along K for this dtype
    "efficiency",  # achieved fraction of peak, dense
    "sparse_efficiency",  # achieved fraction of peak in a sparse mode
    "tile_folds",  # folds per tile handed to one array
    "overhead_cycles",  # fixed per-GEMM launch/epilogue cost
    "sparse_overhead_cycles",  # extra fixed cost of a sparse kernel
    "tile_overhead_cycles",  # per wave of tiles: prologue + epilogue outside the K loop
    "split_k",  # most pieces K is split into when the tiles leave cores idle (1 = never)
    "e_mac",  # pJ per MAC
    "e_mux",  # pJ per operand select
    "e_metadata_bit",  # pJ per metadata bit read
    "e_ifmap_read",  # pJ per byte
    "e_ifmap_write",
    "e_filter_read",
    "e_filter_write",
    "e_ofmap_read",
    "e_ofmap_write",
    "e_dram",  # pJ per byte
    "static_w",  # W
)
HW = {name: i for i, name in enumerate(HW_FIELDS)}
HW_LEN = len(HW_FIELDS)

# --- GEMM row (one per GEMM to evaluate) ----------------------------------------------------------
GEMM_FIELDS: tuple[str, ...] = ("m", "n", "k", "kc", "meta_bits", "repeat", "compat", "sparse")
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
    "bound",
    "latency_s",
    "issued_macs",
    "mapping_efficiency",
    "dram_ifmap_bytes",
    "dram_filter_bytes",
    "dram_ofmap_bytes",
    "dram_bytes",
    "energy_mac",
    "energy_ifmap_sram",
    "energy_filter_sram",
    "energy_ofmap_sram",
    "energy_dram",
    "energy_metadata",
    "energy_mux",
    "energy_static",
    "energy_pj",
)
OUT = {name: i for i, name in enumerate(OUT_FIELDS)}
BOUNDS: tuple[str, ...] = ("compute", "memory", "latency")  # codes of the "bound" field
OUT_LEN = len(OUT_FIELDS)
ENERGY_PARTS: tuple[str, ...] = tuple(
    f[len("energy_") :] for f in OUT_FIELDS if f.startswith("energy_") and f != "energy_pj"
)
