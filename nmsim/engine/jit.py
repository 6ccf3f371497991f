"""The engine's compiler: numba ``njit`` with an on-disk cache (``NMSIM_NO_JIT=1`` runs plain Python).

Every engine function is compiled once and serves both paths: the per-GEMM API calls the compiled
kernel with scalars, the batch evaluator loops the same kernel over arrays of configurations.

numba keys a cached function on its own source file only, so a kernel compiled against an older
``traffic.py`` would be reused after ``traffic.py`` changed. The engine's functions therefore use a
cache locator whose freshness stamp is the hash of every module in ``nmsim/engine``: changing any of
them recompiles all of them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DISABLED = os.environ.get("NMSIM_NO_JIT", "") not in ("", "0")
_ENGINE_DIR = Path(__file__).resolve().parent


def _engine_stamp() -> str:
    digest = hashlib.sha256()
    for path in sorted(_ENGINE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _install_engine_locator() -> bool:
    """Register engine-wide cache locators with numba; False (no caching) if numba's internals differ."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover
        return False
    bases = [getattr(caching, name, None) for name in ("InTreeCacheLocator", "UserWideCacheLocator")]
    impl = getattr(caching, "CacheImpl", None)
    if None in bases or impl is None or not hasattr(impl, "_locator_classes"):
        return False
    stamp = _engine_stamp()

    def engine_locator(base: type) -> type:
        class EngineCacheLocator(base):  # type: ignore[misc, valid-type]
            def get_source_stamp(self) -> str:
                return stamp

            @classmethod
            def from_function(cls, py_func: Any, py_file: str) -> Any:
                if Path(py_file).resolve().parent != _ENGINE_DIR:
                    return None
                return super().from_function(py_func, py_file)

        EngineCacheLocator.__name__ = f"Engine{base.__name__}"
        return EngineCacheLocator

    # next to the sources when writable (a checkout, a venv), else numba's user-wide cache folder;
    # either way stamped with the whole engine's hash, never left to numba's per-file stamps
    ours = [engine_locator(base) for base in bases]
    if not any(c.__name__.startswith("Engine") for c in impl._locator_classes):
        impl._locator_classes = [*ours, *impl._locator_classes]
    return True


_CACHE = not DISABLED and _install_engine_locator()


def jit(func: F) -> F:
    """Compile ``func`` with numba (nopython; cached when safe); identity when ``NMSIM_NO_JIT`` is set."""
    if DISABLED:
        return func
    import numba

    return numba.njit(cache=_CACHE, nogil=True)(func)  # type: ignore[no-any-return]


def jit_parallel(func: F) -> F:
    """Like :func:`jit`, with ``prange`` loops run on all cores."""
    if DISABLED:
        return func
    import numba

    return numba.njit(cache=_CACHE, nogil=True, parallel=True)(func)  # type: ignore[no-any-return]


if DISABLED:
    prange = range
else:
    from numba import prange  # noqa: F401  (re-exported for the kernels)
