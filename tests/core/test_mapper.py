"""The mapper, ports, fallback and utilization: hand-worked cases and properties (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nmsim
from nmsim.engine.mapper import MAX_CANDIDATES, tile_candidates
from nmsim.schemas.migrate import migrate_hardware
from tests.conftest import tiny_doc, tiny_hw

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
dims = st.integers(1, 1500)


def test_tile_candidates_by_hand() -> None:
    """D = 100: ⌈100/j⌉ for j ≤ 12 and the smallest tile for each power-of-two size b (⌈100/⌈100/b⌉⌉)."""
    expected = {100, 50, 34, 25, 20, 17, 15, 13, 12, 10, 9} | {1, 2, 4, 8, 15, 25, 50}
    assert tile_candidates(100).tolist() == sorted(expected)
    big = tile_candidates(2**30)
    assert len(big) <= MAX_CANDIDATES and big[-1] == 2**30 and big[0] == 1


def test_port_limit_saturates_the_sparse_speedup() -> None:
    """4x4 ws array, activations' read port 2 B/cycle, int8, M = 64, K = 8, N = 4.

    The array reads every activation candidate: M·K·⌈N/4⌉ = 512 B → 256 cycles at 2 B/cycle, dense or
    2:4 alike (a sparse PE's mux needs all m candidates). Fold work: dense 2 folds × 64 = 128 cycles,
    2:4 (K′ = 4) 1 × 64; both are port-bound at 256, so 2:4 gains nothing.
    """
    doc = migrate_hardware(tiny_doc(modes=["2:4"]))
    doc["memory"]["levels"][0]["read_bytes_per_cycle"] = 2.0
    doc["memory"]["levels"][0]["sources"]["read_bytes_per_cycle"] = "test"
    doc["sparse"]["fallback"] = "never"
    hw = nmsim.io.loaders.hardware_from_document(doc, "t")
    dense = nmsim.simulate_gemm(64, 4, 8, hw)
    sparse = nmsim.simulate_gemm(64, 4, 8, hw, sparsity="2:4")
    assert dense.mapping["port_cycles"] == sparse.mapping["port_cycles"] == 256
    assert dense.bound == sparse.bound == "port"
    assert dense.mapping["work_cycles"] == sparse.mapping["work_cycles"] == 256
    free = nmsim.simulate_gemm(64, 4, 8, tiny_hw(modes=["2:4"]), sparsity="2:4")
    assert free.mapping["work_cycles"] == 64 and free.bound == "compute"


def test_utilization_counts_k_per_pe_and_is_not_clamped() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    r = nmsim.simulate_gemm(8192, 8192, 8192, hw, dtype="fp8")
    pes = hw.array.rows * hw.array.cols * hw.array.cores
    assert r.pe_utilization == r.issued_macs / (pes * 2 * r.cycles)  # k_per_pe = 2 for fp8
    assert 0.80 < r.pe_utilization < 0.84  # issue 11: about 0.82 at the config's fitted clock


def test_compat_mode_ignores_k_per_pe() -> None:
    doc = tiny_doc()
    doc["array"]["k_per_pe"] = {"int8": 4}
    doc["array"]["sources"]["k_per_pe"] = "test"
    four = nmsim.io.loaders.hardware_from_document(doc, "t")
    a = nmsim.simulate_gemm(40, 12, 30, four, compat="scalesim")
    b = nmsim.simulate_gemm(40, 12, 30, tiny_hw(), compat="scalesim")
    assert a.cycles == b.cycles and a.pe_utilization == b.pe_utilization


def test_fallback_runs_dense_when_sparse_is_slower() -> None:
    """mux_extra 1000 cycles make 2:4 slower on a small GEMM: auto runs it dense, never does not."""
    doc = tiny_doc(modes=["2:4"])
    doc["sparse"]["mux_extra_cycles"] = 1000
    doc["sparse"]["sources"] = {"mux_extra_cycles": "test"}
    hw = nmsim.io.loaders.hardware_from_document(doc, "t")
    dense = nmsim.simulate_gemm(16, 16, 16, hw)
    auto = nmsim.simulate_gemm(16, 16, 16, hw, sparsity="2:4")
    never = nmsim.simulate_gemm(16, 16, 16, hw, sparsity="2:4", fallback="never")
    assert auto.fell_back and auto.hw_mode == "dense" and auto.cycles == dense.cycles
    assert not never.fell_back and never.cycles > dense.cycles


def test_energy_objective_trades_cycles_for_energy() -> None:
    """Each objective's choice is the best on its own measure over the same mapping space."""
    hw = nmsim.load_hardware("vegeta_like", ifmap_kb=16, filter_kb=16, ofmap_kb=16)
    for shape in ((512, 3072, 768), (2048, 1024, 4096)):
        lat = nmsim.simulate_gemm(*shape, hw, sparsity="1:4")
        en = nmsim.simulate_gemm(*shape, hw, sparsity="1:4", objective="energy")
        edp = nmsim.simulate_gemm(*shape, hw, sparsity="1:4", objective="edp")
        assert lat.cycles <= en.cycles and en.energy_pj <= lat.energy_pj
        assert edp.cycles * edp.energy_pj <= min(lat.cycles * lat.energy_pj, en.cycles * en.energy_pj)
    with pytest.raises(nmsim.errors.NmsimInputError, match="objective"):
        nmsim.simulate_gemm(8, 8, 8, hw, objective="power")


def test_residency_hooks() -> None:
    """A resident input costs no DRAM read, a resident output no DRAM write; reserved bytes shrink
    the level the tiles may use (here to nothing: both operands re-read per element)."""
    hw = tiny_hw(buffers_kb=1.0)
    base = nmsim.simulate_gemm(64, 64, 32, hw)
    res = nmsim.simulate_gemm(64, 64, 32, hw, input_resident=True, output_resident=True)
    assert res.dram_ifmap_bytes == 0 and res.dram_ofmap_bytes == 0
    assert res.dram_filter_bytes <= base.dram_filter_bytes
    full = nmsim.simulate_gemm(64, 64, 32, hw, reserved={"ifmap_sram": 512, "filter_sram": 512})
    assert full.dram_ifmap_bytes + full.dram_filter_bytes == 64 * 32 * 64 * 2
    with pytest.raises(nmsim.errors.NmsimInputError, match="reserved"):
        nmsim.simulate_gemm(8, 8, 8, hw, reserved={"dram": 1})


# --- properties ---------------------------------------------------------------------------------

CONFIGS = {
    "ws": tiny_hw(rows=8, cols=8, modes=["1:4", "2:4"], buffers_kb=2.0, bandwidth_gbps=4.0),
    "os": tiny_hw(rows=8, cols=4, dataflow="os", modes=["2:4"], buffers_kb=1.0, bandwidth_gbps=2.0),
    "is": tiny_hw(rows=4, cols=8, dataflow="is", modes=["2:4"], buffers_kb=4.0, bandwidth_gbps=8.0),
}
configs = st.sampled_from(sorted(CONFIGS))


@PROPS
@given(configs, dims, dims, dims, st.sampled_from([None, "2:4", "1:4"]))
def test_utilization_at_most_one(cfg: str, m: int, n: int, k: int, sp: str | None) -> None:
    r = nmsim.simulate_gemm(m, n, k, CONFIGS[cfg], sparsity=sp)
    assert 0 < r.pe_utilization <= 1


@PROPS
@given(configs, dims, dims, dims, st.integers(0, 2), st.integers(1, 300))
def test_cycles_non_decreasing_in_each_dim(cfg: str, m: int, n: int, k: int, axis: int, step: int) -> None:
    hw = CONFIGS[cfg]
    dims_ = [m, n, k]
    small = nmsim.simulate_gemm(*dims_, hw, sparsity="2:4")
    dims_[axis] += step
    assert nmsim.simulate_gemm(*dims_, hw, sparsity="2:4").cycles >= small.cycles


@PROPS
@given(configs, dims, dims, dims, st.sampled_from(["2:4", "1:4"]))
def test_sparse_never_slower_than_dense(cfg: str, m: int, n: int, k: int, sp: str) -> None:
    """fallback auto: never slower at all; fallback never, on a datapath with no sparse overheads
    (no mux stage, equal efficiency): never slower because of the mapping wherever the pattern
    drops weights (where it drops none, e.g. 2:4 at K = 2, forced sparse still pays its metadata)."""
    hw = CONFIGS[cfg]
    dense = nmsim.simulate_gemm(m, n, k, hw)
    assert nmsim.simulate_gemm(m, n, k, hw, sparsity=sp).cycles <= dense.cycles
    forced = nmsim.simulate_gemm(m, n, k, hw, sparsity=sp, fallback="never")
    if forced.k_compacted < k:
        assert forced.cycles <= dense.cycles


@PROPS
@given(configs, dims, dims, dims, st.sampled_from([None, "2:4"]), st.floats(1.0, 8.0))
def test_more_bandwidth_or_capacity_never_slower(
    cfg: str, m: int, n: int, k: int, sp: str | None, factor: float
) -> None:
    doc = migrate_hardware(tiny_doc())
    hw = CONFIGS[cfg]
    base = nmsim.simulate_gemm(m, n, k, hw, sparsity=sp).cycles
    levels = hw.memory.levels
    more_bw = hw.model_copy(
        update={"memory": hw.memory.model_copy(update={"levels": [
            *levels[:-1], levels[-1].model_copy(update={"bandwidth_gbps": levels[-1].bandwidth_gbps * factor})
        ]})}
    )  # fmt: skip
    more_cap = hw.model_copy(
        update={"memory": hw.memory.model_copy(update={"levels": [
            *(lv.model_copy(update={"capacity_bytes": lv.capacity_bytes * factor}) for lv in levels[:-1]),
            levels[-1],
        ]})}
    )  # fmt: skip
    assert doc["schema_version"] == "2.0"
    assert nmsim.simulate_gemm(m, n, k, more_bw, sparsity=sp).cycles <= base
    assert nmsim.simulate_gemm(m, n, k, more_cap, sparsity=sp).cycles <= base
    assert math.isfinite(base) and np.isfinite(base)


def test_objective_is_a_config_field_and_a_sweep_parameter() -> None:
    """``mapper.objective`` (alias ``objective``) sweeps like any hardware field; every point equals
    ``nmsim.simulate`` on the same config, residency included (the trace has edges)."""
    from nmsim.explore import make_spec, run_sweep
    from nmsim.explore.variants import apply_nm

    spec = make_spec(
        traces=["wmt_transformer_1x8"],
        nm=["1:4"],
        hw=["vegeta_like"],
        params={"objective": ["latency", "energy"], "ifmap_kb": [64]},
    )
    table = run_sweep(spec, scheduler="inline").table
    trace = apply_nm(
        nmsim.load_trace(nmsim.io.registry.data_dir("traces") / "wmt_transformer_1x8.json"), "1:4"
    )
    seen = []
    for row in table.to_dict("records"):
        hw = nmsim.load_hardware("vegeta_like", objective=row["objective"], ifmap_kb=64)
        tot = nmsim.simulate(trace, hw).totals
        assert (row["cycles"], row["energy_pj"], row["dram_bytes"]) == (
            tot.cycles,
            tot.energy_pj,
            tot.dram_bytes,
        )
        seen.append((row["objective"], tot.cycles, tot.energy_pj))
    (_, c_lat, e_lat), (_, c_en, e_en) = sorted(seen)[1], sorted(seen)[0]  # 'energy' < 'latency'
    assert c_lat <= c_en and e_en <= e_lat
