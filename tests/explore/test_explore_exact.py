"""A sweep point's numbers are exactly (==) those of the per-GEMM path, ``nmsim.simulate``."""

from __future__ import annotations

import random

import numpy as np
import pytest

import nmsim
from nmsim.explore.batch import METRIC_COLUMNS, BatchEvaluator
from nmsim.explore.plan import make_plan
from nmsim.explore.reduce import python_sum
from nmsim.explore.spec import make_spec
from nmsim.explore.sweep import run_sweep
from nmsim.explore.variants import apply_nm
from tests.explore.synthetic import toy_trace

TOTALS = [c for c in METRIC_COLUMNS if not c.startswith("energy_") or c == "energy_pj"]


def expected_row(
    trace: nmsim.Trace, nm: str, hw: nmsim.HardwareConfig, compat: str | None = None, residency: str = "auto"
) -> dict:
    """The reference: nmsim.simulate on the trace with the pattern applied, totals as a flat dict."""
    tot = nmsim.simulate(apply_nm(trace, nm), hw, compat, residency).totals  # type: ignore[arg-type]
    row = {c: getattr(tot, c) for c in TOTALS}
    row.update({f"energy_{k}_pj": v for k, v in tot.energy_breakdown_pj.items()})
    return row


def assert_rows_equal(table, plan, compat: str | None = None) -> None:
    checked = 0
    for rec in table.to_dict("records"):
        v, h = divmod(rec["point"], plan.n_hw)
        t, nm = plan.variant(v)
        base, _ = plan.combo(h)
        hw = nmsim.load_hardware(plan.hw[base].name, **plan.overrides(h))
        exp = expected_row(plan.traces[t].trace, nm, hw, compat, plan.residency)
        for col, want in exp.items():
            assert rec[col] == want, (rec["point"], col, rec[col], want)
        checked += 1
    assert checked == plan.n_points


def test_every_point_equals_simulate_on_the_same_config() -> None:
    spec = make_spec(
        traces=[toy_trace(), "wmt_transformer_1x8"],
        nm=["recorded", "1:4", "2:8", "dense"],
        hw=["stc_2x4_like", "vegeta_like", "s2ta_like", "tpu_like_dense"],
        params={"rows": [16, 64], "dataflow": ["os", "ws", "is"]},
    )
    res = run_sweep(spec, scheduler="inline")
    assert len(res.table) == 2 * 4 * 4 * 2 * 3
    assert_rows_equal(res.table, make_plan(spec))
    # repeated shapes and shared modes are evaluated once, yet every layer counts
    assert res.kernel_rows < res.layer_rows


def test_residency_none_equals_simulate_and_costs_the_round_trip() -> None:
    """``residency: none`` equals ``nmsim simulate --residency none`` point for point, and on a trace with
    edges moves more DRAM bytes than ``auto`` (outputs go to DRAM and are read back)."""
    base = {"traces": ["wmt_transformer_1x8"], "nm": ["dense", "2:4"], "hw": ["stc_2x4_like"]}
    base["params"] = {"memory.levels.@activations.capacity_bytes": [1 << 20, 8 << 20]}
    tables = {}
    for policy in ("auto", "none"):
        spec = make_spec(**base, residency=policy)
        tables[policy] = run_sweep(spec, scheduler="inline").table
        assert_rows_equal(tables[policy], make_plan(spec))
    assert (tables["none"]["dram_bytes"] > tables["auto"]["dram_bytes"]).all()
    assert (
        make_plan(make_spec(**base)).fingerprint != make_plan(make_spec(**base, residency="none")).fingerprint
    )


def test_memory_sparse_and_dtype_parameters_and_compat_mode() -> None:
    spec = make_spec(
        traces=[toy_trace(ff="1:8")],
        nm=["recorded", "2:4"],
        hw=["vegeta_like"],
        params={
            "modes": [["2:4"], ["1:4", "2:4"], "none"],
            "memory.ifmap.size_kb": [4, 512],
            "dram_bandwidth_gbps": [8.5, 400],
            "dtype": ["int8", "fp16"],
        },
    )
    res = run_sweep(spec, scheduler="inline")
    assert_rows_equal(res.table, make_plan(spec))
    compat = make_spec(
        traces=[toy_trace(ff="1:8")], hw=["tpu_like_dense"], compat="scalesim", params={"rows": [8, 32]}
    )
    assert_rows_equal(run_sweep(compat, scheduler="inline").table, make_plan(compat), "scalesim")


def test_chunking_and_point_order_do_not_change_numbers() -> None:
    spec = make_spec(
        traces=[toy_trace()], nm=["1:4", "2:4"], hw=["vegeta_like"], params={"cols": [8, 16, 32]}
    )
    plan = make_plan(spec)
    whole, _ = BatchEvaluator(plan).evaluate(np.arange(plan.n_points))
    ids = np.array([5, 0, 3, 1, 4, 2])
    shuffled, _ = BatchEvaluator(plan).evaluate(ids)
    for col in METRIC_COLUMNS:
        assert whole[col][ids].tolist() == shuffled[col].tolist(), col


def test_hardware_combinations_equal_load_hardware() -> None:
    spec = make_spec(
        hw=["s2ta_like"],
        params={"rows": [8], "modes": [["1:4", "2:4"]], "memory.filter.size_kb": [64.5], "clock_ghz": [0.7]},
    )
    plan = make_plan(spec)
    bases: dict = {}
    want = nmsim.load_hardware(
        "s2ta_like", rows=8, modes=["1:4", "2:4"], **{"memory.filter.size_kb": 64.5}, clock_ghz=0.7
    )
    for _ in range(2):  # a second build must not see the first one's edits
        assert plan.build_hw(0, bases) == want
        assert plan.build_hw(0) == want
    assert plan.hw[0].doc["array"]["rows"] != 8


@pytest.mark.parametrize("compensated", [False, True])
def test_layer_sums_follow_python_sum(compensated: bool) -> None:
    rng = random.Random(7)
    values = [rng.choice((1e16, 1.0, -1e16, 3.3e-3, 7.1e5)) * rng.random() for _ in range(400)]
    # plain left-to-right addition, and Neumaier's compensated one (Python >= 3.12's sum)
    plain = 0.0
    for v in values:
        plain += v
    f = c = 0.0
    for v in values:
        t = f + v
        c += (f - t) + v if abs(f) >= abs(v) else (v - t) + f
        f = t
    comp = f + c
    assert python_sum(np.array(values), compensated) == (comp if compensated else plain)
    assert python_sum(np.array(values)) == sum(values)  # this interpreter's sum()


def test_tile_adaptive_density_bound_blocks_use_mask_statistics() -> None:
    from nmsim.schemas.hardware import SparseConfig

    if "tile_adaptive" not in SparseConfig.model_fields:
        pytest.skip("this core has no tile-adaptive DBB mode")
    spec = make_spec(
        traces=[toy_trace()],
        hw=["s2ta_like"],
        params={
            "modes": [["1:8", "2:8", "3:8", "4:8"]],
            "sparse.tile_adaptive": [False, True],
            "rows": [2, 32],
            "cols": [4],
        },
    )
    res = run_sweep(spec, scheduler="inline")
    assert_rows_equal(res.table, make_plan(spec))
    on = res.table[res.table["sparse.tile_adaptive"] == True]  # noqa: E712
    off = res.table[res.table["sparse.tile_adaptive"] == False]  # noqa: E712
    # one 8-block per 2x4 tile: the tile runs at its own block's bound, below the layer's worst (3)
    assert on["cycles"].tolist()[0] < off["cycles"].tolist()[0]
