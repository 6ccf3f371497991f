"""Where chunks of sweep points run: in this process, in a local process pool, or on a Dask cluster.

Every backend runs the same task, :func:`nmsim.explore.batch.evaluate_chunk`, on whole points (a
point's layers are never split), so results do not depend on the backend or the chunking.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

import numpy as np

from nmsim.errors import NmsimInputError
from nmsim.explore.batch import ChunkStats, evaluate_chunk
from nmsim.explore.plan import SweepPlan

ChunkOut = tuple[dict[str, np.ndarray], ChunkStats]
INLINE_BELOW_ROWS = 2_000_000
"""With scheduler 'processes', sweeps of fewer layer×config rows run in this process: starting a
pool (a second or so per worker: imports, loading the compiled kernel) would cost more than it saves."""

_WORKER_PLAN: SweepPlan | None = None


def _init_worker(plan: SweepPlan, threads: int) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except ImportError:  # NMSIM_NO_JIT without numba
        pass


def _pool_task(ids: np.ndarray) -> ChunkOut:
    assert _WORKER_PLAN is not None, "worker not initialised"
    return evaluate_chunk(_WORKER_PLAN, ids)


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_inline(plan: SweepPlan, chunks: list[np.ndarray]) -> Iterator[ChunkOut]:
    """Evaluate chunks one after another here (the kernel itself uses every core)."""
    for ids in chunks:
        yield evaluate_chunk(plan, ids)


def run_processes(plan: SweepPlan, chunks: list[np.ndarray], workers: int) -> Iterator[ChunkOut]:
    """Evaluate chunks in a pool of ``workers`` fresh processes (spawned: safe with numba threads)."""
    threads = max(1, cpu_count() // workers)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(plan, threads),
    )
    try:
        yield from _drain(pool.submit, _pool_task, chunks, 2 * workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _drain(
    submit: Callable[..., Future[Any]], task: Callable[..., ChunkOut], chunks: list[np.ndarray], window: int
) -> Iterator[ChunkOut]:
    """Keep ``window`` chunks in flight; yield each result as it finishes."""
    pending: set[Future[Any]] = set()
    todo = iter(chunks)
    for ids in todo:
        pending.add(submit(task, ids))
        if len(pending) >= window:
            break
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            nxt = next(todo, None)
            if nxt is not None:
                pending.add(submit(task, nxt))
            yield fut.result()


def connect(scheduler: str) -> Any:
    """A ``distributed.Client`` for ``tcp://HOST:PORT`` (or any Dask scheduler address)."""
    try:
        from distributed import Client
    except ImportError:
        raise NmsimInputError(
            "--scheduler", "a Dask address needs the 'explore' extra: pip install 'nmsim[explore]'", scheduler
        ) from None
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise NmsimInputError(
            "--scheduler", f"no Dask scheduler answers there ({type(exc).__name__})", scheduler
        ) from None


def run_dask(plan: SweepPlan, chunks: list[np.ndarray], client: Any) -> Iterator[ChunkOut]:
    """Evaluate chunks on a Dask cluster; the plan is sent to every worker once."""
    from distributed import as_completed

    plan_ref = client.scatter(plan, broadcast=True, hash=False)
    futures = [client.submit(evaluate_chunk, plan_ref, ids, pure=False) for ids in chunks]
    try:
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.cancel([f for f in futures if not f.done()])


def run_chunks(
    plan: SweepPlan,
    chunks: list[np.ndarray],
    scheduler: str = "processes",
    client: Any = None,
    workers: int | None = None,
    rows_hint: int = 0,
) -> Iterator[ChunkOut]:
    """Results of ``chunks`` as they finish (any order), on the chosen backend.

    ``scheduler``: ``'processes'`` (default: a local pool of ``workers`` processes, or this
    process for a sweep of fewer than :data:`INLINE_BELOW_ROWS` layer rows), ``'inline'`` (this
    process), or a Dask scheduler address ``tcp://HOST:PORT``. A ``client`` (``distributed.Client``)
    overrides ``scheduler``.
    """
    if client is not None:
        yield from run_dask(plan, chunks, client)
        return
    if "://" in scheduler:
        own = connect(scheduler)
        try:
            yield from run_dask(plan, chunks, own)
        finally:
            own.close()
        return
    if scheduler not in ("processes", "inline"):
        raise NmsimInputError(
            "--scheduler", "'processes', 'inline' or a Dask address tcp://HOST:PORT", scheduler
        )
    n = workers if workers is not None else cpu_count()
    if n < 1:
        raise NmsimInputError("--workers", "at least 1", n)
    small = workers is None and rows_hint < INLINE_BELOW_ROWS
    if scheduler == "inline" or n == 1 or len(chunks) < 2 or small:
        yield from run_inline(plan, chunks)
    else:
        yield from run_processes(plan, chunks, min(n, len(chunks)))
