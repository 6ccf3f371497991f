"""The software sparse kernel mode (CSR SpMM on the CUDA cores) and [PGF]'s speed-table check."""

from __future__ import annotations

import itertools

import pytest
import yaml

import nmsim
from nmsim.engine.software_sparse import software_kernel, software_sparse_gemm
from nmsim.errors import NmsimInputError
from nmsim.published.kernel_check import ZOO, end_to_end_speedups, ffn_kernel_speedups, speed_table_gaps
from nmsim.published.tables import PGF_TABLES, load_tables

PATTERNS = ["2:4", "1:4", "1:8", "1:16", "1:32", "1:128"]


def test_one_gemm_by_hand() -> None:
    """ViT-L FF1 (196 x 1024 x 4096) at 1:4 on the A100, worked by hand from the yaml's parameters."""
    hw = nmsim.load_hardware("nvidia_a100_sxm")
    kernel = software_kernel(hw)
    assert (kernel.peak_tflops, kernel.efficiency, kernel.index_bytes, kernel.launch_overhead_us) == (
        19.5,
        0.10,
        4,
        10.0,
    )
    cost = software_sparse_gemm(kernel, hw, 196, 1024, 4096, "1:4")
    nnz = 256 * 4096  # 1024/4 kept rows of K per output column
    assert cost.nnz == nnz == 1_048_576
    assert cost.flops == 411_041_792  # 2 * 196 * nnz
    # fp32 values + int32 column indices, 1025 int32 row pointers, fp32 input 196x1024 and output 196x4096
    assert cost.dram_bytes == 1_048_576 * 8 + 1025 * 4 + (196 * 1024 + 196 * 4096) * 4 == 12_406_788
    compute_s = 411_041_792 / (0.1 * 19.5e12)  # 210.8 us: compute-bound
    memory_s = 12_406_788 / 2039e9  # 6.1 us at the HBM2e peak
    assert cost.latency_s == pytest.approx(10e-6 + max(compute_s, memory_s), rel=1e-12)
    assert cost.latency_s == pytest.approx(220.79e-6, rel=1e-4)
    assert software_sparse_gemm(kernel, hw, 196, 1024, 4096, "1:4", repeat=3).latency_s == pytest.approx(
        3 * cost.latency_s
    )


def test_bad_inputs_are_one_line_errors() -> None:
    hw = nmsim.load_hardware("nvidia_a100_sxm")
    kernel = software_kernel(hw)
    with pytest.raises(NmsimInputError, match="pattern"):
        software_sparse_gemm(kernel, hw, 4, 64, 4, "dense")
    with pytest.raises(NmsimInputError, match="k"):
        software_sparse_gemm(kernel, hw, 4, 66, 4, "1:4")
    with pytest.raises(NmsimInputError, match="hardware"):
        software_kernel(nmsim.load_hardware("vegeta_like"))


@pytest.fixture(scope="module")
def vit_l():
    return nmsim.load_trace(ZOO / "vit_l16.json")


@pytest.fixture(scope="module")
def one_block(vit_l):
    """ViT-L's first encoder block only (the end-to-end model on a short trace, for speed)."""
    layers = [x for x in vit_l.layers if x.name.startswith("enc0.")]
    return vit_l.model_copy(update={"layers": [x.model_copy(update={"inputs": []}) for x in layers]})


@pytest.mark.parametrize("config", ["nvidia_a100_sxm", "nvidia_h200_sxm"])
def test_speedup_non_decreasing_with_sparsity(config, vit_l, one_block) -> None:
    kernel = ffn_kernel_speedups(config, PATTERNS, vit_l, "2:4")
    assert kernel["2:4"] == 1.0
    assert all(kernel[a] <= kernel[b] for a, b in itertools.pairwise(PATTERNS))
    if config == "nvidia_a100_sxm":
        e2e = end_to_end_speedups(config, ["dense", *PATTERNS], one_block)
        assert e2e["dense"] == 1.0
        seq = [e2e[p] for p in PATTERNS]
        assert all(a <= b for a, b in itertools.pairwise(seq))


def test_gaps_come_from_the_data_file(vit_l, one_block, tmp_path) -> None:
    """Each gap is model / paper - 1 with the paper's value read from the data file: change it, the gap follows."""
    tables = load_tables()
    gaps = speed_table_gaps(tables, one_block)
    assert {(g.table, g.hardware) for g in gaps} == {("8", "A100"), ("19", "A100"), ("19", "GH200")}
    for g in gaps:
        assert g.paper == tables.speedup_table(g.table).speedup(g.hardware, g.pattern)
        assert g.gap == pytest.approx(g.model / g.paper - 1)
        assert g.miss == (abs(g.gap) > 0.2)
    doc = yaml.safe_load(PGF_TABLES.read_text(encoding="utf-8"))
    t19 = next(t for t in doc["speedups"] if t["id"] == "19")
    row = next(r for r in t19["rows"] if r["hardware"] == "GH200")
    row["values"] = [2 * v for v in row["values"]]
    path = tmp_path / "tables.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    doubled = load_tables(path)
    again = {(g.table, g.hardware, g.pattern): g for g in speed_table_gaps(doubled, one_block)}
    for g in gaps:
        h = again[(g.table, g.hardware, g.pattern)]
        if (g.table, g.hardware) == ("19", "GH200"):
            assert h.paper == 2 * g.paper and h.model == g.model
        else:
            assert h.paper == g.paper
