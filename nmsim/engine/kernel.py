"""One GEMM's cost, compiled: cycles, MACs, data movement and energy from the hardware vector.

:func:`evaluate_gemm` is the single kernel; :func:`evaluate_rows` runs it over many (hardware,
GEMM) pairs in parallel and returns exactly the same numbers.

A sparse GEMM is evaluated in up to three ways and the best on the row's objective is kept: its
N:M mode with K′ compacted rows per pass; its N:M mode on the dense layer's schedule (as many rows
of *dense* K per fold as the dense layer uses, so only n/m of the rows hold weights: the sparse
mapping space contains every dense mapping, and the mapper can never make sparse slower than
dense); and, with ``fallback: auto``, the dense mode itself (``fell_back`` = 1 when it wins).
"""

from __future__ import annotations

import math

import numpy as np

from nmsim.engine.folds import ceil_div, compute_cycles, mapping_efficiency
from nmsim.engine.jit import jit, jit_parallel, prange
from nmsim.engine.layout import GEMM, HW, LEVEL_SLOTS, MAP, MAP_LEN, OUT, OUT_LEN
from nmsim.engine.mapper import better, every_tile_fits, port_time, search, stall_cycles, tile_candidates
from nmsim.engine.traffic import exposed_bytes, filter_reuse, sram_accesses

# Compile-time constants (numba freezes module-level ints).
_DF, _R, _C, _CORES, _CLK = HW["dataflow"], HW["rows"], HW["cols"], HW["cores"], HW["clock_hz"]
_EB, _AB, _WPP = HW["elem_bytes"], HW["acc_bytes"], HW["weights_per_pe"]
_LA, _LW, _LO = HW["lvl_act"], HW["lvl_w"], HW["lvl_out"]
_LA_IN, _LW_IN, _LO_IN = HW["lvl_act_in"], HW["lvl_w_in"], HW["lvl_out_in"]
_CAP, _RDBW, _WRBW, _ERD, _EWR = HW["cap_0"], HW["rd_bw_0"], HW["wr_bw_0"], HW["e_rd_0"], HW["e_wr_0"]
_BPC, _EDR, _EDW = HW["dram_bytes_per_cycle"], HW["e_dram_read"], HW["e_dram_write"]
_MUXC, _KPP = HW["mux_extra"], HW["k_per_pe"]
_EFF, _SEFF, _TILE = HW["efficiency"], HW["sparse_efficiency"], HW["tile_folds"]
_OVH, _SOVH = HW["overhead_cycles"], HW["sparse_overhead_cycles"]
_TOVH, _SPLITK, _MBPC, _FALLBACK = (
    HW["tile_overhead_cycles"],
    HW["split_k"],
    HW["meta_bits_per_cycle"],
    HW["fallback"],
)
_EMAC, _EMUX, _EMETA, _STATIC = HW["e_mac"], HW["e_mux"], HW["e_metadata_bit"], HW["static_w"]
_EREG = HW["e_register"]
_O_CYC, _O_EN, _O_FELL = OUT["cycles"], OUT["energy_pj"], OUT["fell_back"]
_G_RES, _G_WRES = GEMM["reserved_0"], GEMM["weight_resident"]
_P = MAP  # the mapper's parameter vector: indices below are frozen at compile time
_P_KB, _P_KBD = _P["kb"], _P["kbd"]
_P_CAP, _P_NFP, _P_PT = _P["cap_0"], _P["fill_ports"], _P["port_cycles_0"]
_P_FPB, _P_FPA, _P_FPW, _P_FPS, _P_FPC = (
    _P["fp_base_0"],
    _P["fp_a_0"],
    _P["fp_w_0"],
    _P["fp_scale_0"],
    _P["fp_code_0"],
)
_P_WORK, _P_FIXED, _P_PORT0, _P_PRO, _P_EPI, _P_BPC = (
    _P["work"],
    _P["fixed"],
    _P["port0"],
    _P["prologue"],
    _P["epilogue"],
    _P["bytes_per_cycle"],
)
_P_EDR, _P_EDW, _P_EFA, _P_EFW, _P_EDO = (
    _P["e_dram_rd"],
    _P["e_dram_wr"],
    _P["e_fill_a"],
    _P["e_fill_w"],
    _P["e_drain_o"],
)
_P_EIA, _P_EIW, _P_STATIC, _P_PORTS = _P["e_inner_a"], _P["e_inner_w"], _P["static_pj_per_cycle"], _P["ports"]
_P_SHAPE = tuple(
    _P[f]
    for f in (
        "m",
        "n",
        "k",
        "kc",
        "kb",
        "kbd",
        "elem_bytes",
        "acc_bytes",
        "meta_bits",
        "a_resident",
        "o_resident",
        "w_resident",
        "objective",
        "repeat",
    )
)
_P_SLOTS = tuple(_P[f] for f in ("la", "lw", "lo", "la_in", "lw_in", "lo_in"))
_HW_SLOTS = tuple(HW[f] for f in ("lvl_act", "lvl_w", "lvl_out", "lvl_act_in", "lvl_w_in", "lvl_out_in"))


