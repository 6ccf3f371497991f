"""A notice while numba compiles the engine on first use (after install or an engine upgrade).

The engine's kernels are compiled once and cached on disk (:mod:`nmsim.engine.jit`); the first
command that simulates anything spends ~20 s compiling them, which would otherwise look like a hang.
Commands that run the engine check the cache first and, when it is cold, say so on stderr (with a
spinner on a terminal) while the kernels compile.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

ENGINE_COMMANDS = frozenset({"gemm", "simulate", "sweep", "frontier", "recipes", "plot", "calibrate"})
NOTICE = "compiling the simulation engine for its first use (once, about 20 s)"


def _dispatchers(names: tuple[str, ...]) -> list[Any]:
    from nmsim.engine import kernel

    return [f for f in (getattr(kernel, name, None) for name in names) if f is not None]


def engine_is_cached(names: tuple[str, ...] = ("evaluate_gemm",)) -> bool:
    """True when the engine kernels ``names`` have a fresh compiled copy on disk (or JIT is off)."""
    from nmsim.engine.jit import DISABLED

    if DISABLED:
        return True
    try:
        for fn in _dispatchers(names):
            if fn.signatures:
                continue
            cache = getattr(fn, "_cache", None)
            index = cache._cache_file._load_index() if cache is not None else {}  # numba internals
            if not index:
                return False
    except Exception:  # numba internals differ: assume compiled, say nothing
        return True
    return True


def warm_engine(command: str | None = None) -> None:
    """Compile the per-GEMM kernel now, under a notice on stderr, if its cache is cold; a sweep's batch
    kernel compiles when the sweep first runs it, so for ``sweep`` the notice says so beforehand."""
    if command == "sweep" and not engine_is_cached(("evaluate_rows",)):
        typer.echo(NOTICE + " …", err=True)
        return
    if engine_is_cached():
        return
    import nmsim
    from nmsim.io.registry import DEFAULT_HARDWARE

    hw = nmsim.load_hardware(DEFAULT_HARDWARE)
    if sys.stderr.isatty():
        from rich.console import Console

        with Console(stderr=True).status(NOTICE + " …"):
            nmsim.simulate_gemm(8, 8, 8, hw)
    else:
        typer.echo(NOTICE + " …", err=True)
        nmsim.simulate_gemm(8, 8, 8, hw)


def register(app: typer.Typer) -> None:
    """Run :func:`warm_engine` before the commands that simulate."""

    @app.callback()
    def _before(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand in ENGINE_COMMANDS and not ctx.resilient_parsing:
            warm_engine(ctx.invoked_subcommand)
