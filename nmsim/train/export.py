"""Layer-trace export from a real forward pass (hooks): GEMM dims, final patterns, mask statistics,
the phase schedule as executed, and metrics, in the core's :class:`~nmsim.schemas.trace.Trace` schema."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nmsim.masks.stats import mask_stats
from nmsim.schemas.trace import (
    ConvShape,
    Layer,
    Metrics,
    Phase,
    PhaseLayerState,
    Trace,
    TrainingRecord,
)
from nmsim.sparsity import DENSE, Pattern
from nmsim.train.masks import grouped_rows
from nmsim.train.selectors import eligible_layers, layer_role
from nmsim.train.sparsifier import Sparsifier, _unwrap
from nmsim.workloads.edges import link_named_layers


def record_gemms(model: nn.Module, run_forward: Callable[[], Any]) -> list[dict[str, Any]]:
    """Run ``run_forward()`` once under hooks; return each Linear/Conv2d call's GEMM (m tokens × k in × n out).

    Modules exposing ``last_matmuls`` (attention: ``(name, m, k, n, repeat)``) add their
    activation-activation matmuls. Layers called several times keep their first call.
    """
    model = _unwrap(model)
    records: dict[str, dict[str, Any]] = {}
    hooks = []

    def linear_hook(name: str) -> Callable:
        def hook(mod: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            x = inputs[0]
            if name in records:
                return
            if isinstance(mod, nn.Conv2d):
                b, c, h, w = x.shape if x.dim() == 4 else (1, *x.shape)
                conv = ConvShape(batch=b, in_channels=c, out_channels=mod.out_channels,
                                 kernel_h=mod.kernel_size[0], kernel_w=mod.kernel_size[1],
                                 input_h=h, input_w=w, stride=mod.stride[0], padding=int(mod.padding[0]))  # fmt: skip
                records[name] = {"name": name, "op": "conv2d", "conv": conv, "module": mod}
            else:
                m = math.prod(x.shape[:-1])
                records[name] = {"name": name, "op": "linear", "m": m, "k": mod.in_features,
                                 "n": mod.out_features, "module": mod}  # fmt: skip

        return hook

    for name, mod in eligible_layers(model).items():
        hooks.append(mod.register_forward_hook(linear_hook(name)))
    try:
        with torch.no_grad():
            run_forward()
    finally:
        for h in hooks:
            h.remove()
    out = []
    for name, mod in model.named_modules():
        if name in records:
            out.append(records[name])
        for mm in getattr(mod, "last_matmuls", None) or []:
            label, m, k, n, rep = mm
            role = "attn_score" if label == "score" else "attn_context"
            out.append({"name": f"{name}.{label}", "op": "attention", "role": role, "m": m, "k": k, "n": n,
                        "repeat": rep})  # fmt: skip
    return out


def _final_state(sp: Sparsifier | None, name: str) -> tuple[Pattern, torch.Tensor | None, int]:
    """(pattern, effective weight or None, mask-stat block) of a layer at the end of training."""
    if sp is None or name not in sp.layers:
        return DENSE, None, 0
    st = sp.state
    if name not in sp.layers_in_force(st):
        return DENSE, None, 0
    w = sp.effective_weights()[name]
    block = sp.plan.block_for(st.stage)
    if st.decay > 0.0:
        return DENSE, w, block
    return st.sparsity, w, block


def build_layers(records: list[dict[str, Any]], sp: Sparsifier | None) -> list[Layer]:
    """Trace layers from :func:`record_gemms` records and the sparsifier's final masks."""
    layers = []
    for rec in records:
        rec = dict(rec)
        mod = rec.pop("module", None)
        if rec["op"] == "attention":
            layers.append(Layer(**rec))
            continue
        name = rec["name"]
        pattern, w, block = _final_state(sp, name)
        role = layer_role(name, mod)
        extra: dict[str, Any] = {"role": role, "sparsifiable": role not in ("head", "embedding")}
        if w is not None:
            axis = sp.axis if sp is not None else 1
            k_len = w.shape[axis % w.dim()]
            if block and k_len % block == 0:
                extra["mask_stats"] = mask_stats(grouped_rows(w != 0, axis), block, layout="nk")
            extra["density"] = max(float((w != 0).float().mean()), 1e-9)
        layers.append(Layer(pattern=str(pattern), **rec, **extra))
    return with_edges(layers)


