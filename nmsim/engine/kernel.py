"""One GEMM's counts: cycles, MACs and data movement, composed from :mod:`folds` and :mod:`traffic`."""

from __future__ import annotations

from typing import NamedTuple

from nmsim.engine.energy import Activity
from nmsim.engine.folds import compute_cycles
from nmsim.engine.params import HwParams
from nmsim.engine.traffic import dram_traffic, filter_reuse, sram_accesses, stall_cycles


class GemmCounts(NamedTuple):
    """Counts for ``repeat`` copies of one GEMM on one hardware mode (cycles, MACs, bytes)."""

    folds: int
    waves: int
    compute_cycles: int
    stall_cycles: int
    issued_macs: int
    dram_ifmap_bytes: int
    dram_filter_bytes: int
    dram_ofmap_bytes: int
    activity: Activity


def gemm_counts(
    hw: HwParams,
    m: int,
    n: int,
    k: int,
    kc: int,
    meta_bits: int,
    repeat: int,
    compat: bool,
    sparse_mode: bool,
) -> GemmCounts:
    """Counts for ``repeat`` GEMMs of m×k activations by k×n weights compacted to ``kc`` rows.

    ``meta_bits`` per kept weight, ``sparse_mode`` when the PEs run an N:M mode (mux active).
    Compat mode (SCALE-Sim) has no stalls, no mux and no metadata.
    """
    mux_extra = hw.mux_extra if (sparse_mode and not compat) else 0
    folds, waves, compute = compute_cycles(
        hw.dataflow, hw.rows, hw.cols, hw.cores, m, n, kc, repeat, compat, mux_extra
    )
    d_if, d_f, d_of, pro, epi = dram_traffic(
        hw.dataflow,
        hw.rows,
        hw.cols,
        m,
        n,
        k,
        kc,
        hw.elem_bytes,
        hw.acc_bytes,
        meta_bits,
        hw.cap_ifmap,
        hw.cap_filter,
        hw.cap_ofmap,
    )
    dram = (d_if + d_f + d_of) * repeat
    stall = 0 if compat else stall_cycles(dram, pro, epi, compute, hw.dram_bytes_per_cycle * 1.0)
    if_rd, f_rd, of_rd, of_wr = sram_accesses(
        hw.dataflow, hw.rows, hw.cols, m, n, k, kc, hw.elem_bytes, hw.acc_bytes
    )
    issued = m * n * kc * repeat
    act = Activity(
        issued_macs=issued,
        mux_selects=issued if (sparse_mode and not compat) else 0,
        metadata_bits=kc * n * meta_bits * filter_reuse(hw.dataflow, hw.rows, hw.cols, m) * repeat,
        ifmap_read=if_rd * repeat,
        ifmap_write=d_if * repeat,
        filter_read=f_rd * repeat,
        filter_write=d_f * repeat,
        ofmap_read=(of_rd + d_of) * repeat,
        ofmap_write=of_wr * repeat,
        dram_bytes=dram,
    )
    return GemmCounts(folds, waves, compute, stall, issued, d_if * repeat, d_f * repeat, d_of * repeat, act)
