"""Data movement for one GEMM: SRAM ↔ array accesses and the DRAM transfers that cannot overlap compute.

(The DRAM traffic itself, which depends on the tiling, is the mapper's: :mod:`nmsim.engine.mapper`.)

Operands (bytes): activations ``A = M·K·b`` (ifmap), weights ``W = K′·N·b`` plus metadata
(filter), output ``O = M·N·b`` (ofmap); partial sums are ``acc`` bytes wide.

Stalls (:func:`nmsim.engine.mapper.stall_cycles`): DRAM traffic overlaps compute except two exposed transfers: the first
stationary tile must be in the array before anything computes (prologue: the R×C weight tile with
its metadata for ws, the activation tile for is, nothing for os, whose operands both stream), and
os accumulators drain their last R×C outputs after the last fold (epilogue; ws/is outputs stream
out during compute, their drain skew is already in the compute cycles). The remaining traffic
stalls the array by whatever its transfer time exceeds the compute time.
"""

from __future__ import annotations

from nmsim.engine.folds import IS, OS, WS, ceil_div
from nmsim.engine.jit import jit


@jit
def exposed_bytes(
    dataflow: int,
    rows: int,
    cols: int,
    m: int,
    n: int,
    kb: int,
    kbd: int,
    elem_bytes: int,
    meta_bits: int,
    a_resident: bool,
    o_resident: bool,
    w_resident: bool = False,
) -> tuple[int, int]:
    """(prologue, epilogue) DRAM bytes that cannot overlap compute (see the module docstring).

    ``kb``: compacted K rows one fold holds (the first weight tile of ws has kb rows); ``kbd``: the
    activation columns they need (the first activation tile of is). A resident input or second operand
    (already on chip) has no prologue; a resident output no epilogue.
    """  # fmt: skip
    prologue, epilogue = 0, 0
    if dataflow == WS:
        if not w_resident:
            prologue = ceil_div(kb * min(n, cols) * (8 * elem_bytes + meta_bits), 8)
    elif dataflow == OS:
        if not o_resident:
            epilogue = min(m, rows) * min(n, cols) * elem_bytes
    elif not a_resident:  # IS
        prologue = kbd * min(m, cols) * elem_bytes
    return prologue, epilogue


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
    k_rows: int,
    weights_per_pe: int,
) -> tuple[int, int, int, int]:
    """Bytes the array reads from / writes to the SRAMs: (ifmap read, filter read, ofmap read, ofmap write).

    Activations are read at the full K (a sparse PE's mux needs every candidate of its group); weights
    at the compacted K′ (metadata is counted apart). Partial sums make ofmap read-modify-writes, once
    per pass of K through the array: ``k_rows`` rows of K fold onto the array's rows (K′, or K when a
    sparse layer runs the dense schedule), each PE reducing ``weights_per_pe`` of them in place.
    """
    k_passes = ceil_div(k_rows, rows * weights_per_pe)
    if dataflow == WS:
        reuse_a, reuse_w = ceil_div(n, cols), 1
    elif dataflow == OS:
        reuse_a, reuse_w, k_passes = ceil_div(n, cols), ceil_div(m, rows), 1
    else:
        reuse_a, reuse_w = 1, ceil_div(m, cols)
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


__all__ = ["IS", "OS", "WS", "exposed_bytes", "filter_reuse", "sram_accesses"]
