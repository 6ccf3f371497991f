"""Simulate one GEMM (or one trace layer) on a hardware config: :func:`simulate_gemm`, :func:`simulate_layer`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from nmsim.engine.kernel import evaluate_gemm
from nmsim.engine.layout import BOUNDS, ENERGY_PARTS, OUT
from nmsim.engine.params import hw_vector
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.bounds import check_gemm, check_layers
from nmsim.sim.modes import ModeChoice, choose_mode
from nmsim.sparsity import NM, parse_nm

Compat = Literal["scalesim"] | None


@dataclass(frozen=True)
class GemmResult:
    """Cost of one GEMM (times ``repeat``) on one hardware config.

    Units: cycles; seconds; MACs; bytes; pJ. ``pe_utilization`` = issued MACs / (PEs × cycles), ≤ 1;
    ``effective_macs_per_cycle`` = dense-equivalent MACs per cycle (can exceed the PE count on a sparse
    mode; that is throughput, not utilization).
    """

    name: str
    m: int
    n: int
    k: int
    repeat: int
    dtype: str
    pattern: str
    hw_mode: str
    k_compacted: int
    folds: int
    waves: int
    cycles: int
    compute_cycles: int
    stall_cycles: int
    bound: str
    latency_s: float
    dense_macs: int
    issued_macs: int
    useful_macs: float
    pe_utilization: float
    mapping_efficiency: float
    issued_mac_utilization: float
    effective_macs_per_cycle: float
    dram_bytes: int
    dram_ifmap_bytes: int
    dram_filter_bytes: int
    dram_ofmap_bytes: int
    energy_pj: float
    energy_breakdown_pj: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _result(
    name: str,
    hwv: np.ndarray,
    hw: HardwareConfig,
    m: int,
    n: int,
    k: int,
    repeat: int,
    dtype: str,
    pattern: str,
    choice: ModeChoice,
    density: float,
    compat: bool,
) -> GemmResult:
    v = evaluate_gemm(hwv, m, n, k, choice.kc, choice.meta_bits, repeat, compat, choice.mode is not None)
    return result_from_vector(name, v, hw, m, n, k, repeat, dtype, pattern, choice.label, choice.kc, density)


def result_from_vector(
    name: str,
    v: np.ndarray,
    hw: HardwareConfig,
    m: int,
    n: int,
    k: int,
    repeat: int,
    dtype: str,
    pattern: str,
    hw_mode: str,
    kc: int,
    density: float,
) -> GemmResult:
    """Wrap an engine result vector (:data:`nmsim.engine.layout.OUT_FIELDS`) as a :class:`GemmResult`."""
    vals = v.tolist()
    cycles = int(vals[OUT["cycles"]])
    issued = int(vals[OUT["issued_macs"]])
    dense = m * n * k * repeat
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    useful = dense * density
    return GemmResult(
        name=name,
        m=m,
        n=n,
        k=k,
        repeat=repeat,
        dtype=dtype,
        pattern=pattern,
        hw_mode=hw_mode,
        k_compacted=kc,
        folds=int(vals[OUT["folds"]]),
        waves=int(vals[OUT["waves"]]),
        cycles=cycles,
        compute_cycles=int(vals[OUT["compute_cycles"]]),
        stall_cycles=int(vals[OUT["stall_cycles"]]),
        bound=BOUNDS[int(vals[OUT["bound"]])],
        latency_s=vals[OUT["latency_s"]],
        dense_macs=dense,
        issued_macs=issued,
        useful_macs=useful,
        # SCALE-Sim's "−1" can undercut issued/PEs by a cycle on a 1×1 array; utilization stays ≤ 1.
        pe_utilization=min(1.0, issued / (pes * cycles)),
        mapping_efficiency=vals[OUT["mapping_efficiency"]],
        issued_mac_utilization=useful / issued,
        effective_macs_per_cycle=dense / cycles,
        dram_bytes=int(vals[OUT["dram_bytes"]]),
        dram_ifmap_bytes=int(vals[OUT["dram_ifmap_bytes"]]),
        dram_filter_bytes=int(vals[OUT["dram_filter_bytes"]]),
        dram_ofmap_bytes=int(vals[OUT["dram_ofmap_bytes"]]),
        energy_pj=vals[OUT["energy_pj"]],
        energy_breakdown_pj={p: vals[OUT["energy_" + p]] for p in ENERGY_PARTS},
    )


def _compat_flag(compat: Compat) -> bool:
    if compat not in (None, "scalesim"):
        raise NmsimInputError("compat", "allowed: 'scalesim' or none", compat)
    return compat == "scalesim"


def simulate_gemm(
    m: int,
    n: int,
    k: int,
    hw: HardwareConfig,
    sparsity: str | None = None,
    compat: Compat = None,
    dtype: str | None = None,
    repeat: int = 1,
    name: str = "gemm",
) -> GemmResult:
    """Simulate activations ``m``×``k`` times weights ``k``×``n`` (weights ``sparsity`` 'n:m' along k)."""
    check_gemm(hw, m, n, k, repeat, name)
    nm = parse_nm(sparsity, "sparsity") if sparsity not in (None, "", "dense") else None
    if nm is not None and nm.is_dense:
        nm = None
    hwv = hw_vector(hw, dtype)
    dt = dtype or hw.default_dtype
    guarantees = (nm,) if nm else ()
    density = nm.density if nm else 1.0
    label = str(nm) if nm else "dense"
    flag = _compat_flag(compat)
    choice = choose_mode(hw, k, guarantees, flag)
    return _result(name, hwv, hw, m, n, k, repeat, dt, label, choice, density, flag)


def layer_guarantees(layer: Layer) -> tuple[NM, ...]:
    """Patterns a layer's weights are known to satisfy: nominal n:m first, then measured max:block."""
    out: list[NM] = []
    if layer.nm is not None:
        out.append(layer.nm)
    if layer.mask_stats is not None and layer.mask_stats.max_nonzeros < layer.mask_stats.block:
        out.append(NM(max(1, layer.mask_stats.max_nonzeros), layer.mask_stats.block))
    return tuple(out)


def layer_density(layer: Layer) -> float:
    """Fraction of nonzero weights: measured if known, else the nominal n/m, else 1."""
    if layer.density is not None:
        return layer.density
    if layer.mask_stats is not None:
        return layer.mask_stats.density
    return layer.nm.density if layer.nm else 1.0


def layer_mode(layer: Layer, hw: HardwareConfig, compat: bool) -> ModeChoice:
    """The hardware mode ``layer`` runs in on ``hw`` (the one call every path makes)."""
    assert layer.k
    return choose_mode(hw, layer.k, layer_guarantees(layer), compat, layer.conv_k_runs, layer.mask_stats)


def simulate_layer(
    layer: Layer, hw: HardwareConfig, compat: Compat = None, *, checked: bool = False
) -> GemmResult:
    """Simulate one trace layer on ``hw``; ``checked``: the caller already ran
    :func:`~nmsim.sim.bounds.check_layers` on it (as :func:`nmsim.simulate` does for the whole trace)."""
    dt = layer.dtype or hw.default_dtype
    assert layer.m and layer.n and layer.k
    if not checked:
        check_layers(hw, [(layer.name, layer.m, layer.n, layer.k, layer.repeat)])
    flag = _compat_flag(compat)
    return _result(
        layer.name,
        hw_vector(hw, layer.dtype),
        hw,
        layer.m,
        layer.n,
        layer.k,
        layer.repeat,
        dt,
        layer.pattern,
        layer_mode(layer, hw, flag),
        layer_density(layer),
        flag,
    )
