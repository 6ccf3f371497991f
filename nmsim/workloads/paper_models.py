"""Architectures of the models in [PGF]'s tables (Bambhaniya et al., arXiv:2402.04744), one forward
pass of one example each: ViT-B/16, SwinV2-B, T5X-Base (T5.1.1), the WMT encoder-decoder and ViT-L/16
(its speedup tables). :func:`paper_model_trace` builds one at a given batch (a training step's).
"""

from __future__ import annotations

import dataclasses

from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Trace
from nmsim.workloads.swin import SwinSpec, swin_trace
from nmsim.workloads.transformer import TransformerSpec, transformer_trace
from nmsim.workloads.vit import ViTSpec, vit_trace
from nmsim.workloads.zoo import VIT_B16, ZOO_WMT_TRANSFORMER

_SRC = "nmsim.workloads.paper_models.{} via nmsim.workloads.{}"

SWINV2_B = SwinSpec(
    name="swinv2_b",
    image=256,
    patch=4,
    window=8,
    embed=128,
    depths=(2, 2, 18, 2),
    heads=(4, 8, 16, 32),
    description=(
        "SwinV2-B (Liu et al. 2022: embed 128, depths 2-2-18-2, heads 4-8-16-32, MLP ratio 4) on one "
        "256x256 image with window 8, as [PGF] trains it (Table 14): 4x4 patch embedding, window attention "
        "over 64-token windows, patch merging, 1000-class head; the position-bias MLP and norms left out; dense."
    ),
    source=_SRC.format("SWINV2_B", "swin.swin_trace"),
)

T5_BASE = TransformerSpec(
    name="t5_base",
    d_model=768,
    ffn=2048,
    heads=12,
    enc_layers=12,
    dec_layers=12,
    src_len=512,
    tgt_len=8,
    vocab=32128,
    ffn_kind="gated",
    description=(
        "T5.1.1-Base as T5X fine-tunes it (Raffel et al. 2020, v1.1 checkpoints: 12+12 layers, d_model 768, "
        "gated-GELU FF 2048, 12 heads of 64, vocabulary 32128, untied logits) on one GLUE example: 512 input "
        "tokens (T5X's GLUE fine-tuning length) and 8 target tokens (a class word or a score: an assumption, "
        "the paper states neither); relative position biases left out; dense."
    ),
    source=_SRC.format("T5_BASE", "transformer.transformer_trace"),
)

VIT_L16 = ViTSpec(
    name="vit_l16",
    image=224,
    patch=16,
    d_model=1024,
    ffn=4096,
    heads=16,
    layers=24,
    classes=1000,
    cls_token=False,
    description=(
        "ViT-L/16 (Dosovitskiy et al. 2021: 24 layers, hidden 1024, MLP 4096, 16 heads) on one 224x224 "
        "image, 196 patch tokens (no class token, as the zoo's ViT-B/16), patch-embedding conv and "
        "1000-class head; the model of [PGF]'s speedup tables (8, 19); dense."
    ),
    source=_SRC.format("VIT_L16", "vit.vit_trace"),
)

Spec = TransformerSpec | ViTSpec | SwinSpec

#: The models of [PGF]'s tables by the data file's key.
PAPER_MODELS: dict[str, Spec] = {
    "vit_b16": VIT_B16,
    "swinv2_b": SWINV2_B,
    "t5_base": T5_BASE,
    "wmt": ZOO_WMT_TRANSFORMER,
    "vit_l16": VIT_L16,
}


def paper_model_trace(model: str, batch: int = 1) -> Trace:
    """The trace of one forward pass of ``batch`` examples of the paper's model ``model``."""
    spec = PAPER_MODELS.get(model)
    if spec is None:
        raise NmsimInputError("model", ", ".join(PAPER_MODELS), model)
    spec = dataclasses.replace(spec, batch=batch)
    if isinstance(spec, ViTSpec):
        return vit_trace(spec)
    if isinstance(spec, SwinSpec):
        return swin_trace(spec)
    return transformer_trace(spec)
