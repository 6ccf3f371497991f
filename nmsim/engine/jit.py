"""The engine's compiler: numba ``njit`` with an on-disk cache (``NMSIM_NO_JIT=1`` runs plain Python).

Every engine function is compiled once and serves both paths: the per-GEMM API calls the compiled
kernel with scalars, the batch evaluator loops the same kernel over arrays of configurations.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DISABLED = os.environ.get("NMSIM_NO_JIT", "") not in ("", "0")


def jit(func: F) -> F:
    """Compile ``func`` with numba (nopython, cached); identity when ``NMSIM_NO_JIT`` is set."""
    if DISABLED:
        return func
    import numba

    return numba.njit(cache=True, nogil=True)(func)  # type: ignore[no-any-return]


def jit_parallel(func: F) -> F:
    """Like :func:`jit`, with ``prange`` loops run on all cores."""
    if DISABLED:
        return func
    import numba

    return numba.njit(cache=True, nogil=True, parallel=True)(func)  # type: ignore[no-any-return]


if DISABLED:
    prange = range
else:
    from numba import prange  # noqa: F401  (re-exported for the kernels)
