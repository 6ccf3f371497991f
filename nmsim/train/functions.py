"""The effective weight W̃ = W ⊙ S (S = Φ + D·(1 − Φ)) and its three gradient rules.

The rules and which source each reproduces: docs/references.md#grad-modes.

* ``autodiff``: plain autograd through the product: ∂L/∂W = g ⊙ S (pruned weights get D·g, 0 if binary).
  Reproduces the papers' text and the AQT JAX code.
* ``ste``: straight-through: ∂L/∂W = g for every weight (the [PGF] PyTorch code, all variants).
* ``srste``: ∂L/∂W = g + λ_w·(1 − Φ) ⊙ W, the regularizer added *inside the gradient* as the SR-STE
  reference code and [PGF]'s ``SparseSRSTE`` do (so Adam rescales it).
"""

from __future__ import annotations

import torch


class _STE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return weight * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return grad, None


class _SRSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight: torch.Tensor, mask: torch.Tensor, lam: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(weight, mask)
        ctx.lam = lam
        return weight * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        weight, mask = ctx.saved_tensors
        return torch.addcmul(grad, 1.0 - mask, weight, value=ctx.lam), None, None


def effective_weight(
    weight: torch.Tensor, scale: torch.Tensor, grad_mode: str, lam: float = 2e-4
) -> torch.Tensor:
    """W ⊙ ``scale`` with the gradient rule ``grad_mode`` (``scale`` is the binary mask for srste)."""
    if grad_mode == "autodiff":
        return weight * scale
    if grad_mode == "ste":
        return _STE.apply(weight, scale)
    if grad_mode == "srste":
        return _SRSTE.apply(weight, scale, lam)
    raise ValueError(f"unknown grad_mode {grad_mode!r}")
