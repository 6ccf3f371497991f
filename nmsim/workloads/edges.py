"""Producer→consumer edges of a Transformer's layers, for inter-layer residency.

A pre-LN Transformer block reads the residual stream ``x`` (through a norm) and adds its result back:
``x ← x + o(attn(q(x), k(x), v(x)))``, then ``x ← x + ff2(act(ff1(x)))``. Element-wise ops (norms,
activations, softmax, the residual add itself) fuse into the GEMM before or after them, so the
tensors that live between GEMMs are the GEMMs' own outputs. :class:`ResidualStream` follows the
stream while a builder appends layers in execution order and hands each layer its edges:

- ``inputs``: the layers whose outputs form its activation operand(s): q/k/v read the stream's
  producer (k/v of cross-attention read the encoder's last producer), scores read q and k, context
  reads scores and v, o reads context, ff1 (and a gate) read the stream, ff2 reads ff1 (and the gate);
- ``residual``: the layer whose output is added to its output (o and ff2 add the stream they started
  from), which therefore stays live until then.

``[]`` means the model's input (an embedding or a patch projection outside the trace's GEMMs).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ResidualStream:
    """The residual stream's current producer while a Transformer is built layer by layer."""

    producer: list[str] = field(default_factory=list)
    edges: dict[str, tuple[list[str], list[str] | None]] = field(default_factory=dict)

    def start(self, producer: list[str]) -> None:
        """Begin a new stack (a decoder after an encoder) whose stream starts at ``producer``."""
        self.producer = list(producer)

    def _set(self, name: str, inputs: list[str], residual: list[str] | None = None) -> None:
        self.edges[name] = (list(inputs), None if residual is None else list(residual))

    def attention(
        self,
        q: str,
        k: str,
        v: str,
        scores: str,
        context: str,
        o: str,
        kv_source: list[str] | None = None,
    ) -> None:
        """Edges of one attention sub-block; ``kv_source`` is the encoder's output for cross-attention."""
        x = self.producer
        kv = x if kv_source is None else kv_source
        self._set(q, x)
        self._set(k, kv)
        self._set(v, kv)
        self._set(scores, [q, k])
        self._set(context, [scores, v])
        self._set(o, [context], x)
        self.producer = [o]

    def ffn(self, ff1: str, ff2: str, gate: str | None = None) -> None:
        """Edges of one feed-forward sub-block (``gate``: the gated FFN's second up-projection)."""
        x = self.producer
        self._set(ff1, x)
        if gate is not None:
            self._set(gate, x)
        self._set(ff2, [ff1] if gate is None else [gate, ff1], x)
        self.producer = [ff2]

    def consume(self, name: str) -> None:
        """A layer that reads the stream and ends it (a classifier or LM head)."""
        self._set(name, self.producer)

    def produce(self, name: str, inputs: list[str] | None = None) -> None:
        """A layer whose output becomes the stream (a patch embedding: ``inputs`` default ``[]``)."""
        self._set(name, inputs or [])
        self.producer = [name]


_ATTENTION_PARTS = ("q", "k", "v", "score", "context", "o")


def link_named_layers(
    names: list[str],
) -> tuple[list[str], dict[str, tuple[list[str], list[str] | None]]] | None:
    """Execution order and edges of a Transformer whose layer names follow ``nmsim.train.models``.

    Names: ``<stack>.<i>.<self_attn|cross_attn>.<q|k|v|o|score|context>``, ``<stack>.<i>.ff.<fc1|fc2|gate>``
    and ``head``; stacks (``encoder``, ``decoder``) in the order given; a stack after the first starts a
    new stream, and its ``cross_attn`` keys/values read the previous stack's output. Blocks keep the order
    they come in; within attention the order is q, k, v, score, context, o. Returns ``(order, edges)``,
    or None when a name does not follow the convention (edges then stay unknown, never guessed).
    """
    blocks: dict[str, dict[str, str]] = {}
    head: list[str] = []
    for name in names:
        if name == "head":
            head.append(name)
            continue
        prefix, _, part = name.rpartition(".")
        kind = prefix.rpartition(".")[2]
        allowed = (
            _ATTENTION_PARTS if kind.endswith("attn") else ("fc1", "fc2", "gate") if kind == "ff" else ()
        )
        if part not in allowed or prefix.count(".") != 2:
            return None
        blocks.setdefault(prefix, {})[part] = name
    stream = ResidualStream()
    order: list[str] = []
    stack, memory = None, None
    for prefix, parts in blocks.items():
        top, kind = prefix.split(".")[0], prefix.rpartition(".")[2]
        if top != stack:
            if stack is not None:
                memory = list(stream.producer)
                stream.start([])
            stack = top
        if kind.endswith("attn"):
            if set(parts) != set(_ATTENTION_PARTS):
                return None
            cross = kind.startswith("cross")
            if cross and memory is None:
                return None
            names_in_order = [parts[p] for p in _ATTENTION_PARTS]
            stream.attention(*names_in_order, kv_source=memory if cross else None)
        else:
            if "fc1" not in parts or "fc2" not in parts:
                return None
            names_in_order = [parts[p] for p in ("gate", "fc1", "fc2") if p in parts]
            stream.ffn(parts["fc1"], parts["fc2"], parts.get("gate"))
        order.extend(names_in_order)
    for name in head:
        stream.consume(name)
        order.append(name)
    return order, stream.edges
