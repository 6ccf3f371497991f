"""Shipped hardware configs and traces: sources, scaling, overrides, the default trace's provenance."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

import nmsim
from nmsim.engine.energy import scale_factor
from nmsim.errors import NmsimInputError
from nmsim.io.atomic import write_text_atomic
from nmsim.io.loaders import trace_to_json
from nmsim.io.registry import DEFAULT_HARDWARE, data_dir, default_trace_path, shipped_hardware
from nmsim.workloads.zoo import WMT_TRANSFORMER, build


def _numbers_without_source(node: object, path: str = "", cited: bool = False) -> list[str]:
    """Every numeric leaf in a YAML tree with no `sources` entry (for it or its parent map) nor a `source`."""
    missing: list[str] = []
    if cited:
        return missing
    if isinstance(node, dict):
        cited = set((node.get("sources") or {}).keys())
        has_source = "source" in node
        for key, value in node.items():
            if key == "sources":
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                if key not in cited and not has_source:
                    missing.append(f"{path}{key}")
            else:
                missing += _numbers_without_source(value, f"{path}{key}.", key in cited)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            missing += _numbers_without_source(value, f"{path}{i}.")
    return missing


@pytest.mark.parametrize("name", sorted(shipped_hardware()))
def test_every_number_in_a_shipped_config_has_a_source(name: str) -> None:
    doc = yaml.safe_load(shipped_hardware()[name].read_text())
    assert _numbers_without_source(doc) == []
    hw = nmsim.load_hardware(name)
    assert hw.name == name


def test_required_configs_are_shipped(shipped: dict) -> None:
    assert shipped["tpu_like_dense"].sparse.kind == "none"
    assert shipped["tpu_like_dense"].array.rows == shipped["tpu_like_dense"].array.cols == 128
    assert shipped["tpu_like_dense"].array.dataflow == "ws"
    assert [str(m) for m in shipped["stc_2x4_like"].sparse.mode_set] == ["2:4"]
    assert {str(m) for m in shipped["vegeta_like"].sparse.mode_set} == {"1:4", "2:4"}
    assert shipped["s2ta_like"].sparse.kind == "dbb"
    assert shipped["nvidia_h100_sxm"].array.cores == 132


def test_technology_scaling_factors() -> None:
    # Stillmaker & Baas (Integration 2017) at 0.8 V as Accelergy's techscaling computes them
    # (docs/references.md#energy-scaling)
    assert scale_factor("logic", 45, 7) == pytest.approx(0.094)
    assert scale_factor("logic", 45, 16) == pytest.approx(0.174)
    assert scale_factor("sram", 45, 7) == pytest.approx(math.sqrt(0.094))
    assert scale_factor("dram", 45, 7) == 1.0
    assert scale_factor("logic", 7, 7) == 1.0
    # log-log interpolation stays between its neighbours
    assert 0.094 < scale_factor("logic", 45, 8) < 0.118
    with pytest.raises(NmsimInputError):
        scale_factor("logic", 45, 3)


def test_overrides_are_applied_and_cited() -> None:
    hw = nmsim.load_hardware(
        "tpu_like_dense", rows=32, dataflow="os", modes="2:4", **{"memory.ifmap.size_kb": 64}
    )
    assert (hw.array.rows, hw.array.dataflow) == (32, "os")
    assert [str(m) for m in hw.sparse.mode_set] == ["2:4"]
    assert hw.memory.levels[hw.memory.level_of("activations")].capacity_bytes == 64 * 1024  # 1.x path, KiB
    assert hw.array.sources["rows"] == "user override"
    # 2.0 paths: a level by name, by an operand it holds, or @dram
    hw2 = nmsim.load_hardware(
        "tpu_like_dense",
        **{"memory.levels.@weights.capacity_bytes": 4096, "memory.levels.@dram.bandwidth_gbps": 17},
    )
    assert hw2.memory.levels[hw2.memory.level_of("weights")].capacity_bytes == 4096
    assert hw2.memory.dram_bandwidth_gbps == 17
    assert hw2.memory.dram.sources["bandwidth_gbps"] == "user override"
    with pytest.raises(NmsimInputError, match="@dram"):
        nmsim.load_hardware("tpu_like_dense", **{"memory.levels.@psums.capacity_bytes": 1})
    with pytest.raises(NmsimInputError):
        nmsim.load_hardware("tpu_like_dense", **{"array.colour": 3})


def test_default_trace_is_the_builders_output() -> None:
    shipped_text = default_trace_path().read_text()
    assert shipped_text == trace_to_json(build(default_trace_path().name))
    t = nmsim.load_trace(default_trace_path())
    ff = [layer for layer in t.layers if layer.role == "ff"]
    assert len(ff) == 2 * (WMT_TRANSFORMER.enc_layers + WMT_TRANSFORMER.dec_layers) == 24
    assert {layer.pattern for layer in ff} == {"1:8"}
    assert {layer.pattern for layer in t.layers if layer.role != "ff"} == {"dense"}
    # 6 encoder blocks (4 projections + FF) and 6 decoder blocks (8 projections + FF); 12 sentence pairs of
    # 256 tokens: linear layers see 12 x 256 = 3072 tokens, attention repeats per head and per sentence
    enc1 = next(layer for layer in t.layers if layer.name == "enc0.ff1")
    assert (enc1.m, enc1.k, enc1.n) == (12 * 256, 1024, 4096)
    scores = next(layer for layer in t.layers if layer.name == "dec0.cross.scores")
    assert (scores.m, scores.k, scores.n, scores.repeat) == (256, 64, 256, 16 * 12)


def test_default_machine_runs_the_default_traces_sparse_layers_sparse() -> None:
    # README "Defaults": the quick start must show sparsity. On the default GPU every 1:8 FF layer runs in
    # 2:4 (none falls back to dense), each faster than the same layer with dense weights, and none
    # faster than the hardware's 2x peak ratio [H100-WP].
    hw = nmsim.load_hardware(DEFAULT_HARDWARE)
    t = nmsim.load_trace(default_trace_path())
    ff = [x for x in t.layers if x.role == "ff"]
    for layer in ff:
        sparse = nmsim.simulate_gemm(layer.m, layer.n, layer.k, hw, sparsity=layer.pattern)
        dense = nmsim.simulate_gemm(layer.m, layer.n, layer.k, hw)
        assert not sparse.fell_back and sparse.hw_mode == "2:4", layer.name
        assert 1.0 < dense.latency_s / sparse.latency_s <= 2.0, layer.name


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")

    class Boom(str):
        def encode(self, *a: object, **k: object) -> bytes:  # type: ignore[override]
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_text_atomic(target, Boom("new"))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_data_dirs_exist() -> None:
    assert data_dir("hw_configs").is_dir() and data_dir("traces").is_dir()


def test_report_dataframe_matches_layers() -> None:
    r = nmsim.simulate(nmsim.load_trace(default_trace_path()), nmsim.load_hardware("vegeta_like"))
    df = r.to_dataframe()
    assert len(df) == len(r.layers)
    assert int(df["cycles"].sum()) == r.totals.cycles
    assert df["energy_pj"].sum() == pytest.approx(r.totals.energy_pj)
    assert r.totals.pe_utilization <= 1


def test_unquoted_nm_in_yaml_is_a_pattern_not_base_60(tmp_path: Path) -> None:
    # YAML 1.1 reads 2:4 as 2*60+4 = 124; nmsim's loader keeps it the string '2:4'
    text = shipped_hardware()["stc_2x4_like"].read_text().replace("- '2:4'", "- 2:4")
    assert "- 2:4" in text
    p = tmp_path / "unquoted.yaml"
    p.write_text(text)
    assert [str(m) for m in nmsim.load_hardware(p).sparse.mode_set] == ["2:4"]
    t = tmp_path / "t.yaml"
    t.write_text("name: t\nlayers:\n  - {name: a, m: 4, k: 8, n: 4, pattern: 1:4}\n")
    assert nmsim.load_trace(t).layers[0].pattern == "1:4"


def test_expand_trace_paths_files_folders_globs_and_shipped_names(tmp_path) -> None:
    from nmsim.errors import NmsimInputError
    from nmsim.io.loaders import expand_trace_paths

    for name in ("b.json", "a.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert expand_trace_paths(tmp_path) == [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert expand_trace_paths(str(tmp_path / "*.json")) == expand_trace_paths(tmp_path)
    assert expand_trace_paths(tmp_path / "b.json") == [str(tmp_path / "b.json")]
    # a shipped folder by name: the 93 cells of the reference grid
    assert len(expand_trace_paths("translation")) == 93
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "empty", tmp_path / "missing", str(tmp_path / "*.yaml")):
        with pytest.raises(NmsimInputError):
            expand_trace_paths(bad)
