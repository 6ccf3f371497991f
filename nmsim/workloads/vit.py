"""Vision Transformer traces from hyperparameters: patch embedding (a conv), encoder, classifier head.

The encoder is :func:`nmsim.workloads.transformer.transformer_layers` (encoder-only) over the patch
tokens. The patch embedding is a ``patch``×``patch`` convolution with stride ``patch`` (im2col GEMM
m = batch·tokens, k = channels·patch², n = d_model); the head maps one pooled token per image to the
classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from nmsim.schemas.trace import ConvShape, Layer, Trace
from nmsim.workloads.transformer import TransformerSpec, transformer_layers


@dataclass(frozen=True)
class ViTSpec:
    """Hyperparameters of a ViT and the N:M patterns of its weights.

    ``cls_token``: add one class token to the ``(image/patch)²`` patch tokens (real ViTs do; [PGF]'s
    FLOPs table counts 196 tokens for ViT-B/16, i.e. without it).
    """

    name: str
    image: int = 224
    patch: int = 16
    channels: int = 3
    d_model: int = 768
    ffn: int = 3072
    heads: int = 12
    layers: int = 12
    classes: int = 1000
    cls_token: bool = False
    batch: int = 1
    ff_pattern: str = "dense"
    qkv_pattern: str = "dense"
    out_pattern: str = "dense"
    dtype: str | None = None
    description: str = ""
    source: str = ""

    @property
    def patches(self) -> int:
        """Patch tokens per image: (image / patch)²."""
        return (self.image // self.patch) ** 2

    @property
    def tokens(self) -> int:
        """Sequence length the encoder sees (patches, plus the class token if any)."""
        return self.patches + (1 if self.cls_token else 0)


def patch_embedding(
    batch: int, channels: int, d_model: int, patch: int, image: int, dtype: str | None
) -> Layer:
    """The ``patch``×``patch``/``patch`` convolution that turns ``image``² pixels into patch tokens
    (the model's input layer: ``inputs`` = [])."""
    return Layer(
        name="patch_embed",
        op="conv2d",
        role="conv",
        conv=ConvShape(
            batch=batch,
            in_channels=channels,
            out_channels=d_model,
            kernel_h=patch,
            kernel_w=patch,
            input_h=image,
            input_w=image,
            stride=patch,
        ),
        dtype=dtype,  # type: ignore[arg-type]
        inputs=[],
    )


def vit_trace(s: ViTSpec) -> Trace:
    """Build the inference trace of one forward pass of ``batch`` images."""
    embed = patch_embedding(s.batch, s.channels, s.d_model, s.patch, s.image, s.dtype)
    encoder = transformer_layers(
        TransformerSpec(
            name=s.name,
            d_model=s.d_model,
            ffn=s.ffn,
            heads=s.heads,
            enc_layers=s.layers,
            src_len=s.tokens,
            batch=s.batch,
            ff_pattern=s.ff_pattern,
            qkv_pattern=s.qkv_pattern,
            out_pattern=s.out_pattern,
            dtype=s.dtype,
            stream_input=("patch_embed",),
        )
    )
    head = Layer(
        name="head",
        op="linear",
        role="head",
        m=s.batch,
        k=s.d_model,
        n=s.classes,
        dtype=s.dtype,  # type: ignore[arg-type]
        inputs=[encoder[-1].name],  # the pooled (or class) token of the last block's stream
    )
    return Trace(name=s.name, description=s.description, source=s.source, layers=[embed, *encoder, head])
