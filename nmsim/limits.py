"""Every bound nmsim puts on its inputs, in one place, and the pydantic types that apply them.

The engine counts cycles, MACs and bytes in 64-bit integers and carries its results in float64, which
is exact only up to 2**53. The bounds below make every count a simulation can produce stay under
:data:`MAX_COUNT` (2**51) and keep every loop finite; each is stated in the error a user gets, and
``docs/limits.md`` gives the reason for each and what it admits (every shipped and zoo trace, the
training library's structures).
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from nmsim.errors import NmsimInputError

# ----------------------------------------------------------------------------- workload sizes
MAX_DIM = 2**24
"""Largest GEMM dimension (m, n, k) and conv extent: 16,777,216 (zoo's largest: n = 37,000)."""
MAX_REPEAT = 2**16
"""Largest ``repeat`` of a layer (identical copies, e.g. heads × batch): 65,536 (zoo: 256)."""
MAX_MACS = 2**45
"""Largest m·n·k·repeat of one layer: 3.5e13 MACs (zoo's largest layer: 2.7e11 = 2**38)."""
MAX_LAYERS = 2**11
"""Most layers in one trace: 2,048 (zoo's largest: 289)."""
MAX_COUNT = 2**51
"""Largest cycle, MAC, byte or step count any result may hold (float64 is exact to 2**53)."""

# ----------------------------------------------------------------------------- N:M patterns
MAX_M_IN_NM = 2**12
"""Largest M of an N:M pattern, a hardware mode, a mask-statistics block: 4,096. SDGF-geometric starts
at k·M (default k = 16): 16:512 for a 1:32 target, 16:2048 for 1:128 (the largest M shipped)."""
MAX_NM_DIGITS = 12
"""Most digits in an integer read from text: either number of an 'n:m' string, a CSV cell (refused
before ``int()`` parses it)."""

# ----------------------------------------------------------------------------- hardware
MAX_ARRAY_DIM = 2**16
"""Largest array rows or cols: 65,536 (shipped: 128)."""
MAX_CORES = 2**16
"""Most arrays on a chip (cores) and folds per tile (tile_folds): 65,536 (H200: 132 SMs)."""
MAX_BUFFER_KB = 2.0**30
"""Largest SRAM buffer: 2**30 KiB = 1 TiB."""
MIN_RATE, MAX_RATE = 1e-6, 1e9
"""Clock (GHz) and DRAM bandwidth (GB/s) lie in [1e-6, 1e9]: their ratio bounds stall cycles."""
MIN_EFFICIENCY = 1e-3
"""Smallest fraction of peak (array or sparse efficiency): 0.1 %."""
MAX_OVERHEAD_US = 1e9
"""Largest fixed overhead per GEMM (launch, sparse extra): 1e9 µs = 1000 s."""
MAX_OVERHEAD_CYCLES = 2.0**40
"""Largest per-wave tile overhead (cycles)."""
MAX_PER_PE = 2**10
"""Largest MACs per PE per cycle along K, mux pipeline stages and metadata bits per value: 1,024."""
MAX_ENERGY_PJ = 1e12
"""Largest single energy-table entry: 1e12 pJ = 1 J per event."""
MAX_WATTS = 1e6
"""Largest static power (W)."""
MAX_NODE_NM = 1e4
"""Largest technology node (nm)."""

# ----------------------------------------------------------------------------- documents and files
MAX_DOC_DEPTH = 64
"""Deepest nesting of a JSON/YAML document (shipped files: 6 levels)."""
MAX_DOC_BYTES = 64 * 2**20
"""Largest JSON/YAML document: 64 MiB (largest shipped trace: 68 KB)."""
MAX_DOC_NODES = 2_000_000
"""Most values (counting every YAML alias use) in one document."""
MAX_CSV_FIELD = 2**17
"""Longest field in a CSV file: 131,072 characters (Python's csv default)."""
MAX_ONNX_BYTES = 2**31
"""Largest ONNX file read: 2 GiB (protobuf's own limit)."""

# ----------------------------------------------------------------------------- runs
MAX_STEPS = 2**24
"""Most optimizer steps of a training run or recipe: 16,777,216 (shipped grid: 1,500)."""
MAX_BATCH = 2**16
"""Largest training batch (sentence pairs per step)."""
MAX_SEEDS = 2**10
"""Most seeds (and patterns) in one training grid."""
MAX_SEED = 2**32 - 1
"""Largest seed (numpy's and torch's generators take 32-bit seeds)."""
MAX_WORKERS = 2**10
"""Most worker processes or threads: 1,024."""
MAX_SWEEP_POINTS = 2**24
"""Most points in one sweep (traces × patterns × configs × parameter values): 16,777,216."""
MAX_LR = 1e3
"""Largest learning rate."""
MAX_LABELS = 2**10
"""Most layers a plot labels."""
MAX_LANES = 2**32
"""Most mask-unit operations per cycle (``recipes --refresh-lanes``)."""

# ----------------------------------------------------------------------------- pydantic types
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
"""Any finite float (NaN and ±inf refused)."""
Dim = Annotated[int, Field(ge=1, le=MAX_DIM)]
"""A GEMM dimension or conv extent: 1 … :data:`MAX_DIM`."""
Repeat = Annotated[int, Field(ge=1, le=MAX_REPEAT)]
"""A layer's repeat count: 1 … :data:`MAX_REPEAT`."""
PatternM = Annotated[int, Field(ge=1, le=MAX_M_IN_NM)]
"""An M (group size, block): 1 … :data:`MAX_M_IN_NM`."""
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
"""A non-negative count (histogram entries, steps …): 0 … :data:`MAX_COUNT`."""
PosCount = Annotated[int, Field(ge=1, le=MAX_COUNT)]
"""A positive count: 1 … :data:`MAX_COUNT`."""
Steps = Annotated[int, Field(ge=1, le=MAX_STEPS)]
"""A positive number of training steps: 1 … :data:`MAX_STEPS`."""
Step = Annotated[int, Field(ge=0, le=MAX_STEPS)]
"""A step index: 0 … :data:`MAX_STEPS`."""
ArrayDim = Annotated[int, Field(ge=1, le=MAX_ARRAY_DIM)]
"""Array rows or cols: 1 … :data:`MAX_ARRAY_DIM`."""
Cores = Annotated[int, Field(ge=1, le=MAX_CORES)]
"""Arrays per chip or folds per tile: 1 … :data:`MAX_CORES`."""
PerPE = Annotated[int, Field(ge=1, le=MAX_PER_PE)]
"""A small per-PE count (MACs per cycle, metadata bits): 1 … :data:`MAX_PER_PE`."""
PipeStages = Annotated[int, Field(ge=0, le=MAX_PER_PE)]
"""Extra pipeline cycles: 0 … :data:`MAX_PER_PE`."""
Rate = Annotated[float, Field(ge=MIN_RATE, le=MAX_RATE, allow_inf_nan=False)]
"""A clock (GHz) or bandwidth (GB/s): :data:`MIN_RATE` … :data:`MAX_RATE`."""
BufferKB = Annotated[float, Field(gt=0, le=MAX_BUFFER_KB, allow_inf_nan=False)]
"""An SRAM buffer size (KiB): above 0, at most :data:`MAX_BUFFER_KB`."""
Efficiency = Annotated[float, Field(ge=MIN_EFFICIENCY, le=1, allow_inf_nan=False)]
"""A fraction of peak: :data:`MIN_EFFICIENCY` … 1."""
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""A fraction: 0 … 1."""
Density = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
"""A density (fraction of kept values): above 0, at most 1."""
OverheadUs = Annotated[float, Field(ge=0, le=MAX_OVERHEAD_US, allow_inf_nan=False)]
"""A fixed overhead (µs): 0 … :data:`MAX_OVERHEAD_US`."""
OverheadCycles = Annotated[float, Field(ge=0, le=MAX_OVERHEAD_CYCLES, allow_inf_nan=False)]
"""An overhead in cycles: 0 … :data:`MAX_OVERHEAD_CYCLES`."""
EnergyPJ = Annotated[float, Field(ge=0, le=MAX_ENERGY_PJ, allow_inf_nan=False)]
"""An energy per event (pJ): 0 … :data:`MAX_ENERGY_PJ`."""
Watts = Annotated[float, Field(ge=0, le=MAX_WATTS, allow_inf_nan=False)]
"""A static power (W): 0 … :data:`MAX_WATTS`."""
NodeNm = Annotated[float, Field(gt=0, le=MAX_NODE_NM, allow_inf_nan=False)]
"""A technology node (nm): above 0, at most :data:`MAX_NODE_NM`."""
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite float above 0."""


# ----------------------------------------------------------------------------- checks
def check_int(field: str, value: object, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi], else one :class:`NmsimInputError` naming ``field`` and the range."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise NmsimInputError(field, f"an integer from {lo} to {hi:,}", _short(value))
    return value


def check_float(
    field: str, value: object, lo: float | None = None, hi: float | None = None, *, low_open: bool = False
) -> float:
    """``value`` as a finite float in [lo, hi] (``(lo, hi]`` with ``low_open``), else one error line."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (lo is None or (v > lo if low_open else v >= lo)) and (hi is None or v <= hi)
    if not ok:
        lo_s = "" if lo is None else (f"above {lo:g}" if low_open else f"at least {lo:g}")
        hi_s = "" if hi is None else f"at most {hi:g}"
        rng = " and ".join(s for s in (lo_s, hi_s) if s)
        raise NmsimInputError(field, "a finite number" + (f", {rng}" if rng else ""), _short(value))
    return float(value)  # type: ignore[arg-type]


def check_product(
    factors: dict[str, int], limit: int = MAX_MACS, limit_name: str = "MAX_MACS", field: str | None = None
) -> int:
    """The product of ``factors`` (name → value), refused above ``limit`` naming the factors and limit."""
    total = math.prod(factors.values())
    if total > limit:
        raise NmsimInputError(
            field or "·".join(factors), f"at most 2**{limit.bit_length() - 1} ({limit_name})", total
        )
    return total


def _short(value: object) -> object:
    text = repr(value)
    return text[:40] + "…" if len(text) > 40 else value
