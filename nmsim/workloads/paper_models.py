"""The models of [PGF]'s tables (Bambhaniya et al., arXiv:2402.04744) by the data file's key — ViT-B/16,
SwinV2-B, T5X-Base (T5.1.1), the WMT encoder-decoder and ViT-L/16 (its speedup tables), all from the
zoo (:mod:`nmsim.workloads.zoo`) — and :func:`paper_model_trace`, which builds one at a training batch.
"""

from __future__ import annotations

import dataclasses

from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Trace
from nmsim.workloads.zoo import SWINV2_B, T5_BASE, VIT_B16, VIT_L16, ZOO_WMT_TRANSFORMER, Spec, build_spec

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
    return build_spec(dataclasses.replace(spec, batch=batch))
