"""The ``software`` sparse-kernel mode of simulate_gemm / simulate / the CLI (nmsim.sim.software_mode)."""

from __future__ import annotations

import json

import pytest

import nmsim
from nmsim.engine.energy import scale_factor
from nmsim.engine.software_sparse import software_kernel, software_sparse_gemm
from nmsim.errors import NmsimInputError
from nmsim.published.kernel_check import ZOO, _fp32, end_to_end_speedups, ff_pruned, fp32_on_cuda_cores
from nmsim.sim.gemm import simulate_gemm
from nmsim.sim.simulate import simulate
from tests.conftest import REPO
from tests.core.test_cli import assert_one_line_error, run

A100 = "nvidia_a100_sxm"


@pytest.fixture(scope="module")
def a100():
    return nmsim.load_hardware(A100)


def test_one_gemm_by_hand(a100) -> None:
    """ViT-L FF1 (196 x 1024 x 4096) at 1:4 on the A100 in software mode: latency and energy by hand."""
    r = simulate_gemm(196, 4096, 1024, a100, sparsity="1:4", sparse_kernel="software")
    assert (r.hw_mode, r.fell_back, r.dtype, r.k_compacted) == ("software:1:4", False, "fp32", 256)
    latency = 10e-6 + 2 * 196 * 256 * 4096 / (0.10 * 19.5e12)  # compute-bound (DRAM: 6.1 us)
    assert r.latency_s == pytest.approx(latency, rel=1e-12)
    assert r.latency_s == pytest.approx(220.79e-6, rel=1e-4)
    reads = 256 * 4096 * (4 + 4) + 1025 * 4 + 196 * 1024 * 4  # CSR values + indices, row pointers, input
    writes = 196 * 4096 * 4
    assert (
        (r.dram_filter_bytes + r.dram_ifmap_bytes, r.dram_ofmap_bytes)
        == (reads, writes)
        == (9_195_524, 3_211_264)
    )
    # 7 nm / 45 nm logic energy per the engine's Stillmaker scaling (the A100 config's node and scaling)
    mac_pj = 4.6 * scale_factor(
        "logic", 45, 7, "stillmaker"
    )  # Horowitz fp32 MAC: the config has no fp32 entry
    parts = r.energy_breakdown_pj
    assert parts["static"] == pytest.approx(60.0 * latency * 1e12, rel=1e-12)  # 60 W x 220.8 us = 13.25 mJ
    assert parts["mac"] == pytest.approx(196 * 256 * 4096 * mac_pj, rel=1e-12)
    assert parts["dram"] == pytest.approx(
        (reads + writes) * 31.2, rel=1e-12
    )  # HBM2e 31.2 pJ/B read and write
    assert r.energy_pj == pytest.approx(sum(parts.values()), rel=1e-12)
    assert r.energy_pj == pytest.approx(13.72e9, rel=2e-3)


def test_selected_only_where_asked(a100) -> None:
    """Tensor-core results unchanged; dense GEMMs in software mode stay on the tensor cores."""
    base = simulate_gemm(196, 4096, 1024, a100, sparsity="2:4")
    assert simulate_gemm(196, 4096, 1024, a100, sparsity="2:4", sparse_kernel="tensor-core") == base
    assert not base.hw_mode.startswith("software")
    dense = simulate_gemm(196, 4096, 1024, a100)
    assert simulate_gemm(196, 4096, 1024, a100, sparse_kernel="software") == dense
    trace = nmsim.load_trace("wmt_transformer_1x8")
    assert simulate(trace, a100, sparse_kernel="tensor-core").to_dict() == simulate(trace, a100).to_dict()


