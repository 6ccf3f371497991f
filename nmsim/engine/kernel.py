"""One GEMM's cost, compiled: cycles, MACs, data movement and energy from the hardware vector.

:func:`evaluate_gemm` is the single kernel; :func:`evaluate_rows` runs it over many (hardware,
GEMM) pairs in parallel and returns exactly the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from nmsim.engine.folds import ceil_div, compute_cycles, mapping_efficiency
from nmsim.engine.jit import jit, jit_parallel, prange
from nmsim.engine.layout import GEMM_LEN, HW, OUT_LEN
from nmsim.engine.traffic import dram_traffic, filter_reuse, sram_accesses, stall_cycles

# Compile-time constants (numba freezes module-level ints).
_DF, _R, _C, _CORES, _CLK = HW["dataflow"], HW["rows"], HW["cols"], HW["cores"], HW["clock_hz"]
_EB, _AB, _CIF, _CF, _COF = (
    HW["elem_bytes"],
    HW["acc_bytes"],
    HW["cap_ifmap"],
    HW["cap_filter"],
    HW["cap_ofmap"],
)
_BPC, _MUXC, _KPP = HW["dram_bytes_per_cycle"], HW["mux_extra"], HW["k_per_pe"]
_EFF, _SEFF, _TILE = HW["efficiency"], HW["sparse_efficiency"], HW["tile_folds"]
_OVH, _SOVH = HW["overhead_cycles"], HW["sparse_overhead_cycles"]
_TOVH, _SPLITK = HW["tile_overhead_cycles"], HW["split_k"]
_EMAC, _EMUX, _EMETA = HW["e_mac"], HW["e_mux"], HW["e_metadata_bit"]
_EIR, _EIW, _EFR, _EFW = HW["e_ifmap_read"], HW["e_ifmap_write"], HW["e_filter_read"], HW["e_filter_write"]
_EOR, _EOW, _EDRAM, _STATIC = HW["e_ofmap_read"], HW["e_ofmap_write"], HW["e_dram"], HW["static_w"]


@jit
def evaluate_gemm(
    hw: np.ndarray,
    m: int,
    n: int,
    k: int,
    kc: int,
    meta_bits: int,
    repeat: int,
    compat: bool,
    sparse: bool,
) -> np.ndarray:
    """Cost of ``repeat`` GEMMs (m×k activations · k×n weights compacted to ``kc`` rows).

    ``meta_bits`` per kept weight; ``sparse`` when the PEs run an N:M mode (mux active). Compat mode
    (SCALE-Sim) has no stalls, no mux and no metadata cost. Returns the result vector laid out as
    :data:`nmsim.engine.layout.OUT_FIELDS` (cycles, s, MACs, bytes, pJ).
    """
    df, rows, cols, cores = int(hw[_DF]), int(hw[_R]), int(hw[_C]), int(hw[_CORES])
    eb, ab = int(hw[_EB]), int(hw[_AB])
    mux_on = sparse and not compat
    mux_extra = int(hw[_MUXC]) if mux_on else 0
    meta = 0 if compat else meta_bits
    k_steps = ceil_div(kc, int(hw[_KPP]))  # a PE may do several MACs per cycle along K
    eff = 1.0 if compat else (hw[_SEFF] if sparse else hw[_EFF])
    overhead = 0 if compat else int(hw[_OVH] + (hw[_SOVH] if sparse else 0.0))

    folds, waves, work, fixed = compute_cycles(
        df, rows, cols, cores, m, n, k_steps, repeat, compat, mux_extra, int(hw[_TILE]), eff,
        hw[_TOVH], int(hw[_SPLITK]),
    )  # fmt: skip
    fixed += overhead
    compute = work + fixed
    d_if, d_f, d_of, pro, epi = dram_traffic(
        df, rows, cols, m, n, k, kc, eb, ab, meta, hw[_CIF], hw[_CF], hw[_COF]
    )
    dram = (d_if + d_f + d_of) * repeat
    stall = 0 if compat else stall_cycles(dram, pro, epi, compute, hw[_BPC])
    memory = math.ceil(dram / hw[_BPC])
    exposed = math.ceil((min(pro, dram) + epi) / hw[_BPC])
    # what the GEMM is bound by: fold work, DRAM transfer, or fixed latency (fill, launch, first tile)
    bound = 0
    if not compat:
        if memory > work and memory > fixed + exposed:
            bound = 1
        elif fixed + exposed > work:
            bound = 2
    if_rd, f_rd, of_rd, of_wr = sram_accesses(df, rows, cols, m, n, k, kc, eb, ab)
    issued = float(m) * n * kc * repeat
    cycles = compute + stall
    latency = cycles / hw[_CLK]

    e_mac = issued * hw[_EMAC]
    e_if = (float(if_rd) * hw[_EIR] + float(d_if) * hw[_EIW]) * repeat
    e_f = (float(f_rd) * hw[_EFR] + float(d_f) * hw[_EFW]) * repeat
    e_of = (float(of_rd + d_of) * hw[_EOR] + float(of_wr) * hw[_EOW]) * repeat
    e_dram = float(dram) * hw[_EDRAM]
    e_meta = float(kc) * n * meta * filter_reuse(df, rows, cols, m) * repeat * hw[_EMETA]
    e_mux = issued * hw[_EMUX] if mux_on else 0.0
    e_static = hw[_STATIC] * latency * 1e12
    energy = e_mac + e_if + e_f + e_of + e_dram + e_meta + e_mux + e_static
    # Order: nmsim.engine.layout.OUT_FIELDS; tests/core/test_gemm_model.py checks each field by value.
    return np.array(
        (
            float(folds),
            float(waves),
            float(compute),
            float(stall),
            float(cycles),
            float(work),
            float(fixed),
            float(memory),
            float(bound),
            latency,
            issued,
            mapping_efficiency(df, rows, cols, m, n, k_steps),
            float(d_if * repeat),
            float(d_f * repeat),
            float(d_of * repeat),
            float(dram),
            e_mac,
            e_if,
            e_f,
            e_of,
            e_dram,
            e_meta,
            e_mux,
            e_static,
            energy,
        )
    )


@jit_parallel
def evaluate_rows(hw_table: np.ndarray, hw_index: np.ndarray, gemms: np.ndarray) -> np.ndarray:
    """:func:`evaluate_gemm` for every row: ``gemms[i]`` (layout ``GEMM_FIELDS``) on ``hw_table[hw_index[i]]``."""
    count = gemms.shape[0]
    out = np.empty((count, OUT_LEN))
    for i in prange(count):
        g = gemms[i]
        out[i] = evaluate_gemm(
            hw_table[hw_index[i]],
            int(g[0]),
            int(g[1]),
            int(g[2]),
            int(g[3]),
            int(g[4]),
            int(g[5]),
            g[6] != 0.0,
            g[7] != 0.0,
        )
    return out


assert GEMM_LEN == 8
