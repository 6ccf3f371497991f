"""A small pre-LN decoder-only Transformer language model built from plain ``nn.Linear`` layers.

Layer names follow :mod:`nmsim.train.models.transformer` (``decoder.<i>.self_attn.q``,
``decoder.<i>.ff.fc1``, ``head``), so the ``ff`` preset selects the FF layers, the trace export records
every GEMM and :func:`nmsim.workloads.edges.link_named_layers` links them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nmsim.train.models.transformer import Attention, FeedForward


@dataclass(frozen=True)
class DecoderConfig:
    """Model sizes (defaults: the LM reference model): vocabulary (tokens), widths, depth, context (tokens)."""

    vocab: int = 256
    d_model: int = 128
    heads: int = 4
    layers: int = 2
    ffn: int = 512
    context: int = 128


class DecoderBlock(nn.Module):
    """Causal self-attention then FF, each behind a LayerNorm and added to the residual stream."""

    def __init__(self, c: DecoderConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(c.d_model)
        self.self_attn = Attention(c.d_model, c.heads)
        self.norm2 = nn.LayerNorm(c.d_model)
        self.ff = FeedForward(c.d_model, c.ffn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.self_attn(h, h, causal=True)
        return x + self.ff(self.norm2(x))


class DecoderLM(nn.Module):
    """``forward(ids [B, T])`` returns next-token logits ``[B, T, vocab]`` (T ≤ ``context``)."""

    def __init__(self, c: DecoderConfig) -> None:
        super().__init__()
        self.config = c
        self.embed = nn.Embedding(c.vocab, c.d_model)
        self.pos = nn.Embedding(c.context, c.d_model)
        self.decoder = nn.ModuleList([DecoderBlock(c) for _ in range(c.layers)])
        self.norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.embed(ids) + self.pos(pos)
        for block in self.decoder:
            x = block(x)
        return self.head(self.norm(x))