@jit
def _slot_value(hw: np.ndarray, base: int, slot: int) -> float:
    """Field ``base + slot`` of the hardware vector, 0 for an operand with no on-chip level."""
    return hw[base + slot] if slot >= 0 else 0.0


@jit
def _k_chunk(k: int, kc: int, rows: int, dense_schedule: bool) -> tuple[int, int]:
    """(compacted K rows per fold, the activation columns they need) of one way of running the GEMM."""
    kb = min(kc, rows)
    kbd = min(k, ceil_div(kb * k, kc))
    if dense_schedule:  # the dense layer's chunk of K: as many activation columns as rows
        kbd = min(k, rows)
        kb = ceil_div(kbd * kc, k)
    return kb, kbd


@jit
def _map_params(
    p: np.ndarray, hw: np.ndarray, m: int, n: int, k: int, kc: int, meta: int, repeat: int, objective: int,
    a_res: bool, o_res: bool, reserved: np.ndarray, dense_schedule: bool, w_res: bool = False,
) -> np.ndarray:  # fmt: skip
    """``p`` (length ``MAP_LEN``, reused between the ways of one GEMM) set to the mapper's parameter
    vector (:data:`~nmsim.engine.layout.MAP_FIELDS`) of one way of running the GEMM: its shape, the
    operands' level slots and the free capacities; the cycle and port fields are filled in by
    :func:`_evaluate_mode`."""
    p[:] = 0.0
    kb, kbd = _k_chunk(k, kc, int(hw[_R]), dense_schedule)
    shape = (
        m,
        n,
        k,
        kc,
        kb,
        kbd,
        int(hw[_EB]),
        int(hw[_AB]),
        meta,
        int(a_res),
        int(o_res),
        int(w_res),
        objective,
        repeat,
    )
    for i in range(len(_P_SHAPE)):
        p[_P_SHAPE[i]] = shape[i]
    for i in range(len(_P_SLOTS)):
        p[_P_SLOTS[i]] = hw[_HW_SLOTS[i]]
    for s in range(LEVEL_SLOTS):
        p[_P_CAP + s] = max(0.0, hw[_CAP + s] - reserved[s])
    return p


@jit
def _add_fill_port(p: np.ndarray, base: float, ca: bool, cw: bool, bw: float, repeat: int, code: int) -> None:
    """Register a port the inner-level fills pass (``ca``/``cw``: activation/weight fills) in ``p``."""
    if not (ca or cw) or bw <= 0:
        return
    i = int(p[_P_NFP])
    p[_P_FPB + i], p[_P_FPA + i], p[_P_FPW + i] = base, 1.0 if ca else 0.0, 1.0 if cw else 0.0
    p[_P_FPS + i], p[_P_FPC + i] = repeat / bw, code
    p[_P_NFP] = i + 1


@jit
def _port_binding(p: np.ndarray, fa: int, fw: int) -> int:
    """Which port needs :func:`~nmsim.engine.mapper.port_time` cycles (read of slot s: 2s; write:
    2s+1; the metadata path: 2·LEVEL_SLOTS; see :func:`~nmsim.engine.layout.port_names`); -1 when
    none limits."""
    target = port_time(p, fa, fw)
    if target <= 0.0:
        return -1
    for i in range(int(p[_P_NFP])):
        if (fa > 0 or fw > 0) and (p[_P_FPB + i] + p[_P_FPA + i] * fa + p[_P_FPW + i] * fw) * p[
            _P_FPS + i
        ] >= target:
            return int(p[_P_FPC + i])
    for code in range(2 * LEVEL_SLOTS + 1):
        if p[_P_PT + code] >= target:
            return code
    return -1


