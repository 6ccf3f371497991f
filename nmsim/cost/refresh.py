"""Mask work outside the GEMMs: recomputing a mask from |W| (top-N per group) and SR-STE's regularizer.

Neither runs on the systolic array. Both are costed on a vector unit of ``lanes`` comparisons (or
multiply-adds) per cycle next to it — by default one lane per array column per core — and charged
with the hardware's own energy table (docs/recipes_cost.md §4):

* refresh of one weight tensor of ``numel`` values: ``numel·⌈log2 M⌉`` comparisons (a top-N selection
  per group of M, O(numel·log M): docs/references.md#flops-training); for an unstructured mask, a sort
  of the tensor, ``numel·⌈log2 numel⌉``. Traffic: the dense weights read from DRAM (``numel`` × element
  bytes; left out with ``fused_refresh``) and the new mask written back (one bit per weight). Time: the larger of compute and DRAM
  time; energy: comparisons × the MAC energy of the dtype (an upper bound for a compare) + DRAM
  bytes × DRAM energy + static power over the time.
* SR-STE adds λ·Φ̄⊙W to every pruned weight's gradient at every step: ``numel`` multiply-adds on the
  same unit, operands already on chip (no DRAM traffic).
"""

from __future__ import annotations

import math

from nmsim.cost.totals import Cost
from nmsim.dtypes import BYTES_PER_ELEMENT
from nmsim.engine.layout import HW_FIELDS, unpack
from nmsim.engine.params import hw_vector
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sparsity import parse_pattern


def weight_count(layer: Layer) -> int:
    """Number of weights of a layer: k·n per copy, ``repeat`` copies (values)."""
    assert layer.k and layer.n
    return layer.k * layer.n * layer.repeat


def lanes_of(hw: HardwareConfig, lanes: int = 0) -> int:
    """Vector-unit width (ops per cycle): ``lanes`` if positive, else array columns × cores."""
    return lanes if lanes > 0 else hw.array.cols * hw.array.cores


def _vector_cost(
    hw: HardwareConfig, dtype: str | None, ops: int, read_bytes: float, write_bytes: float, lanes: int
) -> Cost:
    """Cost of ``ops`` vector operations with ``read_bytes``/``write_bytes`` of DRAM traffic (bytes)."""
    v = unpack(HW_FIELDS, hw_vector(hw, dtype))
    dram_bytes = read_bytes + write_bytes
    cycles = max(math.ceil(ops / lanes_of(hw, lanes)), math.ceil(dram_bytes / v["dram_bytes_per_cycle"]))
    latency = cycles / v["clock_hz"]
    parts = {
        "mac": ops * v["e_mac"],
        "dram": read_bytes * v["e_dram_read"] + write_bytes * v["e_dram_write"],
        "static": v["static_w"] * latency * 1e12,
    }
    return Cost(
        cycles=cycles,
        latency_s=latency,
        energy_pj=sum(parts.values()),
        energy_breakdown_pj={**Cost().energy_breakdown_pj, **parts},
    )


def refresh_cost(
    layer: Layer, pattern: str, hw: HardwareConfig, lanes: int = 0, read_weights: bool = True
) -> Cost:
    """Cost of recomputing the mask of ``layer``'s weights for ``pattern`` ('n:m' or 'unstructured') once.

    ``read_weights``: the refresh reads the dense weights from DRAM (False: fused with a pass that
    reads them anyway; only the mask write is charged).
    """
    numel = weight_count(layer)
    nm = parse_pattern(pattern).nm
    group = nm.m if nm is not None else numel  # unstructured: one sort over the whole tensor
    ops = numel * max(1, math.ceil(math.log2(group)))
    dtype = layer.dtype or hw.default_dtype
    read = numel * BYTES_PER_ELEMENT[dtype] if read_weights else 0
    return _vector_cost(hw, layer.dtype, ops, read, numel / 8, lanes)


def srste_cost(layer: Layer, hw: HardwareConfig, lanes: int = 0) -> Cost:
    """Cost of SR-STE's per-step regularizer λ·Φ̄⊙W on ``layer``'s weights (one step)."""
    return _vector_cost(hw, layer.dtype, weight_count(layer), 0.0, 0.0, lanes)
