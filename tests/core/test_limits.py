"""The named limits: they admit every shipped input, they are exact at their boundaries, and no input they
admit makes the engine overflow (a hypothesis property over admitted GEMMs and configs)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nmsim
from nmsim import limits
from nmsim.errors import NmsimInputError, NmsimUsageError
from nmsim.io.atomic import check_output_path, transaction, write_text_atomic
from nmsim.io.guard import check_json_text, check_yaml_text, csv_rows
from nmsim.io.loaders import load_trace
from nmsim.io.registry import data_dir, shipped_hardware
from nmsim.sim.bounds import check_layers, worst_counts
from nmsim.sparsity import NM, parse_nm
from tests.conftest import tiny_doc

TRACES = sorted(str(p) for p in data_dir("traces").rglob("*.json"))


def test_every_shipped_trace_is_admitted_on_every_shipped_config() -> None:
    traces = [load_trace(p) for p in TRACES]
    assert len(traces) >= 100
    for name in shipped_hardware():
        hw = nmsim.load_hardware(name)
        for t in traces:
            check_layers(hw, [(x.name, x.m, x.n, x.k, x.repeat) for x in t.layers])  # type: ignore[misc]


def test_sdgf_geometric_structures_fit_max_m_in_nm() -> None:
    """k·M of SDGF-geometric (k = 16 by default) for the targets the project trains and ships."""
    from nmsim.schedules import structure_patterns

    for target in ("2:4", "1:8", "1:16", "1:32", "1:128"):
        for p in structure_patterns("geometric", parse_nm(target), 16):
            assert parse_nm(str(p)) == p  # every pattern it produces can be written and read back
    assert max(p.m for p in structure_patterns("geometric", NM(1, 128), 16)) == 16 * 128
    with pytest.raises(NmsimInputError, match="MAX_M_IN_NM"):
        structure_patterns("geometric", NM(1, 128), 64)  # 64 · 128 = 8192 > 4096


def test_nm_boundaries() -> None:
    assert parse_nm(f"1:{limits.MAX_M_IN_NM}") == NM(1, 4096)
    for bad in (f"1:{limits.MAX_M_IN_NM + 1}", "1:" + "9" * (limits.MAX_NM_DIGITS + 1), "1:" + "9" * 5000):
        with pytest.raises(NmsimInputError, match="MAX_M_IN_NM"):
            parse_nm(bad)


def test_gemm_dimension_and_product_boundaries(tiny_hw: nmsim.HardwareConfig) -> None:
    nmsim.simulate_gemm(limits.MAX_DIM, 1, 1, tiny_hw)
    with pytest.raises(NmsimInputError, match="16,777,216"):
        nmsim.simulate_gemm(limits.MAX_DIM + 1, 1, 1, tiny_hw)
    # 2**15 · 2**15 · 2**15 = 2**45 exactly is admitted; one more row is not
    side = 2**15
    nmsim.simulate_gemm(side, side, side, nmsim.load_hardware("stc_2x4_like"))
    with pytest.raises(NmsimInputError, match="MAX_MACS"):
        nmsim.simulate_gemm(side + 1, side, side, nmsim.load_hardware("stc_2x4_like"))


@pytest.fixture
def tiny_hw() -> nmsim.HardwareConfig:
    return nmsim.HardwareConfig.model_validate(tiny_doc())


def _nest_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_document_depth_boundary() -> None:
    check_json_text(_nest_json(limits.MAX_DOC_DEPTH), "x.json")
    check_yaml_text(_nest_json(limits.MAX_DOC_DEPTH), "x.yaml")
    for check in (check_json_text, check_yaml_text):
        with pytest.raises(NmsimInputError, match="MAX_DOC_DEPTH"):
            check(_nest_json(limits.MAX_DOC_DEPTH + 1), "x")
    # brackets inside strings are not nesting
    check_json_text(json.dumps({"a": "[" * 1000}), "x.json")


def test_yaml_alias_depth_and_count() -> None:
    deep = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"  # 30 + 1 + 40 > 64
    with pytest.raises(NmsimInputError, match="MAX_DOC_DEPTH"):
        check_yaml_text(deep, "x.yaml")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcde", "bcdef", strict=True)
    )  # 10**6 leaves under f: over 2,000,000 values with the levels above
    check_yaml_text(laughs.rsplit("\n", 2)[0] + "\n", "x.yaml")  # up to e: 10**5 leaves, admitted
    with pytest.raises(NmsimInputError, match="MAX_DOC_NODES"):
        check_yaml_text(laughs + "g: [*f, *f]\n", "x.yaml")


def test_csv_field_boundary(tmp_path: Path) -> None:
    ok, bad = tmp_path / "ok.csv", tmp_path / "bad.csv"
    ok.write_text("a," + "x" * limits.MAX_CSV_FIELD + "\n")
    bad.write_text("a," + "x" * (limits.MAX_CSV_FIELD + 1) + "\n")
    assert len(csv_rows(ok)[0][1]) == limits.MAX_CSV_FIELD
    with pytest.raises(NmsimInputError, match="131,072"):
        csv_rows(bad)


def test_output_paths_and_transaction(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    check_output_path(tmp_path / "new" / "deeper" / "out.json")  # missing folders are made later: fine
    for bad, needle in (
        (tmp_path / "file" / "out.json", "is a file"),
        (tmp_path / "folder", "existing folder"),
        (Path("/proc/nmsim_no_such/out.json"), "cannot write"),
    ):
        with pytest.raises(NmsimInputError, match=needle):
            check_output_path(bad)
    with pytest.raises(NmsimInputError, match="existing file"):
        check_output_path(tmp_path / "file", folder=True)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(RuntimeError), transaction():
        write_text_atomic(tmp_path / "a.txt", "a")
        write_text_atomic(tmp_path / "sub" / "b.txt", "b")
        raise RuntimeError("the second output failed")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing staged, no folder left
    with transaction():
        write_text_atomic(tmp_path / "a.txt", "a")
        assert not (tmp_path / "a.txt").exists()  # staged until the block ends
    assert (tmp_path / "a.txt").read_text() == "a"


def test_errors_survive_pickling() -> None:
    """Sweep workers raise them in another process."""
    e = NmsimInputError("rows", "an integer", 5, source="cfg.yaml")
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is NmsimInputError and again.line() == e.line()
    u = pickle.loads(pickle.dumps(NmsimUsageError("--x: choose one")))
    assert isinstance(u, NmsimInputError) and u.line() == "--x: choose one"


# ----------------------------------------------------------------------------- no overflow, ever

_EFF = st.floats(limits.MIN_EFFICIENCY, 1.0)


@st.composite
def admitted_config(draw: st.DrawFn) -> nmsim.HardwareConfig:
    """A config whose every field lies anywhere within its limits (extremes drawn often)."""
    doc = tiny_doc(
        rows=draw(st.integers(1, limits.MAX_ARRAY_DIM)),
        cols=draw(st.integers(1, limits.MAX_ARRAY_DIM)),
        dataflow=draw(st.sampled_from(["os", "ws", "is"])),
        modes=draw(st.sampled_from([None, ["2:4"], ["1:4", "2:4"], ["1:8"]])),
        buffers_kb=draw(st.floats(1e-3, limits.MAX_BUFFER_KB)),
        bandwidth_gbps=draw(st.floats(limits.MIN_RATE, limits.MAX_RATE)),
    )
    arr = doc["array"]
    arr["clock_ghz"] = draw(st.floats(limits.MIN_RATE, limits.MAX_RATE))
    arr["cores"] = draw(st.integers(1, limits.MAX_CORES))
    arr["tile_folds"] = draw(st.integers(1, limits.MAX_CORES))
    arr["efficiency"] = {"int8": draw(_EFF)}
    arr["tile_overhead_cycles"] = draw(st.floats(0, limits.MAX_OVERHEAD_CYCLES))
    arr["launch_overhead_us"] = draw(st.floats(0, limits.MAX_OVERHEAD_US))
    for key in ("cores", "tile_folds", "efficiency", "tile_overhead_cycles", "launch_overhead_us"):
        arr.setdefault("sources", {})[key] = "test value"
    if doc["sparse"].get("modes"):
        doc["sparse"]["efficiency"] = {"int8": draw(_EFF)}
        doc["sparse"]["mux_extra_cycles"] = draw(st.integers(0, limits.MAX_PER_PE))
        doc["sparse"].setdefault("sources", {}).update(efficiency="t", mux_extra_cycles="t")
    return nmsim.HardwareConfig.model_validate(doc)


@st.composite
def admitted_gemm(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(m, n, k, repeat) each within its limit and m·n·k·repeat ≤ MAX_MACS."""
    budget = limits.MAX_MACS
    out = []
    for cap in (limits.MAX_REPEAT, limits.MAX_DIM, limits.MAX_DIM, limits.MAX_DIM):
        v = draw(st.integers(1, max(1, min(cap, budget))))
        budget //= v
        out.append(v)
    repeat, m, n, k = out
    return m, n, k, repeat


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admitted_config(), admitted_gemm(), st.sampled_from([None, "2:4", "1:8", "3:7", "1:4096"]),
       st.sampled_from([None, "scalesim"]))  # fmt: skip
