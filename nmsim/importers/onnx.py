"""ONNX models → an nmsim trace: every MatMul, Gemm and Conv node becomes a GEMM layer.

Shapes come from ONNX shape inference after the graph inputs' symbolic dimensions are fixed (the
first dimension of each input is the batch, ``batch``; any other symbolic dimension is the sequence
length, ``seq_len``). A node whose weight operand is a constant (an initializer, a ``Constant``
node, or one reached through ``Identity``/``Cast``/``Transpose``) is a weight layer; its weights'
real N:M pattern and mask statistics are read from the values (see :func:`detect_pattern`). A
MatMul of two activations is an ``attention`` layer (dense), repeated over its batch dimensions.
Needs the optional ``onnx`` package (``pip install 'nmsim[onnx]'``).

GEMM convention (nmsim's): activations m×k, weights k×n, N:M groups along k — the input features
of a Gemm/MatMul weight, the input channels (at a fixed output channel and kernel position) of a
Conv weight.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from nmsim.errors import NmsimInputError, from_validation_error
from nmsim.io.guard import check_onnx_model, check_onnx_size
from nmsim.schemas.trace import ConvShape, Layer, MaskStats, Trace
from nmsim.sparsity import DENSE, NM, Pattern, Unstructured
from nmsim.workloads.scope import apply_nm, check_scope

#: Block sizes M tried when reading a weight's N:M pattern.
CANDIDATE_BLOCKS: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128)
_PASS_THROUGH = ("Identity", "Cast")
_ACT_PASS = ("Identity", "Cast", "Dropout")

_ROLE_RULES: tuple[tuple[str, str], ...] = (
    ("head", r"(lm_head|classifier|(^|[./_])head([./_]|$)|logits)"),
    ("embedding", r"(embed|(^|[./_])wte([./_]|$)|(^|[./_])wpe([./_]|$))"),
    ("qkv", r"(qkv|c_attn|in_proj)"),
    ("q", r"(q_proj|query|(^|[./_])(q|wq)([./_]|$))"),
    ("k", r"(k_proj|(^|[./_])key([./_]|$)|(^|[./_])(k|wk)([./_]|$))"),
    ("v", r"(v_proj|value|(^|[./_])(v|wv)([./_]|$))"),
    ("out", r"(o_proj|out_proj|attention[./_]output|attn[./_](proj|o)([./_]|$)|self_attn[./_]o([./_]|$))"),
    (
        "ff",
        r"(fc1|fc2|mlp|ffn|feed_?forward|intermediate|up_proj|down_proj|gate_proj|linear1|linear2"
        r"|(^|[./_])(w1|w2|w3|wi|wo|ff1|ff2|ff_gate)([./_]|$)|output[./_]dense)",
    ),
)


@dataclass(frozen=True)
class WeightPattern:
    """What a weight tensor's zeros say: ``pattern`` (dense, n:m or unstructured with its density),
    ``density`` (fraction of nonzeros, None when dense) and ``mask_stats`` (block histogram, None when dense)."""

    pattern: Pattern
    density: float | None
    mask_stats: MaskStats | None


def detect_pattern(vectors: np.ndarray) -> WeightPattern:
    """Read the N:M pattern of weights laid out as rows of reduction-axis vectors (shape [R, K]).

    For every M in :data:`CANDIDATE_BLOCKS` dividing K, n(M) = the most nonzeros in any group of M
    consecutive elements; the pattern is the n(M):M of lowest density n(M)/M (ties: smaller M), among
    those with n(M) < M. No such M: 'unstructured' (with the measured density), or 'dense' with no zero.
    """
    nz = np.asarray(vectors) != 0
    if nz.ndim != 2 or nz.size == 0:
        raise NmsimInputError(
            "weights", "expected a non-empty [rows, K] weight matrix", getattr(nz, "shape", None)
        )
    density = float(nz.mean())
    if density == 1.0:
        return WeightPattern(DENSE, None, None)
    rows, k = nz.shape
    best: tuple[float, int, int, np.ndarray] | None = None
    for m in CANDIDATE_BLOCKS:
        if m > k or k % m:
            continue
        counts = nz.reshape(rows, k // m, m).sum(axis=-1)
        n = int(counts.max())
        if n < m and (best is None or (n / m, m) < (best[0], best[1])):
            best = (n / m, m, n, counts)
    dens = max(density, 1e-9)
    if best is None or best[2] == 0:
        block = next((m for m in (4, 2) if k % m == 0), None)
        stats = None
        if block is not None:
            counts = nz.reshape(rows, k // block, block).sum(axis=-1)
            stats = MaskStats(
                block=block, histogram=np.bincount(counts.ravel(), minlength=block + 1).tolist()
            )
        return WeightPattern(Unstructured(dens), dens, stats)
    _, m, n, counts = best
    hist = np.bincount(counts.ravel(), minlength=m + 1).tolist()
    return WeightPattern(NM(n, m), dens, MaskStats(block=m, histogram=hist))


def classify_role(name: str) -> str:
    """A layer's role from its (initializer or node) name: ff, q, k, v, qkv, out, head, embedding, other."""
    low = name.lower()
    for role, rule in _ROLE_RULES:
        if re.search(rule, low):
            return role
    return "other"


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise NmsimInputError(
            "onnx", "the ONNX importer needs the optional extra: pip install 'nmsim[onnx]'"
        ) from None
    return onnx


