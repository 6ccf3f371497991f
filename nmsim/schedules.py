"""Pure schedule functions: N:M structure sequences (SDGF), mask decay factors (MDGF), GMP sparsity.

All steps are optimizer steps (integers). ``j`` is the step counted from the start of the stage that
owns the schedule, as [PGF] §3 defines D(j) (its released code counts from the global update
counter instead; docs/references.md#recipe-mdgf).
"""

from __future__ import annotations

import itertools
import math

from nmsim.errors import NmsimInputError
from nmsim.limits import MAX_M_IN_NM
from nmsim.sparsity import NM


def _power_of_two(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


def stepwise_patterns(target: NM) -> list[NM]:
    """SDGF-Stepwise / SSD: (M−1):M, then (M/2^d):M for d = 1, 2, … until M/2^d = N.

    1:8 → [7:8, 4:8, 2:8, 1:8]; 1:16 → [15:16, 8:16, 4:16, 2:16, 1:16]; 2:8 → [7:8, 4:8, 2:8]
    (``log2(M/N) + 1`` frames, as the [PGF] code's ``sparsify`` type).
    """
    n, m = target.n, target.m
    if n >= m:
        return [NM(m, m)]
    if not _power_of_two(m // n) or m % n:
        raise NmsimInputError(
            "mask_structure", "stepwise structure decay needs M/N a power of two", str(target)
        )
    seq = [NM(m - 1, m)]
    d = 1
    while m >> d > n:
        if m >> d < seq[-1].n:
            seq.append(NM(m >> d, m))
        d += 1
    if seq[-1].n != n:
        seq.append(NM(n, m))
    return seq


def geometric_patterns(target: NM, k: int = 16) -> list[NM]:
    """SDGF-Geometric: (k·N/2^d):(k·M/2^d) for d = 0 … log2 k (constant density, shrinking block).

    k = 16, 1:8 → [16:128, 8:64, 4:32, 2:16, 1:8]; the [PGF] code's ``fine`` type is k = 8.
    """
    if not _power_of_two(k):
        raise NmsimInputError("structure.k", "must be a power of two (1, 2, 4, 8, 16, ...)", k)
    d_max = int(math.log2(k))
    return [NM(k * target.n >> d, k * target.m >> d) for d in range(d_max + 1)]


def densify_patterns(target: NM, steps: int = 4) -> list[NM]:
    """[PGF] code-only ``densify`` type: N:(M·2^(steps−1−i)), e.g. 1:8 → [1:64, 1:32, 1:16, 1:8]."""
    return [NM(target.n, target.m << (steps - 1 - i)) for i in range(steps)]


def aqt_patterns(target: NM, cap: int = 16) -> list[NM]:
    """AQT structure decay (S3, 2022-09-01): N_k = M (k=0), M−1 (k=1), ceil(M/2^k) (k≥2), down to N.

    M = 16 → [16:16, 15:16, 4:16, 2:16, 1:16] (note the 4:16 jump that skips 8:16).
    """
    m = target.m
    seq: list[NM] = []
    for k in range(cap):
        nk = m if k == 0 else (m - 1 if k == 1 else math.ceil(m / 2**k))
        nk = max(nk, target.n)
        seq.append(NM(nk, m))
        if nk == target.n:
            break
    return seq


def structure_patterns(kind: str, target: NM, k: int = 16, custom: list[NM] | None = None) -> list[NM]:
    """Dispatch on the structure-decay type: stepwise | geometric | densify | aqt | halving | custom.

    Every pattern's M is at most :data:`~nmsim.limits.MAX_M_IN_NM` (geometric: k·M ≤ 4,096)."""
    seq = _structure_patterns(kind, target, k, custom)
    widest = max(p.m for p in seq)
    if widest > MAX_M_IN_NM:
        raise NmsimInputError(
            "structure.k" if kind == "geometric" else "structure.type",
            f"its patterns reach M = {widest}; at most {MAX_M_IN_NM} (MAX_M_IN_NM)",
            k if kind == "geometric" else kind,
        )
    return seq


def _structure_patterns(kind: str, target: NM, k: int, custom: list[NM] | None) -> list[NM]:
    if kind == "stepwise":
        return stepwise_patterns(target)
    if kind == "geometric":
        return geometric_patterns(target, k)
    if kind == "densify":
        return densify_patterns(target)
    if kind == "aqt":
        return aqt_patterns(target)
    if kind == "halving":
        return halving_patterns(target)
    if kind == "custom":
        if not custom:
            raise NmsimInputError("structure.patterns", "a non-empty list of 'n:m' for type 'custom'")
        return list(custom)
    raise NmsimInputError("structure.type", "one of stepwise, geometric, densify, aqt, halving, custom", kind)


def halving_patterns(target: NM) -> list[NM]:
    """Gradual / iterative N:M (jax_pruning style): (M/2):M, (M/4):M, … down to N:M.

    1:8 → [4:8, 2:8, 1:8]; 2:4 → [2:4]; 1:16 → [8:16, 4:16, 2:16, 1:16].
    """
    n, m = target.n, target.m
    seq: list[NM] = []
    cur = m // 2
    while cur > n:
        seq.append(NM(cur, m))
        cur //= 2
    seq.append(NM(n, m))
    return seq


def split_window(start: int, end: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into ``parts`` contiguous intervals of (almost) equal length.

    Boundary i is ``start + floor(i·(end − start)/parts)``; an interval is empty (never in force)
    when the window is shorter than ``parts``.
    """
    if parts < 1:
        raise NmsimInputError("structure", "needs at least one interval", parts)
    width = end - start
    bounds = [start + (i * width) // parts for i in range(parts + 1)]
    return list(itertools.pairwise(bounds))


def decay_linear(j: int, beta: float) -> float:
    """MDGF-Linear: D(j) = max(1 − β·j, 0); reaches 0 at j = 1/β."""
    return max(1.0 - beta * j, 0.0)


def decay_exp(j: int, beta: float) -> float:
    """MDGF-Exponential: D(j) = exp(−β·j); never exactly 0."""
    return math.exp(-beta * j)


def decay_step(j: int, interval: int, weight: float, cap: int = 16) -> float:
    """AQT/[SEED]-era PMD staircase: k = ⌊j/interval⌋; D = max(1 − k·weight, 0) for k < cap, else 0."""
    k = j // interval
    if k >= cap:
        return 0.0
    return max(1.0 - k * weight, 0.0)


def gmp_sparsity(step: int, s_i: float, s_f: float, t0: int, n: int, dt: int) -> float:
    """Zhu & Gupta cubic schedule: s_t = s_f + (s_i − s_f)(1 − (t − t0)/(n·Δt))³ at t = t0 + kΔt.

    Between pruning steps the sparsity of the last pruning step holds; before ``t0`` it is ``s_i``
    and after ``t0 + n·Δt`` it is ``s_f``.
    """
    if step < t0:
        return s_i
    k = min((step - t0) // dt, n)
    frac = (k * dt) / (n * dt)
    return s_f + (s_i - s_f) * (1.0 - frac) ** 3