def test_no_admitted_input_overflows(
    hw: nmsim.HardwareConfig, gemm: tuple[int, int, int, int], sparsity: str | None, compat: str | None
) -> None:
    """Either the worst-case check refuses the GEMM, or every count is exact, non-negative, within
    MAX_COUNT, and within the bound the check computed (so the check is a true upper bound)."""
    m, n, k, repeat = gemm
    try:
        r = nmsim.simulate_gemm(m, n, k, hw, sparsity=sparsity, repeat=repeat, compat=compat)  # type: ignore[arg-type]
    except NmsimInputError as exc:
        assert "MAX_COUNT" in exc.line()
        return
    cycles_bound, bytes_bound = worst_counts(hw, m, n, k, repeat)
    for name in ("cycles", "compute_cycles", "stall_cycles", "dram_bytes", "issued_macs", "folds", "waves"):
        v = getattr(r, name)
        assert isinstance(v, int) and 0 <= v <= limits.MAX_COUNT, (name, v)
    assert r.cycles == r.compute_cycles + r.stall_cycles
    assert r.cycles <= cycles_bound
    assert r.dram_bytes <= bytes_bound
    assert r.dense_macs == m * n * k * repeat
    assert math.isfinite(r.latency_s) and r.latency_s > 0
    assert math.isfinite(r.energy_pj) and r.energy_pj >= 0
    assert 0 <= r.pe_utilization <= 1