class _Graph:
    """Shapes, constants and producers of an ONNX graph after shape inference."""

    def __init__(self, model: Any, onnx: Any) -> None:
        self.onnx = onnx
        g = model.graph
        self.graph = g
        self.inits = {t.name: t for t in g.initializer}
        self.producer = {out: node for node in g.node for out in node.output}
        self.shapes: dict[str, list[int | None]] = {}
        for vi in [*g.input, *g.value_info, *g.output]:
            tt = vi.type.tensor_type
            if tt.HasField("shape"):
                self.shapes[vi.name] = [
                    d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim
                ]
        for t in g.initializer:
            self.shapes[t.name] = list(t.dims)
        self._const: dict[str, np.ndarray | None] = {}

    def const(self, name: str) -> np.ndarray | None:
        """The value of ``name`` if it is constant (initializer, Constant, or pass-through of one)."""
        if name in self._const:
            return self._const[name]
        nh = self.onnx.numpy_helper
        value: np.ndarray | None = None
        if name in self.inits:
            value = nh.to_array(self.inits[name])
        else:
            node = self.producer.get(name)
            if node is not None and node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        value = nh.to_array(a.t)
            elif node is not None and node.op_type in (*_PASS_THROUGH, "Transpose") and node.input:
                src = self.const(node.input[0])
                if src is not None and node.op_type == "Transpose":
                    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
                    src = np.transpose(src, perm) if perm else src.T
                value = src
        self._const[name] = value
        return value

    def const_name(self, name: str) -> str:
        """The initializer behind a constant value (through pass-through nodes), else ``name``."""
        node = self.producer.get(name)
        while node is not None and node.op_type in (*_PASS_THROUGH, "Transpose") and node.input:
            name = node.input[0]
            node = self.producer.get(name)
        return name

    def shape(self, name: str, node: Any) -> list[int]:
        dims = self.shapes.get(name)
        if dims is None and self.const(name) is not None:
            dims = list(self.const(name).shape)  # type: ignore[union-attr]
        if dims is None or any(d is None or d <= 0 for d in dims):
            raise NmsimInputError(
                "shape",
                f"shape of '{name}' (input of {node.op_type} node '{node.name}') is unknown after ONNX "
                "shape inference; give --seq-len/--batch or fixed input shapes",
                str(dims) if dims is not None else None,
            )
        return [int(d) for d in dims]

    def produced_by_softmax(self, name: str) -> bool:
        node = self.producer.get(name)
        while node is not None and node.op_type in _ACT_PASS and node.input:
            node = self.producer.get(node.input[0])
        return node is not None and node.op_type == "Softmax"


def _producers(g: _Graph, node: Any, layer_of: dict[str, str]) -> list[str]:
    """The layers whose outputs reach ``node``'s non-constant inputs through non-GEMM nodes only
    (element-wise ops, norms, reshapes, softmax, residual adds): its producer→consumer edges.

    ONNX lists nodes in topological order, so every producer layer is already in ``layer_of``; a path
    that ends at a graph input contributes nothing (``[]`` = the model's input). Listed operand by
    operand in the node's input order (each operand's producers sorted), so a MatMul of two
    activations lists [left, right] (``Layer.inputs``)."""
    out: list[str] = []
    visited: set[str] = set()
    for operand in node.input:
        if not operand or g.const(operand) is not None:
            continue
        found: list[str] = []
        stack = [operand]
        while stack:
            name = stack.pop()
            if name in visited:
                continue
            visited.add(name)
            if name in layer_of:
                if layer_of[name] not in out and layer_of[name] not in found:
                    found.append(layer_of[name])
                continue
            prod = g.producer.get(name)
            if prod is not None:
                stack.extend(x for x in prod.input if x and g.const(x) is None)
        out += sorted(found)
    return out


