"""Which layers a recipe sparsifies: presets (FF, Q/K/V/O, all), class names, exact names, regexes."""

from __future__ import annotations

import re

from torch import nn

from nmsim.errors import NmsimInputError

_FF = r"(.*\.)?(ff|ffn|mlp|feed_forward|feedforward)\.[^.]+|.*(fc1|fc2|linear1|linear2|up_proj|down_proj|gate_proj|dense_1|dense_2|wi|wo|w1|w2|w3)"
_QKVO = r".*(^|\.)(q|k|v|o|q_proj|k_proj|v_proj|o_proj|out_proj|query|key|value|qkv|in_proj|c_attn|c_proj)"
_QKV = r".*(^|\.)(q|k|v|q_proj|k_proj|v_proj|query|key|value|qkv|in_proj|c_attn)"

PRESETS: dict[str, list[str]] = {
    "ff": [_FF],
    "qkv": [_QKV],
    "qkvo": [_QKVO],
    "ff+qkv": [_FF, _QKV],
    "ff+qkvo": [_FF, _QKVO],
    "all": [r".*"],
}
_ELIGIBLE = (nn.Linear, nn.Conv2d)


def eligible_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every ``nn.Linear`` and ``nn.Conv2d`` (including subclasses) by qualified name."""
    return {name: mod for name, mod in model.named_modules() if isinstance(mod, _ELIGIBLE) and name}


def _matches(name: str, mod: nn.Module, pattern: str) -> bool:
    if pattern in PRESETS:
        return any(re.fullmatch(p, name) for p in PRESETS[pattern])
    if pattern.startswith("re:"):
        return re.fullmatch(pattern[3:], name) is not None
    if pattern in ("Linear", "Conv2d"):
        return type(mod).__name__ == pattern or isinstance(mod, getattr(nn, pattern))
    return name == pattern


def select_layers(
    model: nn.Module, targets: list[str] | str, ignore: list[str] | None = None, field: str = "targets"
) -> dict[str, nn.Module]:
    """Linear/Conv2d layers named by ``targets`` and not by ``ignore``, in model order.

    Each entry is a preset (``ff``, ``qkv``, ``qkvo``, ``ff+qkv``, ``ff+qkvo``, ``all``), a class name
    (``Linear``, ``Conv2d``), ``re:<regex>`` (full match on the module's qualified name) or an exact name.
    """
    pats = [targets] if isinstance(targets, str) else list(targets)
    for p in pats:
        if p.startswith("re:"):
            try:
                re.compile(p[3:])
            except re.error as exc:
                raise NmsimInputError(field, f"invalid regex: {exc}", p) from None
    layers = eligible_layers(model)
    chosen = {
        n: m
        for n, m in layers.items()
        if any(_matches(n, m, p) for p in pats) and not any(_matches(n, m, p) for p in ignore or [])
    }
    exact = [
        p for p in pats if p not in PRESETS and not p.startswith("re:") and p not in ("Linear", "Conv2d")
    ]
    for p in exact:
        if p not in layers:
            raise NmsimInputError(field, "names a module that is not a Linear/Conv2d layer of the model", p)
    if not chosen and pats:
        raise NmsimInputError(
            field, f"matched no Linear/Conv2d layer; presets: {', '.join(PRESETS)}", ",".join(pats)
        )
    return chosen


def layer_role(name: str, mod: nn.Module) -> str:
    """Trace role of a layer from its name: ff | q | k | v | qkv | out | head | conv | other."""
    last = name.rsplit(".", 1)[-1]
    if isinstance(mod, nn.Conv2d):
        return "conv"
    if re.fullmatch(_FF, name):
        return "ff"
    table = {
        "q": "q", "q_proj": "q", "query": "q", "k": "k", "k_proj": "k", "key": "k",
        "v": "v", "v_proj": "v", "value": "v", "qkv": "qkv", "in_proj": "qkv", "c_attn": "qkv",
        "o": "out", "o_proj": "out", "out_proj": "out", "c_proj": "out",
        "head": "head", "lm_head": "head", "classifier": "head", "fc": "head",
    }  # fmt: skip
    return table.get(last, "other")
