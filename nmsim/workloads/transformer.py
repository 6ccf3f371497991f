"""Transformer layer traces from hyperparameters: encoder-only, decoder-only, or encoder-decoder.

Every linear layer is a GEMM with m = tokens (sequence length × batch), k = in_features,
n = out_features. Attention matmuls (scores Q·Kᵀ and context P·V) are ``attention`` layers repeated
once per head and sequence; they multiply two activations, so they are never weight-sparse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from nmsim.schemas.trace import Layer, Trace
from nmsim.workloads.edges import ResidualStream


@dataclass(frozen=True)
class TransformerSpec:
    """Hyperparameters of a Transformer and which weights carry which N:M pattern."""

    name: str
    d_model: int
    ffn: int
    heads: int
    enc_layers: int = 0
    dec_layers: int = 0
    src_len: int = 0
    tgt_len: int = 0
    batch: int = 1
    vocab: int = 0
    ffn_kind: Literal["mlp", "gated"] = "mlp"
    kv_heads: int | None = None
    ff_pattern: str = "dense"
    qkv_pattern: str = "dense"
    out_pattern: str = "dense"
    dtype: str | None = None
    description: str = ""
    source: str = ""
    extra_roles: dict[str, str] = field(default_factory=dict)
    stream_input: tuple[str, ...] = ()  # the layer(s) feeding the first block (a patch embedding); () = input


def _linear(name: str, role: str, m: int, k: int, n: int, pattern: str, dtype: str | None) -> Layer:
    return Layer(name=name, op="linear", role=role, m=m, k=k, n=n, pattern=pattern, dtype=dtype)  # type: ignore[arg-type]


def _attention(
    prefix: str,
    s: TransformerSpec,
    q_len: int,
    kv_len: int,
    kv_source: list[str] | None,
    layers: list[Layer],
    stream: ResidualStream,
) -> None:
    d, dh = s.d_model, s.d_model // s.heads
    kv_dim = (s.kv_heads or s.heads) * dh
    mq, mkv = q_len * s.batch, kv_len * s.batch
    layers.append(_linear(f"{prefix}.q", "q", mq, d, d, s.qkv_pattern, s.dtype))
    layers.append(_linear(f"{prefix}.k", "k", mkv, d, kv_dim, s.qkv_pattern, s.dtype))
    layers.append(_linear(f"{prefix}.v", "v", mkv, d, kv_dim, s.qkv_pattern, s.dtype))
    rep = s.heads * s.batch
    layers.append(
        Layer(
            name=f"{prefix}.scores",
            op="attention",
            role="attn_score",
            m=q_len,
            k=dh,
            n=kv_len,
            repeat=rep,
            dtype=s.dtype,
        )  # type: ignore[arg-type]
    )
    layers.append(
        Layer(
            name=f"{prefix}.context",
            op="attention",
            role="attn_context",
            m=q_len,
            k=kv_len,
            n=dh,
            repeat=rep,
            dtype=s.dtype,
        )  # type: ignore[arg-type]
    )
    layers.append(_linear(f"{prefix}.o", "out", mq, d, d, s.out_pattern, s.dtype))
    names = [f"{prefix}.{part}" for part in ("q", "k", "v", "scores", "context", "o")]
    stream.attention(*names, kv_source=kv_source)


def _ffn(prefix: str, s: TransformerSpec, tokens: int, layers: list[Layer], stream: ResidualStream) -> None:
    m = tokens * s.batch
    gate = f"{prefix}.ff_gate" if s.ffn_kind == "gated" else None
    if gate is not None:
        layers.append(_linear(gate, "ff", m, s.d_model, s.ffn, s.ff_pattern, s.dtype))
    layers.append(_linear(f"{prefix}.ff1", "ff", m, s.d_model, s.ffn, s.ff_pattern, s.dtype))
    layers.append(_linear(f"{prefix}.ff2", "ff", m, s.ffn, s.d_model, s.ff_pattern, s.dtype))
    stream.ffn(f"{prefix}.ff1", f"{prefix}.ff2", gate)


def transformer_trace(s: TransformerSpec) -> Trace:
    """Build the inference trace of one forward pass (all tokens at once, no KV cache)."""
    return Trace(name=s.name, description=s.description, source=s.source, layers=transformer_layers(s))


def transformer_layers(s: TransformerSpec) -> list[Layer]:
    """The layers of one forward pass in execution order, with their producer→consumer edges
    (:mod:`nmsim.workloads.edges`); the first block reads ``s.stream_input``."""
    layers: list[Layer] = []
    stream = ResidualStream(list(s.stream_input))
    for i in range(s.enc_layers):
        _attention(f"enc{i}.self", s, s.src_len, s.src_len, None, layers, stream)
        _ffn(f"enc{i}", s, s.src_len, layers, stream)
    memory = list(stream.producer)
    if s.dec_layers:
        stream.start([])
    for i in range(s.dec_layers):
        _attention(f"dec{i}.self", s, s.tgt_len, s.tgt_len, None, layers, stream)
        if s.enc_layers:
            _attention(f"dec{i}.cross", s, s.tgt_len, s.src_len, memory, layers, stream)
        _ffn(f"dec{i}", s, s.tgt_len, layers, stream)
    if s.vocab:
        stream.consume("logits")
        out_len = s.tgt_len if s.dec_layers else s.src_len
        layers.append(
            Layer(
                name="logits",
                op="linear",
                role="head",
                m=out_len * s.batch,
                k=s.d_model,
                n=s.vocab,
                dtype=s.dtype,
            )  # type: ignore[arg-type]
        )
    return [with_edges(layer, stream) for layer in layers]


def with_edges(layer: Layer, stream: ResidualStream) -> Layer:
    """``layer`` with the edges ``stream`` recorded for it (unchanged when it recorded none)."""
    if layer.name not in stream.edges:
        return layer
    inputs, residual = stream.edges[layer.name]
    return layer.model_copy(update={"inputs": inputs, "residual": residual})
