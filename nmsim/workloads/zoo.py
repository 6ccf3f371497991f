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

Spec = TransformerSpec | ViTSpec

SHIPPED: dict[str, Spec] = {
    DEFAULT_TRACE: WMT_TRANSFORMER,
    "zoo/wmt_transformer.json": ZOO_WMT_TRANSFORMER,
    "zoo/transformer_base.json": TRANSFORMER_BASE,
    "zoo/bert_large.json": BERT_LARGE,
    "zoo/vit_b16.json": VIT_B16,
    "zoo/llama_7b.json": LLAMA_7B,
}


def build_spec(spec: Spec) -> Trace:
    """Build the trace of a :class:`TransformerSpec` or :class:`ViTSpec`."""
    if isinstance(spec, ViTSpec):
        return vit_trace(spec)
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
