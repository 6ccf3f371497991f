"""Nested tiling over two on-chip levels: a hand-worked GEMM, the mapper's bound against brute force,
invariants and monotonicity properties, the schema's refusal of deeper chains."""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import nmsim
from nmsim.engine import mapper
from nmsim.engine.kernel import _add_fill_port, _map_params
from nmsim.engine.layout import MAP, MAP_LEN
from nmsim.engine.params import hw_vector
from nmsim.io.loaders import hardware_from_document
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.migrate import migrate_hardware
from tests.conftest import tiny_doc


def _energy(pj: float) -> dict:
    return {"pj": pj, "node_nm": 45, "source": "test", "per": "byte"}


def _level(name: str, operands: list[str], rd: float, wr: float, **kw: object) -> dict:
    src = {k: "test" for k, v in kw.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {
        "name": name,
        "operands": operands,
        "read_energy": _energy(rd),
        "write_energy": _energy(wr),
        "sources": src,
        **kw,
    }


def two_level(
    l1_bytes: float = 40,
    l2_bytes: float = 2048,
    l2_read: float | None = None,
    l1_write: float | None = None,
    rows: int = 4,
    cols: int = 4,
    dataflow: str = "os",
    inner: bool = True,
    modes: list[str] | None = None,
    cores: int = 1,
    per_core: bool = False,
) -> HardwareConfig:
    """L1 (activations, weights; not double-buffered) inside L2 (all operands, double-buffered), DRAM.
    Energies per byte: L1 read 1 / write 2, L2 read 10 / write 20, DRAM 100; no static power.
    ``inner=False``: the same config without L1 (the one-level reference)."""
    doc = migrate_hardware(tiny_doc(rows=rows, cols=cols, dataflow=dataflow, modes=modes))
    doc["array"]["cores"] = cores
    doc["array"]["sources"]["cores"] = "test"
    levels = []
    if inner:
        kw: dict = {"capacity_bytes": l1_bytes, "double_buffer": False, "per_core": per_core}
        if l1_write is not None:
            kw["write_bytes_per_cycle"] = l1_write
        levels.append(_level("l1", ["activations", "weights"], 1.0, 2.0, **kw))
    kw2: dict = {"capacity_bytes": l2_bytes, "double_buffer": True}
    if l2_read is not None:
        kw2["read_bytes_per_cycle"] = l2_read
    levels.append(_level("l2", ["activations", "weights", "outputs"], 10.0, 20.0, **kw2))
    levels.append(
        _level(
            "dram",
            ["activations", "weights", "outputs"],
            100.0,
            100.0,
            bandwidth_gbps=1e6,
            double_buffer=False,
        )
    )
    doc["memory"]["levels"] = levels
    return hardware_from_document(doc, "two-level test config")


def test_hand_worked_two_level_gemm() -> None:
    """M=8, N=16, K=8, int8 (1 B), 4×4 os array, 32-bit partial sums.

    DRAM-level tile (L2 usable 2048/2 = 1024 B): the whole GEMM fits in order 0 (A 8×4 + W 4×16 +
    psum 8·16·4 = 32 + 64 + 512 = 608 B), so DRAM moves A 64 + W 128 + O 128 bytes once; orders 1
    and 2 tie with it (same bytes) and order 0 comes first.
    Inner tile (L1: 40 B, A and W only, psums stay in L2): candidates of M {1,2,3,4,8}, of N
    {1,2,3,4,6,8,16}; K chunk kb = 4 rows.
      order 0: 4·mb + 4·nb ≤ 40; fills A·⌈16/nb⌉ + W·⌈8/mb⌉: (1,8) 128+1024, (2,8) 128+512,
               (3,6) 192+384, (4,6) 192+256 = 448, (8,2) 512+128 → best 448
      order 1: A 1×4 + W 8×nb ≤ 40 → nb = 4: A·4 + W·1 = 256 + 128 = 384
      order 2: A mb×8 + W 4×1 ≤ 40 → mb = 4: A·1 + W·2 = 64 + 256 = 320 ← the fewest bytes
    No port limits, so every candidate takes the same cycles and the energy decides: inner order 2,
    4×1 tiles, 64 + 256 bytes L2 → L1.
    """
    hw = two_level()
    r = nmsim.simulate_gemm(8, 16, 8, hw)
    mp = r.mapping
    assert (mp["loop_order"], mp["tile_m"], mp["tile_n"]) == ("output-stationary (K innermost)", 8, 16)
    inner = mp["inner_tile"]
    assert inner["loop_order"].startswith("activation-block-stationary")
    assert (inner["tile_m"], inner["tile_n"]) == (4, 1)
    assert (inner["fill_ifmap_bytes"], inner["fill_filter_bytes"], inner["drain_ofmap_bytes"]) == (64, 256, 0)
    assert (r.dram_ifmap_bytes, r.dram_filter_bytes, r.dram_ofmap_bytes) == (64, 128, 128)
    # array reads (os): A·⌈N/cols⌉ = 64·4 = 256 and W·⌈M/rows⌉ = 128·2 = 256 from L1; outputs
    # written once into L2 (128); L2 is read for the fills (320) and written by DRAM (64 + 128)
    # and by the array (128)
    assert mp["bytes_per_level"]["l1"] == {"read_bytes": 512, "write_bytes": 320}
    assert mp["bytes_per_level"]["l2"] == {"read_bytes": 320, "write_bytes": 320}
    e = r.energy_breakdown_pj
    # activations: 256 array reads × 1 + 64 DRAM fill × 20 (L2 write) + 64 × (10 L2 read + 2 L1 write)
    assert e["ifmap_sram"] == pytest.approx(256 + 64 * 20 + 64 * 12)
    # weights: 256 × 1 + 128 × 20 + 256 × 12
    assert e["filter_sram"] == pytest.approx(256 + 128 * 20 + 256 * 12)
    # outputs: 128 written into L2 (× 20) + 128 read out of L2 for DRAM (× 10)
    assert e["ofmap_sram"] == pytest.approx(128 * 20 + 128 * 10)


def test_the_fills_bind_an_l2_read_port() -> None:
    """The same GEMM with a 4 B/cycle L2 read port: the 320 fill bytes need 80 cycles, more than the
    folds' 64 (8 folds of max(K=8, rows=4) cycles), so the GEMM is port-bound at 80 and the report
    names the L2 read port. 320 is still the fewest fill bytes, so the tiling does not change."""
    r = nmsim.simulate_gemm(8, 16, 8, two_level(l2_read=4.0))
    assert r.mapping["port_cycles"] == 80
    assert r.bound == "port"
    assert r.mapping["port_binding"] == "l2 read port"
    assert (r.mapping["inner_tile"]["tile_m"], r.mapping["inner_tile"]["tile_n"]) == (4, 1)
    one = nmsim.simulate_gemm(8, 16, 8, two_level(inner=False))
    assert r.cycles == one.cycles + 80 - 64


def test_a_per_core_level_has_per_core_ports() -> None:
    """The hand-worked GEMM on 4 cores with a per-core L1 write port of 1 B/cycle: the chip writes
    4 B/cycle into the four L1s, so the 320 fill bytes take 80 cycles; the folds take 16 (8 folds over
    4 cores: 2 waves × max(K=8, R=4)). A chip-wide L1 with the same port takes 320. Each core's
    tile must fit its own 40 B, so the tiling is the single-core one."""
    per_core = nmsim.simulate_gemm(8, 16, 8, two_level(l1_write=1.0, cores=4, per_core=True))
    chip = nmsim.simulate_gemm(8, 16, 8, two_level(l1_write=1.0, cores=4))
    assert (per_core.mapping["port_cycles"], chip.mapping["port_cycles"]) == (80, 320)
    assert per_core.mapping["port_binding"] == "l1 write port"
    assert per_core.mapping["inner_tile"] == chip.mapping["inner_tile"]
    assert per_core.mapping["inner_tile"]["fill_filter_bytes"] == 256


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    m=st.integers(1, 3000),
    n=st.integers(1, 3000),
    k=st.integers(1, 3000),
    l1=st.integers(8, 4096),
    nm=st.sampled_from([None, "2:4"]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
)
def test_an_inner_level_without_port_limits_keeps_the_cycles(m, n, k, l1, nm, dataflow) -> None:
    """Invariant: an inner level whose fills pass no limited port cannot change the cycles on the
    latency objective (the DRAM-level candidates, their cycles and the compute are those of the
    one-level config; the inner tiling only moves energy)."""
    one = two_level(inner=False, dataflow=dataflow, modes=["2:4"])
    two = two_level(l1_bytes=l1, dataflow=dataflow, modes=["2:4"])
    a = nmsim.simulate_gemm(m, n, k, one, sparsity=nm)
    b = nmsim.simulate_gemm(m, n, k, two, sparsity=nm)
    assert b.cycles == a.cycles


def _brute_force(
    p: np.ndarray, cm: np.ndarray, cn: np.ndarray, check_bound: bool = False
) -> tuple[float, float]:
    """The best (cycles, pJ) over every outer tile × every inner tile, no pruning, no two pointers.
    ``check_bound``: also assert that the bound of each outer tile is no better than its best inner
    tiling on the objective."""
    m, n, k, kc, kb, kbd = (int(p[MAP[f]]) for f in ("m", "n", "k", "kc", "kb", "kbd"))
    eb, ab, meta, obj = (int(p[MAP[f]]) for f in ("elem_bytes", "acc_bytes", "meta_bits", "objective"))
    la, lw, lo, la2, lw2, lo2 = (int(p[MAP[f]]) for f in ("la", "lw", "lo", "la_in", "lw_in", "lo_in"))
    cap = p[MAP["cap_0"] : MAP["cap_0"] + 6].copy()
    a = m * k * eb
    w = kc * n * eb + -(-(kc * n * meta) // 8)
    o = m * n * eb

    def key(c: float, e: float) -> tuple:
        return (c, e) if obj == 0 else (e, c) if obj == 1 else (c * e, c)

    def fits(order: int, mb: int, nb: int, strict: bool, slots: tuple) -> bool:
        return mapper._tile_fits(order, mb, nb, k, kc, kb, kbd, eb, ab, meta, False, *slots, cap, strict)

    outers = [(0, 1, 1, a * n, w * m)]  # the worst case the search starts from
    for mb, nb in itertools.product(cm, cn):
        if fits(0, mb, nb, True, (la, lw, lo)):
            outers.append((0, mb, nb, a * -(-n // nb), w * -(-m // mb)))
    outers += [(1, m, nb, a * -(-n // nb), w) for nb in cn if fits(1, 1, nb, True, (la, lw, lo))]
    outers += [(2, mb, n, a, w * -(-m // mb)) for mb in cm if fits(2, mb, 1, True, (la, lw, lo))]
    best = None
    if check_bound:
        f0, f1, f2 = mapper._frontier(p, cm, cn, la2, lw2, lo2, False, False)
        table = mapper._inner_bound_table(p, cm, cn, f0, f1, f2, a, w) if f0[0] >= 0 else None
    for _, bm, bn, ta, tw in outers:
        inner = [
            (0, x, y) for x in cm if x <= bm for y in cn if y <= bn if fits(0, x, y, False, (la2, lw2, lo2))
        ]
        inner += [(1, 1, y) for y in cn if y <= bn and fits(1, 1, y, False, (la2, lw2, lo2))]
        inner += [(2, x, 1) for x in cm if x <= bm and fits(2, x, 1, False, (la2, lw2, lo2))]
        if not inner:
            inner = [(0, 1, 1)]
        costs = [
            mapper._cost(p, ta, tw, o, *mapper.inner_fills(p, q, x, y, bm, bn, a, w)) for q, x, y in inner
        ]
        here = min(costs, key=lambda ce: key(*ce))
        if check_bound and table is not None:
            assert key(*mapper._inner_bound(p, ta, tw, o, *table)) <= key(*here)
        if best is None or key(*here) < key(*best):
            best = here
    assert best is not None
    return best


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    m=st.integers(1, 64),
    n=st.integers(1, 64),
    k=st.integers(1, 300),
    l1=st.integers(4, 1500),
    l2=st.integers(16, 20000),
    objective=st.integers(0, 2),
    work=st.integers(0, 3000),
    port_bw=st.floats(0.5, 64.0),
    bpc=st.floats(0.5, 32.0),
    static=st.floats(0.0, 50.0),
    e_a=st.floats(0.0, 30.0),
    e_w=st.floats(0.0, 30.0),
    through=st.sampled_from([(True, True), (True, False), (False, True)]),
)
def test_the_bounded_search_equals_brute_force(
    m, n, k, l1, l2, objective, work, port_bw, bpc, static, e_a, e_w, through
) -> None:
    """The mapper's pruned joint search returns the cost of the exhaustive minimum over all outer ×
    inner tiles (the bound, the best-first pass and the two pointers are exact), for all three
    objectives, whichever fills pass the limited port."""
    hw = hw_vector(two_level(l1_bytes=l1, l2_bytes=l2))
    p = _map_params(np.empty(MAP_LEN), hw, m, n, k, k, 0, 1, objective, False, False, np.zeros(6), False)
    p[MAP["ports"]] = 1.0
    p[MAP["work"]], p[MAP["fixed"]], p[MAP["bytes_per_cycle"]] = work, 10, bpc
    p[MAP["prologue"]], p[MAP["epilogue"]] = 16, 16
    for f, v in (
        ("e_dram_rd", 100),
        ("e_dram_wr", 100),
        ("e_fill_a", 20),
        ("e_fill_w", 20),
        ("e_drain_o", 10),
    ):
        p[MAP[f]] = v
    p[MAP["e_inner_a"]], p[MAP["e_inner_w"]] = e_a, e_w
    p[MAP["static_pj_per_cycle"]] = static
    _add_fill_port(p, 0.0, through[0], through[1], port_bw, 1, 2)  # e.g. the L2 read port
    cm, cn = mapper.tile_candidates(m), mapper.tile_candidates(n)
    _, _, _, ta, tw, o, _, _, _, fa, fw = mapper.search(p, cm, cn)
    got = mapper._cost(p, ta, tw, o, fa, fw)
    assert got == _brute_force(p, cm, cn, check_bound=True)


def _cycles(hw: HardwareConfig, m: int, n: int, k: int, nm: str | None) -> int:
    return nmsim.simulate_gemm(m, n, k, hw, sparsity=nm).cycles


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    m=st.integers(1, 2000),
    n=st.integers(1, 2000),
    k=st.integers(4, 2000),
    l1=st.integers(16, 8192),
    l2=st.integers(64, 1 << 20),
    port=st.floats(1.0, 256.0),
    grow=st.floats(1.0, 8.0),
    nm=st.sampled_from([None, "2:4"]),
)
def test_more_capacity_or_bandwidth_is_never_slower(m, n, k, l1, l2, port, grow, nm) -> None:
    """Two levels, latency objective: growing either level's capacity or either port never adds
    cycles (the candidate set only grows, the costs only fall); utilization ≤ 1."""
    sp = ["2:4"]
    base = two_level(l1, l2, l2_read=port, l1_write=port, modes=sp)
    c0 = _cycles(base, m, n, k, nm)
    for variant in (
        two_level(l1 * grow, l2, l2_read=port, l1_write=port, modes=sp),
        two_level(l1, l2 * grow, l2_read=port, l1_write=port, modes=sp),
        two_level(l1, l2, l2_read=port * grow, l1_write=port, modes=sp),
        two_level(l1, l2, l2_read=port, l1_write=port * grow, modes=sp),
    ):
        assert _cycles(variant, m, n, k, nm) <= c0
    r = nmsim.simulate_gemm(m, n, k, base, sparsity=nm)
    assert r.pe_utilization <= 1.0


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    m=st.integers(1, 2000),
    n=st.integers(1, 2000),
    k=st.integers(4, 2000),
    dim=st.sampled_from(["m", "n", "k"]),
    step=st.integers(1, 500),
    l1=st.integers(16, 8192),
    port=st.floats(1.0, 256.0),
)
def test_two_level_cycles_never_fall_as_a_dim_grows(m, n, k, dim, step, l1, port) -> None:
    hw = two_level(l1, 1 << 16, l2_read=port, l1_write=port)
    bigger = {"m": (m + step, n, k), "n": (m, n + step, k), "k": (m, n, k + step)}[dim]
    assert _cycles(hw, *bigger, None) >= _cycles(hw, m, n, k, None)


def _gemm_cli(hw_path: Path) -> subprocess.CompletedProcess:
    """``nmsim gemm`` on an 8×8×8 GEMM with the config at ``hw_path``."""
    cmd = [sys.executable, "-m", "nmsim", "gemm", "--m", "8", "--n", "8", "--k", "8", "--hw", str(hw_path)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_a_third_on_chip_level_for_one_operand_is_refused(tmp_path) -> None:
    """Schema: more than two on-chip levels per operand → one line naming the field, exit 2."""
    doc = copy.deepcopy(yaml.safe_load(Path("hw_configs/nvidia_a100_sxm.yaml").read_text()))
    levels = doc["memory"]["levels"]
    extra = copy.deepcopy(levels[1])  # shared_memory (activations, weights)
    extra["name"] = "l0"
    levels.insert(0, extra)  # activations and weights now in l0, shared_memory and l2
    path = tmp_path / "deep.yaml"
    path.write_text(yaml.safe_dump(doc))
    proc = _gemm_cli(path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines() + proc.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert "memory" in lines[0] and "at most 2 per operand" in lines[0] and "l0" in lines[0]


@pytest.mark.parametrize("nbytes", [1, 8])
def test_an_output_register_the_engine_cannot_honour_is_refused(tmp_path, nbytes: int) -> None:
    """``pe.output_register_bytes`` must hold exactly one 32-bit partial sum (4–7 bytes): one line, exit 2."""
    doc = yaml.safe_load(Path("hw_configs/tpu_v1_dense.yaml").read_text())
    doc["pe"]["output_register_bytes"] = nbytes
    doc["pe"]["sources"]["output_register_bytes"] = "test"
    path = tmp_path / "reg.yaml"
    path.write_text(yaml.safe_dump(doc))
    proc = _gemm_cli(path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "output_register_bytes" in proc.stderr and "4 to 7 bytes" in proc.stderr


def test_a_two_level_sweep_equals_simulate() -> None:
    """Sweeps on the two-level A100 (with residency, so reserved L2 bytes reach the mapper) equal
    ``nmsim.simulate`` bit for bit, shared-memory capacity swept by its level name."""
    from nmsim.explore.plan import make_plan
    from nmsim.explore.spec import make_spec
    from nmsim.explore.sweep import run_sweep
    from tests.explore.synthetic import toy_trace
    from tests.explore.test_explore_exact import assert_rows_equal

    spec = make_spec(
        traces=[toy_trace(), "wmt_transformer_1x8"],
        nm=["recorded", "2:4", "dense"],
        hw=["nvidia_a100_sxm"],
        params={"memory.levels.shared_memory.capacity_bytes": [16384, 167936]},
    )
    res = run_sweep(spec, scheduler="inline")
    assert len(res.table) == 2 * 3 * 2
    assert_rows_equal(res.table, make_plan(spec))
