"""N:M and unstructured magnitude masks, vectorized, with deterministic ties (the lower index wins).

Grouping axis: by default the GEMM reduction axis of the weight — ``in_features`` (dim 1) of an
``nn.Linear`` weight ``[out, in]`` and the input channels (dim 1) of an ``nn.Conv2d`` weight ``[O, I, kh, kw]``.
Groups are ``m`` consecutive elements along that axis at a fixed position of every other axis.
"""

from __future__ import annotations

import numpy as np
import torch

from nmsim.errors import NmsimInputError
from nmsim.masks.stats import block_stats


def _to_groups(t: torch.Tensor, m: int, axis: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Move ``axis`` last and cut it into groups of ``m``: returns (``[..., G, m]`` view, moved shape)."""
    if t.dim() == 0:
        raise NmsimInputError("tensor", "an N:M mask needs a tensor with at least one dimension")
    axis = axis % t.dim()
    length = t.shape[axis]
    if length % m:
        raise NmsimInputError("mask_structure", f"the grouped axis ({length}) must be divisible by m={m}")
    moved = t.movedim(axis, -1)
    return moved.reshape(*moved.shape[:-1], length // m, m), tuple(moved.shape)


def nm_mask(weight: torch.Tensor, n: int, m: int, axis: int = 1) -> torch.Tensor:
    """Boolean mask keeping the ``n`` largest-|w| entries of every group of ``m`` along ``axis``.

    Exactly ``n`` ones per group. Among equal magnitudes the entry with the lower index along the
    group is kept (a stable descending sort), so the mask is a pure function of the values.
    """
    if not 1 <= n <= m:
        raise NmsimInputError("mask_structure", "need 1 <= n <= m", f"{n}:{m}")
    w = weight.detach()
    if w.dim() == 1:
        axis = 0
    if n == m:
        return torch.ones_like(w, dtype=torch.bool)
    groups, moved_shape = _to_groups(w.abs(), m, axis)
    if n == 1:
        # argmax returns the first maximal index: the lower-index tie rule
        keep = groups.argmax(dim=-1, keepdim=True)
        mask = torch.zeros(groups.shape, dtype=torch.bool, device=w.device).scatter_(-1, keep, True)
    elif m <= _PAIRWISE_MAX_M:
        mask = _pairwise_rank_mask(groups, n)
    else:
        keep = torch.sort(groups, dim=-1, descending=True, stable=True).indices[..., :n]
        mask = torch.zeros(groups.shape, dtype=torch.bool, device=w.device).scatter_(-1, keep, True)
    return mask.reshape(moved_shape).movedim(-1, axis % w.dim())


_PAIRWISE_MAX_M = 8


def _pairwise_rank_mask(groups: torch.Tensor, n: int) -> torch.Tensor:
    """Keep entries whose rank (number of group members that beat them) is < n; for small m.

    Entry i beats entry j (i < j) when |w_i| >= |w_j|: larger magnitude first, lower index on ties.
    m(m−1)/2 vectorized comparisons over the group columns; faster than a sort for m <= 8.
    """
    m = groups.shape[-1]
    cols = groups.reshape(-1, m).t().contiguous()
    beaten = torch.zeros(cols.shape, dtype=torch.uint8, device=groups.device)
    for i in range(m):
        for j in range(i + 1, m):
            i_wins = cols[i] >= cols[j]
            beaten[j] += i_wins
            beaten[i] += ~i_wins
    return (beaten < n).t().reshape(groups.shape)


def unstructured_mask(weight: torch.Tensor, density: float) -> torch.Tensor:
    """Boolean mask keeping the ``round(density·numel)`` largest-|w| entries of the whole tensor.

    Local (per-tensor) magnitude pruning as in Zhu & Gupta; ties go to the lower flat index.
    """
    if not 0.0 <= density <= 1.0:
        raise NmsimInputError("density", "must be in [0, 1]", density)
    w = weight.detach().reshape(-1)
    keep = round(density * w.numel())
    if keep >= w.numel():
        return torch.ones_like(weight, dtype=torch.bool)
    mask = torch.zeros_like(w, dtype=torch.bool)
    if keep > 0:
        idx = torch.sort(w.abs(), descending=True, stable=True).indices[:keep]
        mask[idx] = True
    return mask.reshape(weight.shape)


def grouped_rows(t: torch.Tensor, axis: int = 1) -> np.ndarray:
    """``t`` as a 2-D numpy array whose rows run along ``axis`` (every other axis flattened into rows):
    the ``layout="nk"`` of :func:`nmsim.masks.stats.block_stats`, the one home of per-block statistics."""
    t = t.detach()
    if t.dim() <= 1:
        return t.reshape(1, -1).cpu().numpy()
    axis = axis % t.dim()
    return t.movedim(axis, -1).reshape(-1, t.shape[axis]).cpu().numpy()


def is_nm(weight: torch.Tensor, n: int, m: int, axis: int = 1) -> bool:
    """True when every group of ``m`` along ``axis`` holds at most ``n`` nonzeros."""
    return block_stats(grouped_rows(weight != 0, axis), m, layout="nk").max_nonzeros <= n
