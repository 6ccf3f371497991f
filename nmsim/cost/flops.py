"""FLOPs accounting as the papers count it: FLOPs = 2 × MACs, weights' zeros skipped ideally.

[PGF] (Bambhaniya et al. 2024, Tables 1 and 18; docs/references.md#flops-inference) splits a
Transformer's inference FLOPs into self-attention ``FLOPs_SA = Q + K + V + L + A + O`` (projections
plus the two attention einsums) and feed-forward ``FLOPs_FF = FF1 + FF2``, scales only the FF part by
its density S_FF = N/M, and leaves out patch embedding, head, norms and softmax. :func:`count_flops`
reports those two parts, their sum ``pgf_total`` and, apart, every other GEMM of the trace
(``other``: embeddings, heads, convs).

A layer's effective FLOPs are its dense FLOPs times its weights' density (measured if known, else the
nominal n/m): the hardware-independent "ideal" count. What a given accelerator executes is the
simulator's business (:mod:`nmsim.sim`), not this module's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nmsim.schemas.trace import Layer, Trace
from nmsim.sim.gemm import layer_density

SA_ROLES = frozenset({"q", "k", "v", "qkv", "out", "attn_score", "attn_context"})
FF_ROLES = frozenset({"ff"})

#: Table-17-style operator groups, in print order.
OPERATOR_GROUPS: dict[str, frozenset[str]] = {
    "Q/K/V/O": frozenset({"q", "k", "v", "qkv", "out"}),
    "L/A": frozenset({"attn_score", "attn_context"}),
    "FF": FF_ROLES,
}


def gemm_flops(m: int, n: int, k: int, repeat: int = 1) -> int:
    """Dense FLOPs of ``repeat`` GEMMs (m×k)·(k×n): 2·m·n·k·repeat (FLOPs)."""
    return 2 * m * n * k * repeat


def layer_flops(layer: Layer) -> tuple[int, float]:
    """(dense FLOPs, effective FLOPs = dense × weight density) of one trace layer (FLOPs)."""
    assert layer.m and layer.n and layer.k
    dense = gemm_flops(layer.m, layer.n, layer.k, layer.repeat)
    return dense, dense * layer_density(layer)


def category(layer: Layer) -> str:
    """``'sa'`` (self-attention), ``'ff'`` (feed-forward) or ``'other'`` (what [PGF] leaves out)."""
    if layer.role in FF_ROLES:
        return "ff"
    if layer.role in SA_ROLES:
        return "sa"
    return "other"


@dataclass(frozen=True)
class FlopsReport:
    """Inference FLOPs of one forward pass (FLOPs, not GFLOPs).

    ``sa``/``ff``/``other``: effective FLOPs per category; ``*_dense``: the same with dense weights;
    ``s_ff`` = ff / ff_dense (the effective FF density); ``pgf_total`` = sa + ff ([PGF] Table 18's
    FLOPs_tot); ``total`` = every layer; ``by_role``/``by_operator``: effective FLOPs per role and per
    Table-17 operator group.
    """

    trace: str
    sa: float
    ff: float
    other: float
    sa_dense: int
    ff_dense: int
    other_dense: int
    by_role: dict[str, float] = field(default_factory=dict)
    by_operator: dict[str, float] = field(default_factory=dict)

    @property
    def s_ff(self) -> float:
        return self.ff / self.ff_dense if self.ff_dense else 1.0

    @property
    def pgf_total(self) -> float:
        return self.sa + self.ff

    @property
    def total(self) -> float:
        return self.sa + self.ff + self.other

    @property
    def total_dense(self) -> int:
        return self.sa_dense + self.ff_dense + self.other_dense

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(s_ff=self.s_ff, pgf_total=self.pgf_total, total=self.total, total_dense=self.total_dense)
        return d


def count_flops(trace: Trace) -> FlopsReport:
    """Count the inference FLOPs of ``trace`` by [PGF]'s categories (see the module docstring)."""
    eff = {"sa": 0.0, "ff": 0.0, "other": 0.0}
    dense = {"sa": 0, "ff": 0, "other": 0}
    by_role: dict[str, float] = {}
    by_op = dict.fromkeys(OPERATOR_GROUPS, 0.0)
    for layer in trace.layers:
        d, e = layer_flops(layer)
        cat = category(layer)
        eff[cat] += e
        dense[cat] += d
        by_role[layer.role] = by_role.get(layer.role, 0.0) + e
        for group, roles in OPERATOR_GROUPS.items():
            if layer.role in roles:
                by_op[group] += e
    return FlopsReport(
        trace=trace.name,
        sa=eff["sa"],
        ff=eff["ff"],
        other=eff["other"],
        sa_dense=dense["sa"],
        ff_dense=dense["ff"],
        other_dense=dense["other"],
        by_role=by_role,
        by_operator=by_op,
    )
