"""Which hardware mode a layer's weights run in, and their compacted reduction length."""

from __future__ import annotations

from dataclasses import dataclass

from nmsim.schemas.hardware import HardwareConfig
from nmsim.sparsity import NM, cheapest_mode, compact_k


@dataclass(frozen=True)
class ModeChoice:
    """The mode a GEMM runs in: ``mode`` None = dense; ``kc`` compacted K; ``meta_bits`` per kept value."""

    mode: NM | None
    kc: int
    meta_bits: int

    @property
    def label(self) -> str:
        return "dense" if self.mode is None else str(self.mode)


def choose_mode(
    hw: HardwareConfig,
    k: int,
    guarantees: tuple[NM, ...],
    compat: bool,
    k_runs: int = 1,
) -> ModeChoice:
    """Cheapest mode of ``hw`` that holds the weights, given what is known about them.

    ``guarantees``: patterns the weights are known to satisfy (the nominal n:m, and ``max:block``
    from measured mask statistics); any one suffices. ``k_runs``: independent K segments N:M groups
    may not cross (kernel positions of an im2col conv). In ``compat`` mode SCALE-Sim's rule applies:
    the nominal n:m itself, any n:m, on the whole K, with no metadata cost.
    """
    if not guarantees or hw.sparse.kind == "none":
        return ModeChoice(None, k, 0)
    if compat:
        nm = guarantees[0]
        return ModeChoice(nm, compact_k(k, nm.n, nm.m), 0)
    best: NM | None = None
    for g in guarantees:
        cand = cheapest_mode(g, hw.sparse.mode_set)
        if cand is not None and (best is None or (cand.density, cand.m) < (best.density, best.m)):
            best = cand
    if best is None:
        return ModeChoice(None, k, 0)
    if k % k_runs:
        k_runs = 1
    kc = k_runs * compact_k(k // k_runs, best.n, best.m)
    if kc >= k:  # too short a K to drop anything: the sparse datapath would only add metadata
        return ModeChoice(None, k, 0)
    return ModeChoice(best, kc, hw.sparse.metadata_bits(best))
