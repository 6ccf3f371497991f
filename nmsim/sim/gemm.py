"""Simulate one GEMM (or one trace layer) on a hardware config: :func:`simulate_gemm`, :func:`simulate_layer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from nmsim.engine.kernel import evaluate_gemm
from nmsim.engine.layout import (
    BOUNDS,
    ENERGY_PARTS,
    LEVEL_SLOTS,
    LOOP_ORDERS,
    OBJECTIVES,
    OUT_FIELDS,
    gemm_row,
    port_names,
    unpack,
)
from nmsim.engine.params import hw_vector
from nmsim.errors import NmsimInputError
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.bounds import check_gemm, check_layers
from nmsim.sim.modes import ModeChoice, choose_mode
from nmsim.sim.residency import NO_RESIDENCY, LayerResidency, residency_budget
from nmsim.sim.result import GemmResult
from nmsim.sim.software_mode import check_sparse_kernel, runs_in_software, software_result
from nmsim.sparsity import NM, parse_pattern

Compat = Literal["scalesim"] | None
Objective = Literal["latency", "energy", "edp"]


def objective_code(objective: str) -> int:
    """Index of ``objective`` in :data:`nmsim.engine.layout.OBJECTIVES` (one-line error otherwise)."""
    if objective not in OBJECTIVES:
        raise NmsimInputError("objective", f"one of {', '.join(OBJECTIVES)}", objective)
    return OBJECTIVES.index(objective)


def reserved_slots(hw: HardwareConfig, reserved: Mapping[str, float] | None) -> tuple[float, ...]:
    """``{level name: bytes}`` held by resident tensors → bytes per on-chip level slot."""
    out = [0.0] * LEVEL_SLOTS
    names = [lv.name for lv in hw.memory.levels[:-1]]
    for level, nbytes in (reserved or {}).items():
        if level not in names:
            raise NmsimInputError("reserved", f"an on-chip level of '{hw.name}': {', '.join(names)}", level)
        out[names.index(level)] += float(nbytes)
    return tuple(out)


def residency_slots(hw: HardwareConfig, residency: LayerResidency) -> tuple[float, ...]:
    """Bytes per on-chip level slot held while a layer with ``residency`` runs: its
    ``reserved_bytes`` in the level holding activations (the one the planner budgets)."""
    if not residency.reserved_bytes:
        return reserved_slots(hw, None)
    level, _ = residency_budget(hw)
    if level is None:
        raise NmsimInputError(
            "reserved_bytes",
            f"0 on '{hw.name}' (no on-chip level holds activations)",
            residency.reserved_bytes,
        )
    return reserved_slots(hw, {level: float(residency.reserved_bytes)})


def residency_row(
    m: int,
    n: int,
    k: int,
    repeat: int,
    choice: ModeChoice,
    compat: bool,
    objective: int,
    residency: LayerResidency,
    reserved: tuple[float, ...],
) -> tuple[float, ...]:
    """The engine's GEMM row for (m, n, k)×repeat in mode ``choice`` with the hooks of ``residency``
    (``reserved``: bytes per on-chip level slot, :func:`residency_slots`)."""
    return gemm_row(
        m, n, k, choice.kc, choice.meta_bits, repeat, compat, choice.mode is not None, objective,
        residency.input_resident, residency.output_resident, reserved, residency.weight_resident,
    )  # fmt: skip


_FALLBACK_COPIES: dict[tuple[int, str], tuple[HardwareConfig, HardwareConfig]] = {}


def with_fallback(hw: HardwareConfig, fallback: str | None) -> HardwareConfig:
    """``hw`` with ``sparse.fallback`` set to ``fallback`` (None: unchanged); memoised per config object,
    so that the flattened vector of the copy is memoised too."""
    if fallback is None or fallback == hw.sparse.fallback:
        return hw
    if fallback not in ("auto", "never"):
        raise NmsimInputError("fallback", "auto or never", fallback)
    hit = _FALLBACK_COPIES.get((id(hw), fallback))
    if hit is not None and hit[0] is hw:
        return hit[1]
    copy = hw.model_copy(update={"sparse": hw.sparse.model_copy(update={"fallback": fallback})})
    if len(_FALLBACK_COPIES) > 256:
        _FALLBACK_COPIES.clear()
    _FALLBACK_COPIES[(id(hw), fallback)] = (hw, copy)
    return copy


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
    objective: int,
    residency: LayerResidency,
    reserved: tuple[float, ...],
) -> GemmResult:
    row = residency_row(m, n, k, repeat, choice, compat, objective, residency, reserved)
    v = evaluate_gemm(hwv, np.array(row))
    return result_from_vector(
        name, v, hw, m, n, k, repeat, dtype, pattern, choice.label, choice.kc, density, residency
    )  # fmt: skip


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
    residency: LayerResidency = NO_RESIDENCY,
) -> GemmResult:
    """Wrap an engine result vector (:data:`nmsim.engine.layout.OUT_FIELDS`) as a :class:`GemmResult`;
    the residency hooks the row was evaluated with are recorded as given (``reserved_bytes``: on-chip
    bytes held by resident tensors, all levels)."""
    o = unpack(OUT_FIELDS, v)
    cycles = int(o["cycles"])
    issued = int(o["issued_macs"])
    dense = m * n * k * repeat
    useful = dense * density
    fell = o["fell_back"] != 0.0
    if fell:
        hw_mode, kc = "dense", k
    slots = int(o["peak_mac_slots"])
    per_level = bytes_per_level(hw, o)
    mapping = {
        "loop_order": LOOP_ORDERS[int(o["loop_order"])],
        "tile_m": int(o["tile_m"]),
        "tile_n": int(o["tile_n"]),
        "tile_k": int(o["tile_k"]),
        "dense_schedule": o["dense_schedule"] != 0.0,
        "inner_tile": inner_tile(o),
        "work_cycles": int(o["work_cycles"]),
        "fixed_cycles": int(o["fixed_cycles"]),
        "memory_cycles": int(o["memory_cycles"]),
        "port_cycles": int(o["port_cycles"]),
        "port_binding": port_binding(hw, o),
        "bytes_per_level": per_level,
    }
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
        fell_back=fell,
        folds=int(o["folds"]),
        waves=int(o["waves"]),
        cycles=cycles,
        compute_cycles=int(o["compute_cycles"]),
        stall_cycles=int(o["stall_cycles"]),
        bound=BOUNDS[int(o["bound"])],
        latency_s=o["latency_s"],
        dense_macs=dense,
        issued_macs=issued,
        useful_macs=useful,
        peak_mac_slots=slots,
        pe_utilization=issued / slots,
        mapping_efficiency=o["mapping_efficiency"],
        issued_mac_utilization=useful / issued,
        effective_macs_per_cycle=dense / cycles,
        dram_bytes=int(o["dram_bytes"]),
        onchip_transfer_bytes=int(o["onchip_transfer_bytes"]),
        dram_ifmap_bytes=int(o["dram_ifmap_bytes"]),
        dram_filter_bytes=int(o["dram_filter_bytes"]),
        dram_ofmap_bytes=int(o["dram_ofmap_bytes"]),
        energy_pj=o["energy_pj"],
        energy_breakdown_pj={p: o["energy_" + p] for p in ENERGY_PARTS},
        mapping=mapping,
        input_resident=residency.input_resident,
        weight_resident=residency.weight_resident,
        output_resident=residency.output_resident,
        resident_reserved_bytes=residency.reserved_bytes,
    )


def bytes_per_level(hw: HardwareConfig, o: Mapping[str, float]) -> dict[str, dict[str, int]]:
    """Bytes read from and written into each memory level (name → read_bytes, write_bytes).

    Each operand: the array reads its innermost level; DRAM fills write its outermost on-chip level;
    with two on-chip levels, the fills between them are read from the outer and written into the
    inner one. Outputs: the array's partial-sum reads and output writes hit the innermost output
    level; with two, finished outputs drain from the inner into the outer. DRAM: its reads and writes.
    """
    levels = hw.memory.levels
    per_level: dict[str, dict[str, int]] = {}

    def add(slot: int, read: float, write: float) -> None:
        if slot >= 0:
            entry = per_level.setdefault(levels[slot].name, {"read_bytes": 0, "write_bytes": 0})
            entry["read_bytes"] += int(read)
            entry["write_bytes"] += int(write)

    mem = hw.memory
    for operand, array_rd, dram_fill, fill in (
        ("activations", "sram_ifmap_read_bytes", "dram_ifmap_bytes", "fill_ifmap_bytes"),
        ("weights", "sram_filter_read_bytes", "dram_filter_bytes", "fill_filter_bytes"),
    ):
        outer, inner = mem.level_of(operand), mem.inner_level_of(operand)
        if inner >= 0:
            add(inner, o[array_rd], o[fill])
            add(outer, o[fill], o[dram_fill])
        else:
            add(outer, o[array_rd], o[dram_fill])
    outer, inner = mem.level_of("outputs"), mem.inner_level_of("outputs")
    if inner >= 0:
        add(inner, o["sram_ofmap_read_bytes"] + o["drain_ofmap_bytes"], o["sram_ofmap_write_bytes"])
        add(outer, 0, o["drain_ofmap_bytes"])
    else:
        add(outer, o["sram_ofmap_read_bytes"], o["sram_ofmap_write_bytes"])
    per_level[levels[-1].name] = {
        "read_bytes": int(o["dram_ifmap_bytes"] + o["dram_filter_bytes"]),
        "write_bytes": int(o["dram_ofmap_bytes"]),
    }
    return per_level


def inner_tile(o: Mapping[str, float]) -> dict[str, object] | None:
    """The inner-level tiling (within each DRAM-level tile): loop order and M×N tile; None when no
    operand has a second on-chip level."""
    if o["inner_loop_order"] < 0:
        return None
    return {
        "loop_order": LOOP_ORDERS[int(o["inner_loop_order"])],
        "tile_m": int(o["inner_tile_m"]),
        "tile_n": int(o["inner_tile_n"]),
        "fill_ifmap_bytes": int(o["fill_ifmap_bytes"]),
        "fill_filter_bytes": int(o["fill_filter_bytes"]),
        "drain_ofmap_bytes": int(o["drain_ofmap_bytes"]),
    }


def port_binding(hw: HardwareConfig, o: Mapping[str, float]) -> str | None:
    """The port (a level's read or write port, or the metadata path) that needs the most cycles; None
    when no port limits (compat mode, or no port widths given)."""
    code = int(o["port_binding"])
    if code < 0:
        return None
    return port_names(tuple(lv.name for lv in hw.memory.levels[:-1]))[code]


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
    objective: str | None = None,
    fallback: str | None = None,
    input_resident: bool = False,
    output_resident: bool = False,
    reserved: Mapping[str, float] | None = None,
    sparse_kernel: str | None = None,
    weight_resident: bool = False,
) -> GemmResult:
    """Simulate activations ``m``×``k`` times weights ``k``×``n`` (weights ``sparsity`` 'n:m' along k).

    ``objective``: what the mapper (and the dense fallback) minimises: latency | energy | edp
    (default: the config's ``mapper.objective``).
    ``fallback``: auto | never, overriding the config's ``sparse.fallback``. Residency hooks:
    ``input_resident`` (activations already on chip), ``weight_resident`` (the second operand already
    on chip: an activation such as attention's k or v), ``output_resident`` (the output stays on chip),
    ``reserved`` ({on-chip level name: bytes} held by resident tensors, unavailable to the tiles).
    ``sparse_kernel``: tensor-core (default) | software: N:M weights through the config's software
    sparse kernel on the CUDA cores (:mod:`nmsim.sim.software_mode`; ``dtype`` and the hooks then
    do not apply).
    """
    check_gemm(hw, m, n, k, repeat, name)
    pattern = parse_pattern(sparsity or "dense", "sparsity")
    if pattern.is_unstructured:  # no density here to cost it by: a Layer carries one
        raise NmsimInputError("sparsity", "'dense' or 'n:m' (unstructured weights: simulate_layer)", sparsity)
    nm = pattern.nm
    if check_sparse_kernel(sparse_kernel, hw) and nm is not None:
        return software_result(name, hw, m, n, k, repeat, str(nm))
    obj = objective_code(objective or hw.mapper.objective)
    slots = reserved_slots(hw, reserved)
    residency = LayerResidency(
        input_resident=input_resident,
        output_resident=output_resident,
        reserved_bytes=int(sum(slots)),
        weight_resident=weight_resident,
    )
    hw = with_fallback(hw, fallback)
    hwv = hw_vector(hw, dtype)
    dt = dtype or hw.default_dtype
    guarantees = (nm,) if nm else ()
    density = nm.density if nm else 1.0
    label = str(nm) if nm else "dense"
    flag = _compat_flag(compat)
    choice = choose_mode(hw, k, guarantees, flag)
    return _result(name, hwv, hw, m, n, k, repeat, dt, label, choice, density, flag, obj, residency, slots)


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
    layer: Layer,
    hw: HardwareConfig,
    compat: Compat = None,
    objective: str | None = None,
    residency: LayerResidency = NO_RESIDENCY,
    *,
    checked: bool = False,
    sparse_kernel: str | None = None,
) -> GemmResult:
    """Simulate one trace layer on ``hw`` (``objective`` and ``sparse_kernel`` as :func:`simulate_gemm`);
    ``residency``: where the layer finds its operands and leaves its output, its ``reserved_bytes``
    held in the level holding activations (:func:`residency_slots`); ``checked``: the caller already
    ran :func:`~nmsim.sim.bounds.check_layers` on it (as :func:`nmsim.simulate` does for the whole
    trace)."""
    dt = layer.dtype or hw.default_dtype
    assert layer.m and layer.n and layer.k
    if not checked:
        check_layers(hw, [(layer.name, layer.m, layer.n, layer.k, layer.repeat)])
    if runs_in_software(layer, check_sparse_kernel(sparse_kernel, hw)):
        return software_result(layer.name, hw, layer.m, layer.n, layer.k, layer.repeat, layer.pattern)
    flag = _compat_flag(compat)
    obj = objective_code(objective or hw.mapper.objective)
    slots = residency_slots(hw, residency)
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
        obj,
        residency,
        slots,
    )