def test_trace_in_software_mode_is_the_sum_of_its_parts(a100) -> None:
    """residency none: software total = tensor-core dense layers + the kernel model's N:M layers."""
    layers = [x for x in nmsim.load_trace(ZOO / "vit_l16.json").layers if x.name.startswith("enc0.")]
    trace = ff_pruned(
        nmsim.Trace(
            name="enc0", layers=[x.model_copy(update={"inputs": None, "residual": None}) for x in layers]
        ),
        "1:8",
    )
    sw = simulate(trace, a100, residency="none", sparse_kernel="software")
    tc = simulate(trace, a100, residency="none")
    kernel = software_kernel(a100)
    expected = 0.0
    for layer, s, t in zip(trace.layers, sw.layers, tc.layers, strict=True):
        if layer.role == "ff":
            assert s.hw_mode == "software:1:8"
            expected += software_sparse_gemm(kernel, a100, layer.m, layer.k, layer.n, "1:8").latency_s
        else:
            assert s == t
            expected += t.latency_s
    assert sw.totals.latency_s == pytest.approx(expected, rel=1e-12)


def test_vit_l_end_to_end_matches_the_kernel_formula() -> None:
    """simulate in software mode on the ViT-L zoo trace = dense − dense FF + software FF (Table 8, 1:8)."""
    hw = nmsim.load_hardware(A100)
    kernel = software_kernel(hw)
    hw = fp32_on_cuda_cores(hw, kernel)
    trace = _fp32(nmsim.load_trace(ZOO / "vit_l16.json"))
    dense = simulate(trace, hw)
    ff = [x for x in trace.layers if x.role == "ff"]
    ff_dense_s = sum(r.latency_s for r in dense.layers if r.name in {x.name for x in ff})
    ff_sw_s = sum(software_sparse_gemm(kernel, hw, x.m, x.k, x.n, "1:8", x.repeat).latency_s for x in ff)
    sparse = simulate(ff_pruned(trace, "1:8"), hw, sparse_kernel="software")
    by_hand = dense.totals.latency_s - ff_dense_s + ff_sw_s
    assert sparse.totals.latency_s == pytest.approx(by_hand, rel=1e-9)
    assert end_to_end_speedups(A100, ["1:8"], nmsim.load_trace(ZOO / "vit_l16.json"))["1:8"] == pytest.approx(
        dense.totals.latency_s / by_hand, rel=1e-9
    )


def test_bad_values_are_input_errors(a100) -> None:
    with pytest.raises(NmsimInputError, match="sparse_kernel"):
        simulate_gemm(8, 8, 64, a100, sparsity="1:4", sparse_kernel="cusparse")
    with pytest.raises(NmsimInputError, match="software_sparse"):
        simulate_gemm(8, 8, 64, nmsim.load_hardware("vegeta_like"), sparsity="1:4", sparse_kernel="software")


def test_cli() -> None:
    p = run("gemm", "--m", "196", "--k", "1024", "--n", "4096", "--hw", A100, "--sparsity", "1:4",
            "--sparse-kernel", "software", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["hw_mode"] == "software:1:4" and d["latency_s"] == pytest.approx(220.79e-6, rel=1e-4)
    assert_one_line_error(
        run("gemm", "--m", "8", "--k", "64", "--n", "8", "--sparse-kernel", "sw"), "sparse_kernel", "software"
    )
    assert_one_line_error(
        run("simulate", "--hw", "vegeta_like", "--sparse-kernel", "software"), "hardware", "software_sparse"
    )


def test_frontier_points_in_software_mode(a100) -> None:
    """frontier's x in software mode is simulate's in that mode; the dense cell stays on the tensor cores."""
    from nmsim.explore.frontier import trace_points

    folder = REPO / "traces" / "published" / "pgf_vit_b16"
    traces = [nmsim.load_trace(folder / f) for f in ("dense.json", "mdgf-exp_1x8.json")]
    points = {p.target: p for p in trace_points(traces, [a100], "latency", sparse_kernel="software")}
    assert {p.group for p in points.values()} == {f"{A100} (software sparse kernel)"}
    assert points["dense"].x == simulate(traces[0], a100).totals.latency_s
    sw = simulate(traces[1], a100, sparse_kernel="software").totals.latency_s
    assert points["1:8"].x == sw != simulate(traces[1], a100).totals.latency_s
    with pytest.raises(NmsimInputError, match="sparse-kernel"):
        trace_points(traces, [a100], "training-energy", sparse_kernel="software")
