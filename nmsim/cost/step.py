"""The GEMMs of one training step of one layer, each with the sparsity it really has on the hardware.

For a layer with activations X (m×k), weights W̃ (k×n) and output Y (m×n), a step runs
(docs/recipes_cost.md §3; GEMM dims as the simulator's (M, N, K) = output rows, output columns,
reduction):

* ``fwd``   Y  = X·W̃      (m, n, k): weights N:M along k, the hardware mode that holds the pattern;
* ``dgrad`` dX = dY·W̃ᵀ    (m, k, n): the weight operand W̃ᵀ is reduced along n, so it is sparse only
  when the mask is N:M along the output axis too (``transposable``); else dense;
* ``wgrad`` dW = Xᵀ·dY    (k, n, m): no weight operand (dY is dense); dense unless pruned weights get
  no gradient and the hardware skips outputs (``output_sparse_wgrad``): then only the kept rows of
  each column of dW are computed, i.e. M = the forward's compacted K.

At an MDGF step with D > 0 the effective weight has no zeros: the passes run dense, or — with
``mdgf_forward='split'`` — as the N:M GEMM plus the complementary (M−N):M GEMM (docs/references.md#mdgf-split).
Attention matmuls multiply two activations: their two gradients are dense GEMMs of the same shapes.

Ideal FLOPs (docs/references.md#flops-training): fwd ρF, dgrad ρF (zeros of W̃ skipped ideally), wgrad F when pruned
weights get a gradient, else ρF; every pass F at a step with D > 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nmsim.cost.options import CostOptions
from nmsim.cost.phases import LayerPhase
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.gemm import GemmResult, simulate_layer
from nmsim.sim.residency import NO_RESIDENCY, LayerResidency
from nmsim.sparsity import NM, parse_pattern

Pass = Literal["fwd", "dgrad", "wgrad"]
PASSES: tuple[Pass, ...] = ("fwd", "dgrad", "wgrad")


@dataclass(frozen=True)
class StepGemm:
    """One GEMM of a training step: which pass, its dims, the weight pattern it ran with, its result.

    ``flops``: the ideal FLOPs this GEMM stands for; ``flops_dense``: the pass's dense FLOPs (0 on the
    complementary half of a split MDGF pass, so that a pass counts its dense FLOPs once).
    """

    pass_: Pass
    m: int
    n: int
    k: int
    repeat: int
    pattern: str
    result: GemmResult
    flops: float
    flops_dense: int


class GemmCache:
    """Memoised :func:`~nmsim.sim.gemm.simulate_layer` for the GEMMs of training steps on one config."""

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        self._memo: dict[tuple[object, ...], GemmResult] = {}

    def run(
        self,
        m: int,
        n: int,
        k: int,
        repeat: int,
        dtype: str | None,
        pattern: str,
        density: float = 1.0,
        conv_of: Layer | None = None,
        residency: LayerResidency = NO_RESIDENCY,
    ) -> GemmResult:
        """Simulate (m, n, k)×repeat with weights ``pattern``; ``conv_of``: keep that conv's K-runs;
        ``residency``: its hooks (:func:`~nmsim.sim.gemm.simulate_layer`)."""
        runs = conv_of.conv_k_runs if conv_of is not None else 1
        key = (m, n, k, repeat, dtype, pattern, round(density, 12), runs, residency)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        dens = density if parse_pattern(pattern).is_unstructured else None
        if conv_of is not None:
            layer = conv_of.model_copy(update={"pattern": pattern, "density": dens, "mask_stats": None})
        else:
            layer = Layer(
                name=f"gemm_{m}x{n}x{k}",
                op="linear",
                m=m,
                n=n,
                k=k,
                repeat=repeat,
                dtype=dtype,  # type: ignore[arg-type]
                pattern=pattern,
                density=dens,
            )
        result = simulate_layer(layer, self.hw, residency=residency)
        self._memo[key] = result
        return result


@dataclass(frozen=True)
class StepResidency:
    """Residency of one layer's training passes (:func:`nmsim.sim.residency_plan.training_plans`).

    ``fwd``: its forward input is on chip (its producer's output, kept after being stashed to DRAM for
    the backward pass; for an attention matmul, each of its two activation operands whose producer
    kept it); ``dgrad``: its output gradient is on chip (its consumers' data gradients); their
    ``reserved_bytes`` are held in the level holding activations. Outputs are always written to DRAM
    (the forward output is stashed for wgrad, a data gradient is wgrad's operand), and wgrad reads
    both operands from DRAM. An attention layer's dgrad keeps the one-operand rule (its incoming
    gradient only).
    """

    fwd: LayerResidency = NO_RESIDENCY
    dgrad: LayerResidency = NO_RESIDENCY

    def for_pass(self, p: Pass) -> LayerResidency:
        """The residency pass ``p`` runs with: resident reads only (no resident output), the second
        operand on chip in the forward pass only, nothing in wgrad."""
        if p == "wgrad":
            return NO_RESIDENCY
        plan = self.fwd if p == "fwd" else self.dgrad
        return LayerResidency(
            input_resident=plan.input_resident,
            reserved_bytes=plan.reserved_bytes,
            weight_resident=plan.weight_resident and p == "fwd",
        )


NO_STEP_RESIDENCY = StepResidency()


def ideal_densities(state: LayerPhase, decaying: bool) -> dict[Pass, float]:
    """Fraction of each pass's dense FLOPs the math needs (docs/references.md#flops-training, zeros skipped ideally)."""
    if not state.sparse or decaying:
        return {"fwd": 1.0, "dgrad": 1.0, "wgrad": 1.0}
    rho = state.density
    return {"fwd": rho, "dgrad": rho, "wgrad": 1.0 if state.pruned_weights_get_gradient else rho}


def _complement(nm: NM) -> str:
    """The pattern of the pruned weights Φ̄ of an n:m mask: (m−n):m ('dense' when m−n = m)."""
    return "dense" if nm.m - nm.n >= nm.m else f"{nm.m - nm.n}:{nm.m}"


def step_gemms(
    layer: Layer,
    state: LayerPhase,
    decaying: bool,
    cache: GemmCache,
    options: CostOptions,
    residency: StepResidency = NO_STEP_RESIDENCY,
) -> list[StepGemm]:
    """The GEMMs ``layer`` runs in one training step in ``state`` (``decaying``: a step with D > 0);
    ``residency``: whether its forward input and its incoming gradient are still on chip."""
    assert layer.m and layer.n and layer.k
    m, n, k, rep, dt = layer.m, layer.n, layer.k, layer.repeat, layer.dtype
    dense_f = 2 * m * n * k * rep
    conv = layer if layer.conv is not None else None

    def g(p: Pass, dims: tuple[int, int, int], pattern: str, flops: float, fd: int, conv_of=None) -> StepGemm:
        r = cache.run(*dims, rep, dt, pattern, state.density, conv_of, residency.for_pass(p))
        return StepGemm(p, *dims, rep, pattern, r, flops, fd)

    fwd_dims, dgrad_dims, wgrad_dims = (m, n, k), (m, k, n), (k, n, m)
    if not state.sparse:
        return [
            g("fwd", fwd_dims, "dense", dense_f, dense_f, conv),
            g("dgrad", dgrad_dims, "dense", dense_f, dense_f),
            g("wgrad", wgrad_dims, "dense", dense_f, dense_f),
        ]
    rho, pat = state.density, state.pattern
    dgrad_pat = pat if options.transposable else "dense"
    if decaying:
        if options.mdgf_forward == "dense" or state.nm is None:
            return [
                g("fwd", fwd_dims, "dense", dense_f, dense_f, conv),
                g("dgrad", dgrad_dims, "dense", dense_f, dense_f),
                g("wgrad", wgrad_dims, "dense", dense_f, dense_f),
            ]
        comp = _complement(state.nm)
        out = [
            g("fwd", fwd_dims, pat, rho * dense_f, dense_f, conv),
            g("fwd", fwd_dims, comp, (1 - rho) * dense_f, 0, conv),
        ]
        if options.transposable:
            out += [
                g("dgrad", dgrad_dims, pat, rho * dense_f, dense_f),
                g("dgrad", dgrad_dims, comp, (1 - rho) * dense_f, 0),
            ]
        else:
            out.append(g("dgrad", dgrad_dims, "dense", dense_f, dense_f))
        out.append(g("wgrad", wgrad_dims, "dense", dense_f, dense_f))
        return out
    ideal = ideal_densities(state, False)
    fwd = g("fwd", fwd_dims, pat, ideal["fwd"] * dense_f, dense_f, conv)
    dgrad = g("dgrad", dgrad_dims, dgrad_pat, ideal["dgrad"] * dense_f, dense_f)
    wgrad_f = ideal["wgrad"] * dense_f
    if (
        not state.pruned_weights_get_gradient
        and options.output_sparse_wgrad
        and fwd.result.hw_mode != "dense"
    ):
        kc = fwd.result.k_compacted
        r = cache.run(kc, n, m, rep, dt, "dense")
        wgrad = StepGemm("wgrad", kc, n, m, rep, fwd.result.hw_mode, r, wgrad_f, dense_f)
    else:
        wgrad = g("wgrad", wgrad_dims, "dense", wgrad_f, dense_f)
    return [fwd, dgrad, wgrad]
