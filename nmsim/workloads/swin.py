"""Swin Transformer (V2) traces from hyperparameters: patch embedding, four stages of window attention
with patch merging between them, classifier head.

A stage at resolution H×W (tokens) with window w runs its blocks on (H/w)·(W/w) windows of w² tokens:
every linear layer is a GEMM over all batch·H·W tokens, and the attention matmuls are repeated per head
and per window (scores: w²×head_dim by head_dim×w²). Shifted windows have the same shapes. Patch merging
concatenates 2×2 neighbours (4C) and projects them to 2C on a quarter of the tokens. SwinV2's
continuous position-bias MLP (a table of (2w−1)² entries per head, independent of the batch) is left
out. Edges follow the residual stream (:mod:`nmsim.workloads.edges`) through all stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from nmsim.schemas.trace import Layer, Trace
from nmsim.workloads.edges import ResidualStream
from nmsim.workloads.transformer import TransformerSpec, transformer_layers, with_edges
from nmsim.workloads.vit import patch_embedding


@dataclass(frozen=True)
class SwinSpec:
    """Hyperparameters of a Swin(V2) model; ``embed`` channels in stage 1, doubling every stage."""

    name: str
    image: int = 256
    patch: int = 4
    window: int = 8
    channels: int = 3
    embed: int = 128
    depths: tuple[int, ...] = (2, 2, 18, 2)
    heads: tuple[int, ...] = (4, 8, 16, 32)
    mlp_ratio: int = 4
    classes: int = 1000
    batch: int = 1
    dtype: str | None = None
    description: str = ""
    source: str = ""

    def resolution(self, stage: int) -> int:
        """Tokens along one side in ``stage`` (0-based): image / patch / 2^stage."""
        return self.image // self.patch >> stage

    def windows(self, stage: int) -> int:
        """Windows per image in ``stage``; a stage smaller than the window is one window."""
        side = self.resolution(stage)
        return max(side // self.window, 1) ** 2

    def window_tokens(self, stage: int) -> int:
        """Tokens per window in ``stage``: w², or the whole stage when it is smaller."""
        return min(self.window, self.resolution(stage)) ** 2


def _renamed(layer: Layer, prefix: str, local: set[str]) -> Layer:
    def ren(names: list[str] | None) -> list[str] | None:
        return None if names is None else [f"{prefix}{n}" if n in local else n for n in names]

    return layer.model_copy(
        update={"name": f"{prefix}{layer.name}", "inputs": ren(layer.inputs), "residual": ren(layer.residual)}
    )


def swin_layers(s: SwinSpec) -> list[Layer]:
    """The layers of one forward pass in execution order, with their edges."""
    layers: list[Layer] = [patch_embedding(s.batch, s.channels, s.embed, s.patch, s.image, s.dtype)]
    producer = ["patch_embed"]
    for stage, (depth, heads) in enumerate(zip(s.depths, s.heads, strict=True)):
        c = s.embed << stage
        if stage:
            merge = f"s{stage}.merge"
            tokens = s.batch * s.resolution(stage) ** 2
            stream = ResidualStream()
            stream.produce(merge, producer)
            layer = Layer(name=merge, op="linear", role="other", m=tokens, k=2 * c, n=c, dtype=s.dtype)  # type: ignore[arg-type]
            layers.append(with_edges(layer, stream))
            producer = [merge]
        block = TransformerSpec(
            name=s.name,
            d_model=c,
            ffn=s.mlp_ratio * c,
            heads=heads,
            enc_layers=depth,
            src_len=s.window_tokens(stage),
            batch=s.batch * s.windows(stage),
            dtype=s.dtype,
            stream_input=tuple(producer),
        )
        stage_layers = transformer_layers(block)
        local = {la.name for la in stage_layers}
        stage_layers = [_renamed(la, f"s{stage}.", local) for la in stage_layers]
        layers.extend(stage_layers)
        producer = [stage_layers[-1].name]
    layers.append(
        Layer(
            name="head",
            op="linear",
            role="head",
            m=s.batch,
            k=s.embed << (len(s.depths) - 1),
            n=s.classes,
            dtype=s.dtype,  # type: ignore[arg-type]
            inputs=producer,
        )
    )
    return layers


def swin_trace(s: SwinSpec) -> Trace:
    """Build the inference trace of one forward pass of ``batch`` images."""
    return Trace(name=s.name, description=s.description, source=s.source, layers=swin_layers(s))
