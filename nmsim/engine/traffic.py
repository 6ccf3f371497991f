"""Data movement for one GEMM: DRAM ↔ SRAM bytes, SRAM ↔ array accesses, and memory stall cycles.

Operands (bytes): activations ``A = M·K·b`` (ifmap), weights ``W = K′·N·b`` plus metadata
(filter), output ``O = M·N·b`` (ofmap); partial sums are ``acc`` bytes wide.

Tiling follows the fold loop of each dataflow (outer loop first):

- ws: column folds (N) outer, row folds (K′) inner. Weights are read from DRAM once. Activations are
  needed once per column fold: read once if they fit the ifmap buffer, else once per column fold.
  Partial sums for an M×C slice stay in the ofmap buffer across row folds if they fit, else spill
  (written and read back once per extra row fold).
- os: row folds (M) outer, column folds (N) inner. An R×K activation tile is reused across column
  folds (read once if it fits); the weights are re-read per row fold unless they fit the filter buffer.
  Outputs leave once.
- is: column folds (M) outer, row folds (K′) inner. Activations are read once; the weights once per
  column fold unless they fit; C×N partial sums spill like ws.

A buffer's usable capacity is half its size when double-buffered (one half fills while the other
serves the array). Stalls: DRAM traffic overlaps compute except two exposed transfers: the first
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
    Capacities are usable bytes per buffer.
    """
    a = m * k * elem_bytes
    w = kc * n * elem_bytes + ceil_div(kc * n * meta_bits, 8)
    o = m * n * elem_bytes
    if dataflow == WS:
        row_folds, col_folds = ceil_div(kc, rows), ceil_div(n, cols)
        ifmap = a if a <= cap_ifmap else a * col_folds
        spill = 0 if m * min(n, cols) * acc_bytes <= cap_ofmap else 2 * (row_folds - 1) * m * n * acc_bytes
        ofmap = o + spill
        prologue = ceil_div(min(kc, rows) * min(n, cols) * (8 * elem_bytes + meta_bits), 8)
        epilogue = 0
        filt = w
    elif dataflow == OS:
        row_folds = ceil_div(m, rows)
        ifmap = a if min(m, rows) * k * elem_bytes <= cap_ifmap else a * ceil_div(n, cols)
        filt = w if w <= cap_filter else w * row_folds
        ofmap = o
        prologue = 0
        epilogue = min(m, rows) * min(n, cols) * elem_bytes
    else:  # IS
        row_folds, col_folds = ceil_div(kc, rows), ceil_div(m, cols)
        ifmap = a
        filt = w if w <= cap_filter else w * col_folds
        spill = 0 if min(m, cols) * n * acc_bytes <= cap_ofmap else 2 * (row_folds - 1) * m * n * acc_bytes
        ofmap = o + spill
        prologue = min(k, ceil_div(rows * k, kc)) * min(m, cols) * elem_bytes
        epilogue = 0
    return ifmap, filt, ofmap, prologue, epilogue


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