@jit
def _evaluate_mode(
    hw: np.ndarray,
    m: int,
    n: int,
    k: int,
    kc: int,
    meta_bits: int,
    repeat: int,
    compat: bool,
    sparse: bool,
    dense_schedule: bool,
    objective: int,
    a_res: bool,
    o_res: bool,
    w_res: bool,
    reserved: np.ndarray,
    cm: np.ndarray,
    cn: np.ndarray,
    p: np.ndarray,
) -> np.ndarray:
    """The result vector of one way of running the GEMM (see the module docstring); ``cm``/``cn``:
    the tile candidates of M and N; ``p``: scratch for the mapper's parameters (``MAP_LEN``)."""
    df, rows, cols, cores = int(hw[_DF]), int(hw[_R]), int(hw[_C]), int(hw[_CORES])
    eb, ab, wpp = int(hw[_EB]), int(hw[_AB]), int(hw[_WPP])
    la, lw, lo = int(hw[_LA]), int(hw[_LW]), int(hw[_LO])
    la_in, lw_in, lo_in = int(hw[_LA_IN]), int(hw[_LW_IN]), int(hw[_LO_IN])
    # the array reads each operand from the innermost level of its chain
    ia = la_in if la_in >= 0 else la
    iw = lw_in if lw_in >= 0 else lw
    io = lo_in if lo_in >= 0 else lo
    mux_on = sparse and not compat
    mux_extra = int(hw[_MUXC]) if mux_on else 0
    meta = 0 if compat else meta_bits
    kpp = 1 if compat else int(hw[_KPP])  # SCALE-Sim has no MACs-per-PE parameter
    k_rows = k if dense_schedule else kc  # K rows the array folds (or streams, os)
    k_steps = ceil_div(k_rows, kpp)  # a PE may do several MACs per cycle along K
    eff = 1.0 if compat else (hw[_SEFF] if sparse else hw[_EFF])
    overhead = 0 if compat else int(hw[_OVH] + (hw[_SOVH] if sparse else 0.0))

    folds, waves, work, fixed = compute_cycles(
        df, rows, cols, cores, m, n, k_steps, repeat, compat, mux_extra, int(hw[_TILE]), eff,
        hw[_TOVH], int(hw[_SPLITK]),
    )  # fmt: skip
    fixed += overhead
    if_rd, f_rd, of_rd, of_wr = sram_accesses(df, rows, cols, m, n, k, kc, eb, ab, k_rows, wpp)
    o_full = m * n * eb  # outputs drained from an inner output level to the outer one
    drain = o_full if lo_in >= 0 else 0
    meta_read = float(kc) * n * meta * filter_reuse(df, rows, cols, m) * repeat  # bits
    p = _map_params(
        p, hw, m, n, k, kc, meta, repeat, objective, a_res, o_res, reserved, dense_schedule, w_res
    )
    # on-chip ports: the array cannot run faster than its levels (and the metadata path) feed it;
    # the tiling-independent load of each port here, the inner levels' fills in mapper.port_time
    port = 0.0
    if not compat:
        p[_P_PORTS] = 1.0
        for slot in range(LEVEL_SLOTS):
            rd = (if_rd if ia == slot else 0) + (f_rd if iw == slot else 0) + (of_rd if io == slot else 0)
            rd += drain if lo_in == slot else 0
            wr = (of_wr if io == slot else 0) + (drain if lo == slot else 0)
            if hw[_RDBW + slot] > 0:
                p[_P_PT + 2 * slot] = rd * repeat / hw[_RDBW + slot]
                port = max(port, p[_P_PT + 2 * slot])
            if hw[_WRBW + slot] > 0:
                p[_P_PT + 2 * slot + 1] = wr * repeat / hw[_WRBW + slot]
                port = max(port, p[_P_PT + 2 * slot + 1])
            if la_in >= 0 or lw_in >= 0:  # the ports the fills pass: outer level's read, inner's write
                fill_rd_a, fill_rd_w = la_in >= 0 and la == slot, lw_in >= 0 and lw == slot
                _add_fill_port(p, rd, fill_rd_a, fill_rd_w, hw[_RDBW + slot], repeat, 2 * slot)
                _add_fill_port(p, wr, la_in == slot, lw_in == slot, hw[_WRBW + slot], repeat, 2 * slot + 1)
        if hw[_MBPC] > 0:
            p[_P_PT + 2 * LEVEL_SLOTS] = meta_read / hw[_MBPC]
            port = max(port, p[_P_PT + 2 * LEVEL_SLOTS])
    kb, kbd = int(p[_P_KB]), int(p[_P_KBD])
    pro, epi = exposed_bytes(df, rows, cols, m, n, kb, kbd, eb, meta, a_res, o_res, w_res)
    bpc = hw[_BPC]
    p[_P_WORK], p[_P_FIXED], p[_P_PORT0], p[_P_PRO], p[_P_EPI], p[_P_BPC] = work, fixed, port, pro, epi, bpc
    p[_P_EDR], p[_P_EDW] = hw[_EDR], hw[_EDW]
    p[_P_EFA] = _slot_value(hw, _EWR, la)  # DRAM reads land in the outer level
    p[_P_EFW] = _slot_value(hw, _EWR, lw)
    p[_P_EDO] = _slot_value(hw, _ERD, lo)  # outputs leave the outer level for DRAM
    if la_in >= 0:  # e_inner_a, e_inner_w: read from the outer level, written into the inner one
        p[_P_EIA] = _slot_value(hw, _ERD, la) + hw[_EWR + la_in]
    if lw_in >= 0:
        p[_P_EIW] = _slot_value(hw, _ERD, lw) + hw[_EWR + lw_in]
    p[_P_STATIC] = hw[_STATIC] / hw[_CLK] * 1e12
    order, mb, nb, d_if, d_f, d_of, q, mb2, nb2, fa, fw = search(p, cm, cn)
    port_cycles = math.ceil(port_time(p, fa, fw))
    busy = max(work, port_cycles)
    compute = busy + fixed
    dram = (d_if + d_f + d_of) * repeat
    stall = 0 if compat else stall_cycles(dram, pro, epi, compute, bpc)
    memory = math.ceil(dram / bpc)
    exposed = math.ceil((min(pro, dram) + epi) / bpc)
    # what the GEMM is bound by: fold work, DRAM transfer, fixed latency, or an on-chip port
    bound = 0
    if not compat:
        if memory > busy and memory > fixed + exposed:
            bound = 1
        elif fixed + exposed > busy:
            bound = 2
        elif port_cycles > work:
            bound = 3
    issued = float(m) * n * kc * repeat
    cycles = compute + stall
    latency = cycles / hw[_CLK]

    e_mac = issued * hw[_EMAC]
    # each operand: the array's accesses at its innermost level, DRAM fills into its outer level,
    # and (with an inner level) the bytes moved between them: read from the outer, written inward
    e_if = (float(if_rd) * _slot_value(hw, _ERD, ia) + float(d_if) * _slot_value(hw, _EWR, la)) * repeat
    e_f = (float(f_rd) * _slot_value(hw, _ERD, iw) + float(d_f) * _slot_value(hw, _EWR, lw)) * repeat
    e_of = (
        float(of_rd + d_of) * _slot_value(hw, _ERD, lo) + float(of_wr) * _slot_value(hw, _EWR, lo)
    ) * repeat
    if la_in >= 0:
        e_if += float(fa) * repeat * p[_P_EIA]
    if lw_in >= 0:
        e_f += float(fw) * repeat * p[_P_EIW]
    if lo_in >= 0:  # partial sums live in the inner output level; finished outputs drain outward
        e_of = (
            float(of_rd) * hw[_ERD + lo_in]
            + float(of_wr) * hw[_EWR + lo_in]
            + float(drain) * (hw[_ERD + lo_in] + _slot_value(hw, _EWR, lo))
            + float(d_of) * _slot_value(hw, _ERD, lo)
        ) * repeat
    e_dram = float(d_if + d_f) * repeat * hw[_EDR] + float(d_of) * repeat * hw[_EDW]
    e_meta = meta_read * hw[_EMETA]
    e_reg = issued * hw[_EREG]
    e_mux = issued * hw[_EMUX] if mux_on else 0.0
    e_static = hw[_STATIC] * latency * 1e12
    energy = e_mac + e_if + e_f + e_of + e_dram + e_meta + e_reg + e_mux + e_static
    pes = rows * cols * cores
    # One line per field of nmsim.engine.layout.OUT_FIELDS, in order (checked by tests/core/test_gemm_model.py).
    out = np.empty(OUT_LEN)
    out[0] = float(folds)  # folds
    out[1] = float(waves)  # waves
    out[2] = float(compute)  # compute_cycles
    out[3] = float(stall)  # stall_cycles
    out[4] = float(cycles)  # cycles
    out[5] = float(busy)  # work_cycles
    out[6] = float(fixed)  # fixed_cycles
    out[7] = float(memory)  # memory_cycles
    out[8] = float(port_cycles)  # port_cycles
    out[9] = float(bound)  # bound
    out[10] = latency  # latency_s
    out[11] = issued  # issued_macs
    out[12] = float(pes) * kpp * cycles  # peak_mac_slots
    out[13] = mapping_efficiency(df, rows, cols, m, n, k_steps)  # mapping_efficiency
    out[14] = 0.0  # fell_back
    out[15] = float(order)  # loop_order
    out[16] = float(mb)  # tile_m
    out[17] = float(nb)  # tile_n
    out[18] = float(kb)  # tile_k
    out[19] = 1.0 if dense_schedule else 0.0  # dense_schedule
    out[20] = float(q)  # inner_loop_order
    out[21] = float(mb2)  # inner_tile_m
    out[22] = float(nb2)  # inner_tile_n
    out[23] = float(fa * repeat)  # fill_ifmap_bytes
    out[24] = float(fw * repeat)  # fill_filter_bytes
    out[25] = float(drain * repeat)  # drain_ofmap_bytes
    out[26] = float((fa + fw + drain) * repeat)  # onchip_transfer_bytes
    out[27] = float(_port_binding(p, fa, fw))  # port_binding
    out[28] = float(d_if * repeat)  # dram_ifmap_bytes
    out[29] = float(d_f * repeat)  # dram_filter_bytes
    out[30] = float(d_of * repeat)  # dram_ofmap_bytes
    out[31] = float(dram)  # dram_bytes
    out[32] = float(if_rd * repeat)  # sram_ifmap_read_bytes
    out[33] = float(f_rd * repeat)  # sram_filter_read_bytes
    out[34] = float(of_rd * repeat)  # sram_ofmap_read_bytes
    out[35] = float(of_wr * repeat)  # sram_ofmap_write_bytes
    out[36] = e_mac  # energy_mac
    out[37] = e_if  # energy_ifmap_sram
    out[38] = e_f  # energy_filter_sram
    out[39] = e_of  # energy_ofmap_sram
    out[40] = e_dram  # energy_dram
    out[41] = e_meta  # energy_metadata
    out[42] = e_reg  # energy_registers
    out[43] = e_mux  # energy_mux
    out[44] = e_static  # energy_static
    out[45] = energy  # energy_pj
    return out


