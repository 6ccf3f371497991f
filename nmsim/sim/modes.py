"""Which hardware mode a layer's weights run in, and their compacted reduction length."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import MaskStats
from nmsim.sparsity import NM, cheapest_mode, compact_k


@dataclass(frozen=True)
class ModeChoice:
    """The mode a GEMM runs in: ``mode`` None = dense; ``kc`` compacted K; ``meta_bits`` per kept value."""

    mode: NM | None
    kc: int
    meta_bits: int
    note: str = ""

    @property
    def label(self) -> str:
        return self.note or ("dense" if self.mode is None else str(self.mode))


def expected_tile_bound(stats: MaskStats, modes: tuple[int, ...], blocks_per_tile: int) -> float:
    """Mean over tiles of the bound a tile runs at, when each tile runs at its densest block.

    Blocks are taken as independent draws from the measured histogram: a tile of B blocks has
    P(max ≤ j) = F(j)^B. A tile whose max is j runs at the smallest supported bound ≥ j (``modes``,
    with the block size itself as the dense fallback). Units: nonzeros per block.
    """
    total = sum(stats.histogram)
    cdf, acc = [], 0
    for count in stats.histogram:
        acc += count
        cdf.append(acc / total)
    bounds = sorted({*modes, stats.block})
    expected, prev = 0.0, 0.0
    for j, f in enumerate(cdf):
        p_le = f**blocks_per_tile
        run_at = next(b for b in bounds if b >= j)
        expected += (p_le - prev) * run_at
        prev = p_le
    return expected


def _tile_adaptive(hw: HardwareConfig, k: int, stats: MaskStats) -> ModeChoice | None:
    """Density-bound blocks chosen per tile (time-unrolled DBB): K′ follows the expected tile bound."""
    modes = tuple(mode.n for mode in hw.sparse.mode_set if mode.m == stats.block)
    if not modes:
        return None
    blocks = max(1, hw.array.rows * hw.array.cols // stats.block)
    n_eff = expected_tile_bound(stats, modes, blocks)
    if n_eff >= stats.block:
        return None
    kc = max(1, math.ceil(k * n_eff / stats.block))
    mode = NM(max(1, math.ceil(n_eff)), stats.block)
    return ModeChoice(mode, kc, hw.sparse.metadata_bits(mode), f"dbb~{n_eff:.2f}:{stats.block}")


def choose_mode(
    hw: HardwareConfig,
    k: int,
    guarantees: tuple[NM, ...],
    compat: bool,
    k_runs: int = 1,
    stats: MaskStats | None = None,
) -> ModeChoice:
    """Cheapest mode of ``hw`` that holds the weights, given what is known about them.

    ``guarantees``: patterns the weights are known to satisfy (the nominal n:m, and ``max:block``
    from measured mask statistics); any one suffices. ``k_runs``: independent K segments N:M groups
    may not cross (kernel positions of an im2col conv). In ``compat`` mode SCALE-Sim's rule applies:
    the nominal n:m itself, any n:m, on the whole K, with no metadata cost. On density-bound-block
    hardware that picks the bound per tile (``sparse.tile_adaptive``), measured mask ``stats`` give
    the expected per-tile bound, so load imbalance between tiles costs cycles.
    """
    if stats is not None and not compat and hw.sparse.kind == "dbb" and hw.sparse.tile_adaptive:
        adaptive = _tile_adaptive(hw, k, stats)
        if adaptive is not None:
            return adaptive
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
    # Even a K too short to drop anything (kc == k) is offered to the sparse mode: the engine's fallback
    # (``sparse.fallback: auto``) then keeps whichever of dense and sparse is faster, so a library whose
    # dense kernel is the weaker one stays sparse at every K, and cycles never fall as K grows.
    return ModeChoice(best, kc, hw.sparse.metadata_bits(best))


def mode_key(hw: HardwareConfig) -> str:
    """Everything :func:`choose_mode` reads of ``hw``: configs with equal keys choose equal modes.

    The sparse section, plus the array's rows×cols when tile-adaptive density-bound blocks size their
    tiles by it. Keep in step with :func:`choose_mode` and :func:`_tile_adaptive`.
    """
    key = hw.sparse.model_dump_json()
    if hw.sparse.tile_adaptive:
        key += f"|{hw.array.rows}x{hw.array.cols}"
    return key
