"""Impose an N:M pattern on the layers of a trace that a *scope* selects (FF, FF+QKV, all, ...).

Scopes follow the layer ``role`` the builders and importers record: ``ff`` = feed-forward layers;
``ff+qk``/``ff+qkv``/``ff+qkvo`` add the attention projections ([PGF] Table 2's "1:8 (FF) + 1:4 (QK)"
rows); ``all`` = every layer marked ``sparsifiable`` (never attention matmuls, embeddings or heads
unless a trace marks them so).
"""

from __future__ import annotations

from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Layer, Trace
from nmsim.sparsity import Pattern, parse_pattern

SCOPES: dict[str, frozenset[str] | None] = {
    "ff": frozenset({"ff"}),
    "ff+qk": frozenset({"ff", "q", "k"}),
    "ff+qkv": frozenset({"ff", "q", "k", "v", "qkv"}),
    "ff+qkvo": frozenset({"ff", "q", "k", "v", "qkv", "out"}),
    "all": None,
}


def check_scope(scope: str) -> str:
    """Validate a scope name (raises :class:`NmsimInputError` naming ``scope``)."""
    if scope not in SCOPES:
        raise NmsimInputError("scope", f"one of {', '.join(SCOPES)}", scope)
    return scope


def in_scope(layer: Layer, scope: str) -> bool:
    """True when ``scope`` selects ``layer`` (only ``sparsifiable`` layers are ever selected)."""
    roles = SCOPES[check_scope(scope)]
    if not layer.sparsifiable:
        return False
    return roles is None or layer.role in roles


def apply_nm(trace: Trace, nm: str | Pattern, scope: str = "ff") -> Trace:
    """A copy of ``trace`` whose in-scope layers carry pattern ``nm`` (a typed pattern or its spelling;
    measured stats are dropped there).

    Layers outside the scope keep their pattern. ``nm`` may be dense to undo sparsity in scope.
    """
    sparsity = parse_pattern(nm, "nm") if isinstance(nm, str) else nm
    if sparsity.is_unstructured:
        raise NmsimInputError("nm", "an 'n:m' pattern or 'dense'", nm)
    pattern = str(sparsity)
    layers = [
        layer.model_copy(update={"pattern": pattern, "density": None, "mask_stats": None})
        if in_scope(layer, scope)
        else layer
        for layer in trace.layers
    ]
    return trace.model_copy(update={"layers": layers})