@jit
def _better(objective: int, x: np.ndarray, best: np.ndarray) -> bool:
    """Is result ``x`` strictly better than ``best`` on ``objective`` (the mapper's rule, :func:`better`)?"""
    return better(objective, x[_O_CYC], x[_O_EN], best[_O_CYC], best[_O_EN])


@jit
def evaluate_gemm(hw: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Cost of the GEMM row ``g`` (layout :data:`nmsim.engine.layout.GEMM_FIELDS`) on ``hw``.

    ``repeat`` GEMMs of m×k activations · k×n weights compacted to ``kc`` rows, ``meta_bits`` per
    kept weight; ``input_resident``/``weight_resident``: that operand is already on chip (no DRAM
    read, no tile footprint: the planner's ``reserved`` bytes hold it); ``sparse`` when the PEs run an N:M mode (mux active). Compat mode (SCALE-Sim) has
    no stalls, no ports, no mux and no metadata cost and runs exactly the mode it is given. Returns
    the result vector laid out as :data:`nmsim.engine.layout.OUT_FIELDS` (cycles, s, MACs, bytes, pJ).
    """
    m, n, k, kc = int(g[0]), int(g[1]), int(g[2]), int(g[3])
    meta_bits, repeat, compat, sparse = int(g[4]), int(g[5]), g[6] != 0.0, g[7] != 0.0
    objective, a_res, o_res, w_res = int(g[8]), g[9] != 0.0, g[10] != 0.0, g[_G_WRES] != 0.0
    reserved = g[_G_RES : _G_RES + LEVEL_SLOTS]
    cm, cn = tile_candidates(m), tile_candidates(n)
    p = np.empty(MAP_LEN)
    best = _evaluate_mode(
        hw, m, n, k, kc, meta_bits, repeat, compat, sparse, False, objective, a_res, o_res, w_res, reserved, cm, cn, p
    )  # fmt: skip
    if sparse and not compat:
        if kc < k:
            alt = _evaluate_mode(
                hw, m, n, k, kc, meta_bits, repeat, compat, sparse, True, objective, a_res, o_res, w_res, reserved, cm, cn, p
            )  # fmt: skip
            if _better(objective, alt, best):
                best = alt
        if hw[_FALLBACK] != 0.0:
            dense = _evaluate_mode(
                hw, m, n, k, k, 0, repeat, compat, False, False, objective, a_res, o_res, w_res, reserved, cm, cn, p
            )  # fmt: skip
            if _better(objective, dense, best):
                best = dense
                best[_O_FELL] = 1.0
    return best


@jit
def _reservation_binds(hw: np.ndarray, g: np.ndarray) -> bool:
    """Could the bytes row ``g`` reserves for resident tensors change its result on ``hw``?

    They only shrink the capacities the mapper searches under; when every candidate tile of every
    way :func:`evaluate_gemm` runs the GEMM fits beside them, the result equals the unreserved one
    bit for bit (False). Compat rows are checked like the others (they never reserve: no residency).
    """
    reserved = g[_G_RES : _G_RES + LEVEL_SLOTS]
    if not reserved.any():
        return False
    m, n, k, kc = int(g[0]), int(g[1]), int(g[2]), int(g[3])
    meta_bits, compat, sparse, a_res = int(g[4]), g[6] != 0.0, g[7] != 0.0, g[9] != 0.0
    w_res = g[_G_WRES] != 0.0
    meta = 0 if compat else meta_bits
    # the ways evaluate_gemm may run it: its mode; the dense schedule; the dense fallback
    for way in range(3):
        if way > 0 and (compat or not sparse):
            break
        if way == 1 and kc >= k:
            continue
        if way == 2 and hw[_FALLBACK] == 0.0:
            continue
        wkc, wmeta = (k, 0) if way == 2 else (kc, meta)
        p = _map_params(
            np.empty(MAP_LEN), hw, m, n, k, wkc, wmeta, 1, 0, a_res, False, reserved, way == 1, w_res
        )
        if not every_tile_fits(p):
            return True
    return False


@jit
def without_idle_reservations(hw_table: np.ndarray, hw_index: np.ndarray, gemms: np.ndarray) -> np.ndarray:
    """``gemms`` with the reserved bytes set to 0 in every row where they cannot change the result
    (:func:`_reservation_binds`), so rows that differ only there are evaluated once."""
    out = gemms.copy()
    for i in range(gemms.shape[0]):  # a few capacity checks per row: not worth waking threads
        if not _reservation_binds(hw_table[hw_index[i]], gemms[i]):
            for s in range(LEVEL_SLOTS):
                out[i, _G_RES + s] = 0.0
    return out


@jit_parallel
def evaluate_rows(hw_table: np.ndarray, hw_index: np.ndarray, gemms: np.ndarray) -> np.ndarray:
    """:func:`evaluate_gemm` for every row: ``gemms[i]`` (layout ``GEMM_FIELDS``) on ``hw_table[hw_index[i]]``."""
    count = gemms.shape[0]
    out = np.empty((count, OUT_LEN))
    for i in prange(count):
        out[i] = evaluate_gemm(hw_table[hw_index[i]], gemms[i])
    return out
