"""The shipped traces, each built from its architecture's hyperparameters.

Regenerate with ``python -m nmsim.workloads.zoo [OUTDIR]`` (default: the repo's ``traces/``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nmsim.io.loaders import save_trace
from nmsim.io.registry import DEFAULT_TRACE, data_dir
from nmsim.schemas.trace import Trace
from nmsim.workloads.transformer import TransformerSpec, transformer_trace

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
        "16 heads; shared/docs/recipes.md 5.1, [PGF] Table 16) at its max sequence length 256 for "
        "source and target, one sentence pair, 32k shared vocabulary; FF layers 1:8, the rest dense."
    ),
    source="nmsim.workloads.zoo.WMT_TRANSFORMER via nmsim.workloads.transformer.transformer_trace",
)

SHIPPED: dict[str, TransformerSpec] = {DEFAULT_TRACE: WMT_TRANSFORMER}


def build(filename: str) -> Trace:
    """Build the shipped trace ``filename``."""
    return transformer_trace(SHIPPED[filename])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else data_dir("traces")
    for filename in SHIPPED:
        print(save_trace(build(filename), out / filename))


if __name__ == "__main__":
    main()