def with_edges(layers: list[Layer]) -> list[Layer]:
    """``layers`` in execution order with producer→consumer edges, when their names follow
    ``nmsim.train.models``' convention (:func:`nmsim.workloads.edges.link_named_layers`); else unchanged."""
    linked = link_named_layers([layer.name for layer in layers])
    if linked is None:
        return layers
    order, edges = linked
    by_name = {layer.name: layer for layer in layers}
    out = []
    for name in order:
        inputs, residual = edges[name]
        out.append(by_name[name].model_copy(update={"inputs": inputs, "residual": residual}))
    return out


def build_training_record(sp: Sparsifier, batch_size: int | None, tokens: int | None,
                          params: dict[str, Any], settings_hash: str | None = None,
                          provenance: dict[str, str] | None = None) -> TrainingRecord:  # fmt: skip
    """The recipe and the phase schedule as executed (one :class:`Phase` per executed segment)."""
    phases = []
    prev = None
    for seg in sp.segments:
        layers: dict[str, PhaseLayerState] = {}
        pattern = seg.pattern
        if not pattern.is_dense:
            names = sp._stage_layers.get(seg.stage, ()) if seg.stage is not None else ()
            state = PhaseLayerState(
                pattern=str(pattern), decay_factor_start=seg.decay_start, decay_factor_end=seg.decay_end,
                density=seg.density if pattern.is_unstructured else None,
            )  # fmt: skip
            layers = dict.fromkeys(names, state)
        label = seg.stage_name if pattern.is_dense else f"{seg.stage_name} {pattern}"
        if pattern.is_unstructured:
            label = f"{seg.stage_name} density {seg.density:.4g}"
        if prev is not None and prev.stage == seg.stage and prev.decay_end > 0.0 and seg.decay_start == 0.0:
            label += " D=0"  # the decay stage's tail, where the pruned weights are exactly zero
        prev = seg
        phases.append(Phase(name=label, kind=seg.kind, start_step=seg.start, end_step=seg.end, layers=layers,
                            mask_refresh_every=seg.refresh_every, grad_mode=seg.grad_mode))  # fmt: skip
    if not phases:
        raise ValueError("the sparsifier has executed no step yet")
    final = sp.state
    target = final.sparsity if final.decay == 0.0 else DENSE
    density = None if target.is_dense else round(final.density, 6)
    return TrainingRecord(
        recipe=sp.recipe.name, target=str(target), params=params, total_steps=phases[-1].end_step,
        batch_size=batch_size, tokens_per_step=tokens, sparsified_layers=list(sp.layers), phases=phases,
        target_density=density, settings_hash=settings_hash, provenance=provenance or {},
    )  # fmt: skip


def export_trace(
    model: nn.Module,
    run_forward: Callable[[], Any],
    sparsifier: Sparsifier | None = None,
    *,
    name: str,
    description: str = "",
    source: str = "nmsim.train",
    metrics: Metrics | None = None,
    batch_size: int | None = None,
    tokens_per_step: int | None = None,
    params: dict[str, Any] | None = None,
    settings_hash: str | None = None,
    provenance: dict[str, str] | None = None,
) -> Trace:
    """Hook a forward pass of ``model`` (``run_forward()``) and build a validated :class:`Trace`."""
    was_training = _unwrap(model).training
    _unwrap(model).eval()
    try:
        records = record_gemms(model, run_forward)
    finally:
        _unwrap(model).train(was_training)
    training = None
    if sparsifier is not None and sparsifier.segments:
        training = build_training_record(sparsifier, batch_size, tokens_per_step, params or {}, settings_hash,
                                         provenance)  # fmt: skip
    return Trace(name=name, description=description, source=source, layers=build_layers(records, sparsifier),
                 training=training, metrics=metrics)  # fmt: skip
