"""Data types the simulator knows and their storage size in bytes."""

from __future__ import annotations

from typing import Literal

DType = Literal["int8", "fp8", "fp16", "bf16", "fp32"]
DTYPES: tuple[str, ...] = ("int8", "fp8", "fp16", "bf16", "fp32")
BYTES_PER_ELEMENT: dict[str, int] = {"int8": 1, "fp8": 1, "fp16": 2, "bf16": 2, "fp32": 4}
# Width of the accumulator / partial sums a PE keeps for each input type (bytes).
ACCUMULATOR_BYTES: dict[str, int] = {"int8": 4, "fp8": 4, "fp16": 4, "bf16": 4, "fp32": 4}


def bytes_per_element(dtype: str) -> int:
    """Bytes one element of ``dtype`` occupies."""
    return BYTES_PER_ELEMENT[dtype]
