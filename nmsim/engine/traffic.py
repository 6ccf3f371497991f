"""Data movement for one GEMM: DRAM ↔ SRAM bytes, SRAM ↔ array accesses, and memory stall cycles.

Operands (bytes): activations ``A = M·K·b`` (ifmap), weights ``W = K′·N·b`` plus metadata
(filter), output ``O = M·N·b`` (ofmap); partial sums are ``acc`` bytes wide.

DRAM level (all dataflows): the output is blocked into Mb×Nb tiles whose partial sums stay in the
ofmap buffer; for each tile, K streams through in chunks of one fold's rows, so activations are read
⌈N/Nb⌉ times and weights ⌈M/Mb⌉ times — once if the operand fits its buffer whole. The block that
minimises DRAM bytes under the three buffers' capacities is chosen (powers of two and the full dims
are tried): a small, exhaustive mapper for the outer loops. Outputs leave once.

A buffer's usable capacity is half its size when double-buffered (one half fills while the other
serves the array). Stalls: DRAM traffic overlaps compute except two exposed transfers: the first
stationary tile must be in the array before anything computes (prologue: the R×C weight tile with
its metadata for ws, the activation tile for is, nothing for os, whose operands both stream), and
os accumulators drain their last R×C outputs after the last fold (epilogue; ws/is outputs stream
out during compute, their drain skew is already in the compute cycles). The remaining traffic
stalls the array by whatever its transfer time exceeds the compute time.
"""

from __future__ import annotations

import numpy as np

from nmsim.engine.folds import IS, OS, WS, ceil_div
from nmsim.engine.jit import jit


@jit
def _block_candidates(dim: int) -> np.ndarray:
    """Block sizes tried for one GEMM dim: powers of two below it, and the dim itself."""
    count = 1
    b = 1
    while b < dim:
        count += 1
        b *= 2
    out = np.empty(count, dtype=np.int64)
    b = 1
    for i in range(count - 1):
        out[i] = b
        b *= 2
    out[count - 1] = dim
    return out


@jit
def dram_traffic(
    dataflow: int,
    rows: int,
    cols: int,
    m: int,
    n: int,
    k: int,
    kc: int,
    elem_bytes: int,
    acc_bytes: int,
    meta_bits: int,
    cap_ifmap: float,
    cap_filter: float,
    cap_ofmap: float,
) -> tuple[int, int, int, int, int]:
    """(ifmap, filter, ofmap, prologue, epilogue) DRAM bytes; filter bytes include metadata.

    ``k`` is the dense reduction length, ``kc`` the compacted one, ``meta_bits`` per kept weight.
    Capacities are usable bytes per buffer. The output is blocked into Mb×Nb tiles whose partial sums
    stay in the ofmap buffer while K streams through in chunks of one fold's rows; the block minimising
    DRAM traffic is chosen (an operand that fits its buffer whole is read once).
    """
    a = m * k * elem_bytes
    w = kc * n * elem_bytes + ceil_div(kc * n * meta_bits, 8)
    o = m * n * elem_bytes
    a_fits = a <= cap_ifmap
    w_fits = w <= cap_filter
    kb = min(kc, rows)  # compacted K rows per chunk
    kb_dense = min(k, ceil_div(kb * k, kc))  # activation columns a chunk needs
    best_a = a * n
    best_w = w * m
    best = best_a + best_w
    if a_fits and w_fits:
        best_a, best_w = a, w
    n_blocks = _block_candidates(n)
    for mb in _block_candidates(m):
        if (a_fits and w_fits) or (not a_fits and mb * kb_dense * elem_bytes > cap_ifmap):
            break
        for nb in n_blocks:
            if mb * nb * acc_bytes > cap_ofmap:
                break
            if not w_fits and ceil_div(kb * nb * (8 * elem_bytes + meta_bits), 8) > cap_filter:
                break
            ta = a if a_fits else a * ceil_div(n, nb)
            tw = w if w_fits else w * ceil_div(m, mb)
            if ta + tw < best:
                best, best_a, best_w = ta + tw, ta, tw
    if dataflow == WS:
        prologue = ceil_div(min(kc, rows) * min(n, cols) * (8 * elem_bytes + meta_bits), 8)
        epilogue = 0
    elif dataflow == OS:
        prologue = 0
        epilogue = min(m, rows) * min(n, cols) * elem_bytes
    else:  # IS
        prologue = min(k, ceil_div(rows * k, kc)) * min(m, cols) * elem_bytes
        epilogue = 0
    return best_a, best_w, o, prologue, epilogue


@jit
def sram_accesses(
    dataflow: int,
    rows: int,
    cols: int,
    m: int,
    n: int,
    k: int,
    kc: int,
    elem_bytes: int,
    acc_bytes: int,
) -> tuple[int, int, int, int]:
    """Bytes the array reads from / writes to the SRAMs: (ifmap read, filter read, ofmap read, ofmap write).

    Activations are read at the full K (a sparse PE's mux needs every candidate of its group); weights
    at the compacted K′ (metadata is counted apart). Partial sums make ofmap read-modify-writes.
    """
    if dataflow == WS:
        reuse_a, reuse_w, k_passes = ceil_div(n, cols), 1, ceil_div(kc, rows)
    elif dataflow == OS:
        reuse_a, reuse_w, k_passes = ceil_div(n, cols), ceil_div(m, rows), 1
    else:
        reuse_a, reuse_w, k_passes = 1, ceil_div(m, cols), ceil_div(kc, rows)
    ifmap_rd = m * k * elem_bytes * reuse_a
    filter_rd = kc * n * elem_bytes * reuse_w
    ofmap_rd = m * n * acc_bytes * (k_passes - 1)
    ofmap_wr = m * n * acc_bytes * (k_passes - 1) + m * n * elem_bytes
    return ifmap_rd, filter_rd, ofmap_rd, ofmap_wr


@jit
def filter_reuse(dataflow: int, rows: int, cols: int, m: int) -> int:
    """How many times each weight (and its metadata) is read from the filter SRAM."""
    if dataflow == OS:
        return ceil_div(m, rows)
    if dataflow == IS:
        return ceil_div(m, cols)
    return 1


@jit
def stall_cycles(dram_bytes: int, prologue: int, epilogue: int, compute: int, bytes_per_cycle: float) -> int:
    """Cycles the array waits for DRAM, with double buffering (see module docstring)."""
    prologue = min(prologue, dram_bytes)
    epilogue = min(epilogue, dram_bytes - prologue)
    steady = dram_bytes - prologue - epilogue
    exposed = -(-prologue // bytes_per_cycle) + -(-epilogue // bytes_per_cycle)
    return int(exposed + max(0.0, -(-steady // bytes_per_cycle) - compute))


__all__ = ["IS", "OS", "WS", "dram_traffic", "filter_reuse", "sram_accesses", "stall_cycles"]
