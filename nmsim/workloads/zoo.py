"""The shipped traces, each built from its architecture's hyperparameters.

Regenerate with ``python -m nmsim.workloads.zoo [OUTDIR]`` (default: the repo's ``traces/``). Keys of
:data:`SHIPPED` are paths relative to that folder: the default trace at the top, the model zoo under
``zoo/`` (dense weights; pick a pattern with ``--nm``/``--scope`` or :func:`nmsim.workloads.scope.apply_nm`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nmsim.io.loaders import save_trace
from nmsim.io.registry import DEFAULT_TRACE, data_dir
from nmsim.schemas.trace import Trace
from nmsim.workloads.swin import SwinSpec, swin_trace
from nmsim.workloads.transformer import TransformerSpec, transformer_trace
from nmsim.workloads.vit import ViTSpec, vit_trace

WMT_TRANSFORMER = TransformerSpec(
    name="wmt_transformer_1x8",
    d_model=1024,
    ffn=4096,
    heads=16,
    enc_layers=6,
    dec_layers=6,
    src_len=256,
    tgt_len=256,
    batch=1,
    vocab=32000,
    ff_pattern="1:8",
    description=(
        "The seed paper's WMT En-De encoder-decoder Transformer (6+6 layers, d_model 1024, ffn 4096, "
        "16 heads; Bambhaniya et al. 2024 [PGF] Table 16) at its max sequence length 256 for "
        "source and target, one sentence pair, 32k shared vocabulary; FF layers 1:8, the rest dense."
    ),
    source="nmsim.workloads.zoo.WMT_TRANSFORMER via nmsim.workloads.transformer.transformer_trace",
)

WMT_TRANSFORMER_B12 = TransformerSpec(
    name="wmt_transformer_1x8_b12",
    d_model=1024,
    ffn=4096,
    heads=16,
    enc_layers=6,
    dec_layers=6,
    src_len=256,
    tgt_len=256,
    batch=12,
    vocab=32000,
    ff_pattern="1:8",
    description=(
        "The seed paper's WMT En-De encoder-decoder Transformer (6+6 layers, d_model 1024, ffn 4096, "
        "16 heads; Bambhaniya et al. 2024 [PGF] Table 16) on one GPU's share of a training batch: 12 "
        "sentence pairs of 256 source and 256 target tokens (3072 tokens each side; Vaswani et al. 2017, "
        "Section 5.1, batch about 25000 source tokens over 8 GPUs, about 3125 per GPU), 32k shared "
        "vocabulary; FF layers 1:8, the rest dense. The default trace (README: with nvidia_h100_sxm)."
    ),
    source="nmsim.workloads.zoo.WMT_TRANSFORMER_B12 via nmsim.workloads.transformer.transformer_trace",
)

_ZOO = "nmsim.workloads.zoo.{} via nmsim.workloads.{}"

ZOO_WMT_TRANSFORMER = TransformerSpec(
    name="wmt_transformer",
    d_model=1024,
    ffn=4096,
    heads=16,
    enc_layers=6,
    dec_layers=6,
    src_len=256,
    tgt_len=256,
    vocab=32000,
    description=(
        "The seed paper's WMT En-De encoder-decoder Transformer ([PGF] Table 16: 6+6 layers, "
        "d_model 1024, ffn 4096, 16 heads), source and target 256 tokens, one sentence pair, 32k shared "
        "vocabulary; all weights dense."
    ),
    source=_ZOO.format("ZOO_WMT_TRANSFORMER", "transformer.transformer_trace"),
)

TRANSFORMER_BASE = TransformerSpec(
    name="transformer_base",
    d_model=512,
    ffn=2048,
    heads=8,
    enc_layers=6,
    dec_layers=6,
    src_len=256,
    tgt_len=256,
    vocab=37000,
    description=(
        "Transformer-base (Vaswani et al. 2017, Table 3 'base': 6+6 layers, d_model 512, d_ff 2048, 8 heads; "
        "37k shared BPE vocabulary for En-De), source and target 256 tokens, one sentence pair; dense."
    ),
    source=_ZOO.format("TRANSFORMER_BASE", "transformer.transformer_trace"),
)

BERT_LARGE = TransformerSpec(
    name="bert_large",
    d_model=1024,
    ffn=4096,
    heads=16,
    enc_layers=24,
    src_len=512,
    vocab=30522,
    description=(
        "BERT-large (Devlin et al. 2019: 24 layers, hidden 1024, intermediate 4096, 16 heads, WordPiece "
        "vocabulary 30522) at its maximum 512 tokens, one sequence, with the masked-LM logits over all "
        "positions; dense."
    ),
    source=_ZOO.format("BERT_LARGE", "transformer.transformer_trace"),
)

VIT_B16 = ViTSpec(
    name="vit_b16",
    image=224,
    patch=16,
    d_model=768,
    ffn=3072,
    heads=12,
    layers=12,
    classes=1000,
    cls_token=False,
    description=(
        "ViT-B/16 (Dosovitskiy et al. 2021: 12 layers, hidden 768, MLP 3072, 12 heads) on one 224x224 "
        "image: 196 patch tokens and no class token, as [PGF] Table 18 counts (Bambhaniya et al. 2024), plus the "
        "16x16/16 patch-embedding conv and the 1000-class head (which that table leaves out); dense."
    ),
    source=_ZOO.format("VIT_B16", "vit.vit_trace"),
)

LLAMA_7B = TransformerSpec(
    name="llama_7b",
    d_model=4096,
    ffn=11008,
    heads=32,
    kv_heads=32,
    dec_layers=32,
    tgt_len=2048,
    vocab=32000,
    ffn_kind="gated",
    description=(
        "A LLaMA-7B-like decoder (Touvron et al. 2023: 32 layers, d_model 4096, SwiGLU FFN 11008, 32 heads, "
        "32k vocabulary): prefill of one 2048-token sequence, no KV cache; dense."
    ),
    source=_ZOO.format("LLAMA_7B", "transformer.transformer_trace"),
)

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
    source=_ZOO.format("SWINV2_B", "swin.swin_trace"),
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
    source=_ZOO.format("T5_BASE", "transformer.transformer_trace"),
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
    source=_ZOO.format("VIT_L16", "vit.vit_trace"),
)

Spec = TransformerSpec | ViTSpec | SwinSpec

SHIPPED: dict[str, Spec] = {
    DEFAULT_TRACE: WMT_TRANSFORMER_B12,
    "wmt_transformer_1x8.json": WMT_TRANSFORMER,
    "zoo/wmt_transformer.json": ZOO_WMT_TRANSFORMER,
    "zoo/transformer_base.json": TRANSFORMER_BASE,
    "zoo/bert_large.json": BERT_LARGE,
    "zoo/vit_b16.json": VIT_B16,
    "zoo/llama_7b.json": LLAMA_7B,
    "zoo/swinv2_b.json": SWINV2_B,
    "zoo/t5_base.json": T5_BASE,
    "zoo/vit_l16.json": VIT_L16,
}


def build_spec(spec: Spec) -> Trace:
    """Build the trace of a :class:`TransformerSpec`, :class:`ViTSpec` or :class:`SwinSpec`."""
    if isinstance(spec, ViTSpec):
        return vit_trace(spec)
    if isinstance(spec, SwinSpec):
        return swin_trace(spec)
    return transformer_trace(spec)


def build(filename: str) -> Trace:
    """Build the shipped trace ``filename`` (a key of :data:`SHIPPED`, e.g. ``'zoo/vit_b16.json'``)."""
    return build_spec(SHIPPED[filename])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else data_dir("traces")
    for filename in SHIPPED:
        print(save_trace(build(filename), out / filename))


if __name__ == "__main__":
    main()