def _fix_inputs(model: Any, seq_len: int | None, batch: int) -> None:
    """Give every symbolic (or unknown) dimension of the graph inputs a value, in place."""
    inits = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in inits or not vi.type.tensor_type.HasField("shape"):
            continue
        for i, d in enumerate(vi.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            label = d.dim_param or "?"
            if i == 0:
                d.dim_value = batch
            elif seq_len is not None:
                d.dim_value = seq_len
            else:
                raise NmsimInputError(
                    "seq-len",
                    f"input '{vi.name}' has symbolic dimension {i} ('{label}'): give --seq-len",
                )


def _clean(name: str) -> str:
    name = re.sub(r"\.(weight|kernel)$", "", name)
    name = re.sub(r"/(MatMul|Gemm|Conv)(_\d+)?$", "", name)
    return name.strip("/").replace("/", ".") or "layer"


def _layer_name(g: _Graph, node: Any, weight: str | None, index: int) -> str:
    if weight is not None and weight in g.inits and not weight.startswith("onnx::"):
        return _clean(weight)
    if node.name:
        return _clean(node.name)
    return f"{node.op_type.lower()}_{index}"


def _attr(node: Any, name: str, default: Any) -> Any:
    for a in node.attribute:
        if a.name == name:
            if a.type == a.INT:
                return a.i
            if a.type == a.INTS:
                return list(a.ints)
            if a.type == a.FLOAT:
                return a.f
            if a.type == a.STRING:
                return a.s.decode("utf-8", "replace")
    return default


def _weight_layer(name: str, m: int, k: int, n: int, repeat: int, w_kn: np.ndarray) -> dict[str, Any]:
    """Fields of a linear layer whose weights ``w_kn`` are [..., K, N] (N:M groups along K)."""
    vectors = np.swapaxes(w_kn.reshape(-1, k, n), 1, 2).reshape(-1, k)
    wp = detect_pattern(vectors)
    return {
        "name": name,
        "op": "linear",
        "role": classify_role(name),
        "m": m,
        "k": k,
        "n": n,
        "repeat": repeat,
        "pattern": str(wp.pattern),
        "density": wp.density,
        "mask_stats": wp.mask_stats,
    }


def _matmul(g: _Graph, node: Any, index: int) -> dict[str, Any] | None:
    a, b = node.input[0], node.input[1]
    wa, wb = g.const(a), g.const(b)
    if wa is not None and wb is not None:
        return None  # constant folding, not a layer
    if wb is not None:
        sa = g.shape(a, node)
        if wb.ndim < 2 or len(sa) < 1:
            return None
        k, n = wb.shape[-2], wb.shape[-1]
        rep = math.prod(wb.shape[:-2])
        m = math.prod(sa[:-1]) // rep if rep > 1 else math.prod(sa[:-1])
        return _weight_layer(_layer_name(g, node, g.const_name(b), index), m, k, n, rep, wb)
    if wa is not None:
        # Y = W·X with W constant (M_w×K): Yᵀ = Xᵀ·Wᵀ, weights Wᵀ (K×M_w), groups along K = W's axis -1
        sb = g.shape(b, node)
        if wa.ndim != 2 or len(sb) < 2:
            return None
        k, mw = wa.shape[1], wa.shape[0]
        m = math.prod(sb[:-2]) * sb[-1]
        return _weight_layer(_layer_name(g, node, g.const_name(a), index), m, k, mw, 1, wa.T)
    sa, sb = g.shape(a, node), g.shape(b, node)
    if len(sa) < 2 or len(sb) < 2:
        return None
    batch = np.broadcast_shapes(tuple(sa[:-2]), tuple(sb[:-2]))
    role = "attn_context" if g.produced_by_softmax(a) else "attn_score"
    return {
        "name": _layer_name(g, node, None, index),
        "op": "attention",
        "role": role,
        "m": sa[-2],
        "k": sa[-1],
        "n": sb[-1],
        "repeat": max(1, math.prod(batch)),
    }


def _gemm(g: _Graph, node: Any, index: int) -> dict[str, Any] | None:
    a, b = node.input[0], node.input[1]
    ta, tb = _attr(node, "transA", 0), _attr(node, "transB", 0)
    sa = g.shape(a, node)
    m, k = (sa[1], sa[0]) if ta else (sa[0], sa[1])
    wb = g.const(b)
    if wb is None:
        sb = g.shape(b, node)
        n = sb[0] if tb else sb[1]
        return {
            "name": _layer_name(g, node, None, index),
            "op": "attention",
            "role": "other",
            "m": m,
            "k": k,
            "n": n,
        }
    w_kn = wb.T if tb else wb
    return _weight_layer(_layer_name(g, node, g.const_name(b), index), m, k, w_kn.shape[1], 1, w_kn)


def _conv(g: _Graph, node: Any, index: int) -> dict[str, Any] | None:
    x, w_name = node.input[0], node.input[1]
    w = g.const(w_name)
    if w is None or w.ndim != 4:
        return None  # only 2-D convolutions with constant weights
    sx = g.shape(x, node)
    groups = int(_attr(node, "group", 1))
    o, cg, kh, kw = (int(d) for d in w.shape)
    strides = _attr(node, "strides", [1, 1])
    pads = _attr(node, "pads", [0, 0, 0, 0])
    dil = _attr(node, "dilations", [1, 1])
    name = _layer_name(g, node, g.const_name(w_name), index)
    # weights [O, C/g, kh, kw]: N:M groups along input channels at a fixed (o, kh, kw)
    wp = detect_pattern(np.transpose(w, (0, 2, 3, 1)).reshape(-1, cg))
    fields: dict[str, Any] = {
        "name": name,
        "role": "conv",
        "repeat": groups,
        "pattern": str(wp.pattern),
        "density": wp.density,
        "mask_stats": wp.mask_stats,
    }
    plain = (
        len(set(strides)) == 1
        and len(set(pads)) == 1
        and set(dil) == {1}
        and _attr(node, "auto_pad", "") in ("", "NOTSET")
    )
    if plain and len(sx) == 4:
        fields["op"] = "conv2d"
        fields["conv"] = ConvShape(
            batch=sx[0],
            in_channels=cg,
            out_channels=o // groups,
            kernel_h=kh,
            kernel_w=kw,
            input_h=sx[2],
            input_w=sx[3],
            stride=strides[0],
            padding=pads[0],
        )
        return fields
    sy = g.shape(node.output[0], node)
    fields.update(op="linear", m=sy[0] * math.prod(sy[2:]), k=cg * kh * kw, n=o // groups)
    return fields


_HANDLERS = {"MatMul": _matmul, "Gemm": _gemm, "Conv": _conv}


def import_onnx(
    path: str | Path,
    seq_len: int | None = None,
    batch: int = 1,
    nm: str | None = None,
    scope: str = "ff",
    name: str | None = None,
    dtype: str | None = None,
) -> Trace:
    """Read an ONNX model into a :class:`Trace` (one layer per MatMul/Gemm/Conv node, graph order).

    ``seq_len``/``batch`` fix the inputs' symbolic dimensions; ``nm`` imposes a pattern over
    ``scope`` after the weights' own patterns were read; ``dtype`` sets every layer's data type
    (default: the hardware's).
    """
    onnx = _require_onnx()
    if nm is not None:
        check_scope(scope)
    for field, v in (("seq-len", seq_len), ("batch", batch)):
        if v is not None and (isinstance(v, bool) or v < 1):
            raise NmsimInputError(field, "must be a positive integer", v)
    p = Path(path)
    check_onnx_size(p)
    try:
        model = onnx.load(str(p))
    except Exception as exc:  # protobuf decode errors, missing files, external data
        raise NmsimInputError("file", f"cannot read '{p}' as an ONNX model: {type(exc).__name__}") from None
    _fix_inputs(model, seq_len, batch)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise NmsimInputError(
            "model", f"ONNX shape inference failed: {str(exc).splitlines()[0][:200]}"
        ) from None
    check_onnx_model(onnx, model, str(p))  # with the shapes inference filled in (outputs may omit them)
    g = _Graph(model, onnx)
    layers: list[Layer] = []
    seen: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    layer_of: dict[str, str] = {}  # output tensor of a layer node → the layer's name
    for i, node in enumerate(model.graph.node):
        handler = _HANDLERS.get(node.op_type)
        fields = handler(g, node, i) if handler else None
        if fields is None:
            skipped[node.op_type] += 1
            continue
        base = fields["name"]
        seen[base] += 1
        if seen[base] > 1:
            fields["name"] = f"{base}#{seen[base]}"
        if dtype is not None:
            fields["dtype"] = dtype
        fields["inputs"] = _producers(g, node, layer_of)
        layer_of.update(dict.fromkeys(node.output, fields["name"]))
        try:
            layers.append(Layer(**fields))
        except ValidationError as exc:
            raise from_validation_error(exc, f"{p} node '{node.name or node.op_type}'") from None
    if not layers:
        raise NmsimInputError("model", f"'{p}' has no MatMul, Gemm or Conv node with known shapes")
    ignored = ", ".join(f"{op}×{c}" for op, c in sorted(skipped.items()))
    opts = f" --seq-len {seq_len}" if seq_len is not None else ""
    trace = Trace(
        name=name or p.stem,
        description=f"imported from ONNX {p.name}: {len(layers)} GEMM layers; not GEMMs (left out): {ignored or 'none'}",
        source=f"nmsim import-onnx {p.name}{opts} --batch {batch}",
        layers=layers,
    )
    return apply_nm(trace, nm, scope) if nm is not None else trace
