"""A small pre-LN encoder-decoder Transformer built from plain ``nn.Linear`` layers.

Every GEMM with a weight is an ``nn.Linear`` with a descriptive name (``ff.fc1``, ``self_attn.q`` …) so the
layer selectors and the trace-export hooks see them. Attention modules remember the shapes of their two
activation-activation matmuls (score and context) from the last forward pass for the trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class TransformerConfig:
    """Model sizes: ``d_model`` 128, 4 heads, 2 encoder + 2 decoder layers, FF width 512 by default."""

    src_vocab: int
    tgt_vocab: int
    d_model: int = 128
    heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 2
    ffn: int = 512
    max_len: int = 64
    dropout: float = 0.0


class Attention(nn.Module):
    """Multi-head attention with separate Q, K, V, O projections."""

    def __init__(self, d_model: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.o = nn.Linear(d_model, d_model)
        self.dropout = dropout
        self.last_matmuls: list[tuple[str, int, int, int, int]] = []

    def forward(
        self, x: torch.Tensor, mem: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False
    ) -> torch.Tensor:
        B, Lq, D = x.shape
        Lk = mem.shape[1]
        h, dh = self.heads, D // self.heads
        q = self.q(x).view(B, Lq, h, dh).transpose(1, 2)
        k = self.k(mem).view(B, Lk, h, dh).transpose(1, 2)
        v = self.v(mem).view(B, Lk, h, dh).transpose(1, 2)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        # (name, m, k, n, repeat) of the score (QK^T) and context (AV) matmuls
        self.last_matmuls = [("score", Lq, dh, Lk, B * h), ("context", Lq, Lk, dh, B * h)]
        return self.o(out.transpose(1, 2).reshape(B, Lq, D))


class FeedForward(nn.Module):
    """``fc2(relu(fc1(x)))``."""

    def __init__(self, d_model: int, ffn: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, ffn)
        self.fc2 = nn.Linear(ffn, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(c.d_model)
        self.self_attn = Attention(c.d_model, c.heads, c.dropout)
        self.norm2 = nn.LayerNorm(c.d_model)
        self.ff = FeedForward(c.d_model, c.ffn)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.self_attn(h, h, pad_mask)
        return x + self.ff(self.norm2(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(c.d_model)
        self.self_attn = Attention(c.d_model, c.heads, c.dropout)
        self.norm2 = nn.LayerNorm(c.d_model)
        self.cross_attn = Attention(c.d_model, c.heads, c.dropout)
        self.norm3 = nn.LayerNorm(c.d_model)
        self.ff = FeedForward(c.d_model, c.ffn)

    def forward(self, y: torch.Tensor, mem: torch.Tensor, mem_mask: torch.Tensor) -> torch.Tensor:
        h = self.norm1(y)
        y = y + self.self_attn(h, h, causal=True)
        y = y + self.cross_attn(self.norm2(y), mem, mem_mask)
        return y + self.ff(self.norm3(y))


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer; ``forward(src, tgt_in)`` returns logits [B, T, tgt_vocab]."""

    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.config = c
        self.src_embed = nn.Embedding(c.src_vocab, c.d_model, padding_idx=0)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.d_model, padding_idx=0)
        self.pos = nn.Embedding(c.max_len, c.d_model)
        self.encoder = nn.ModuleList([EncoderLayer(c) for _ in range(c.enc_layers)])
        self.decoder = nn.ModuleList([DecoderLayer(c) for _ in range(c.dec_layers)])
        self.enc_norm = nn.LayerNorm(c.d_model)
        self.dec_norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.tgt_vocab)
        self.scale = 1.0

    def _embed(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        return emb(ids) * self.scale + self.pos(pos)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        # boolean attention mask: True = attend; padding keys are masked out
        key_ok = (src != 0)[:, None, None, :]
        x = self._embed(self.src_embed, src)
        for layer in self.encoder:
            x = layer(x, key_ok)
        mem = self.enc_norm(x)
        y = self._embed(self.tgt_embed, tgt_in)
        for layer in self.decoder:
            y = layer(y, mem, key_ok)
        return self.head(self.dec_norm(y))
