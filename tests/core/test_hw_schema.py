"""Hardware schema 2.0: the shipped configs, migration of 1.x documents, level override paths."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import nmsim
from nmsim.engine.params import hw_vector
from nmsim.errors import NmsimInputError
from nmsim.io.loaders import hardware_from_document
from nmsim.io.registry import shipped_hardware
from nmsim.schemas.migrate import is_legacy, migrate_hardware
from tests.conftest import DATA, tiny_doc


def test_every_shipped_config_is_schema_2_and_cites_nothing_outside_the_repo() -> None:
    for name, path in shipped_hardware().items():
        text = path.read_text()
        assert text.count("schema_version: '2.0'") == 1, name
        assert not re.search(r"(^|[\s(`'\"])(\.\./)*(shared|\.library)/", text), name
        hw = nmsim.load_hardware(name)
        assert hw.schema_version == "2.0"
        assert hw.memory.levels[-1].bandwidth_gbps == hw.memory.dram_bandwidth_gbps


@pytest.mark.parametrize("name", ["stc_2x4_like"])
def test_a_schema_1_file_loads_unchanged(name: str) -> None:
    """The pre-2.0 file of a shipped config flattens to exactly the shipped 2.0 config's vector.

    (The H100's pre-2.0 file stays a fixture for the migration tests below only: the shipped H100
    was refitted after the migration, with a ``gpu`` section that 1.x cannot express.)"""
    old = nmsim.load_hardware(DATA / f"hw_schema1_{name}.yaml")
    new = nmsim.load_hardware(name)
    for dtype in old.energy.mac:
        assert np.array_equal(hw_vector(old, dtype), hw_vector(new, dtype)), dtype
    r_old = nmsim.simulate_gemm(512, 3072, 768, old, sparsity="2:4")
    r_new = nmsim.simulate_gemm(512, 3072, 768, new, sparsity="2:4")
    assert r_old == r_new


def test_migration_keeps_every_number() -> None:
    doc = tiny_doc(buffers_kb=64.5, bandwidth_gbps=12.0)
    assert is_legacy(doc)
    new = migrate_hardware(copy.deepcopy(doc))
    assert not is_legacy(new) and new["schema_version"] == "2.0"
    levels = new["memory"]["levels"]
    assert [lv["name"] for lv in levels] == ["ifmap_sram", "filter_sram", "ofmap_sram", "dram"]
    assert [lv["operands"] for lv in levels[:3]] == [["activations"], ["weights"], ["outputs"]]
    assert all(lv["capacity_bytes"] == 64.5 * 1024 for lv in levels[:3])
    assert levels[3]["bandwidth_gbps"] == 12.0
    assert levels[3]["read_energy"]["per"] == "byte" and levels[0]["read_energy"]["per"] == "access"
    assert migrate_hardware(new) is new  # 2.0 documents pass through
    assert hardware_from_document(doc, "t") == hardware_from_document(new, "t")


def _levels_doc(levels: list[dict]) -> dict:
    doc = migrate_hardware(tiny_doc())
    doc["memory"]["levels"] = levels
    return doc


def _level(name: str, operands: list[str], **kw: object) -> dict:
    e = {"pj": 1.0, "node_nm": 45, "source": "test", "per": "byte"}
    src = {k: "test" for k, v in kw.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {"name": name, "operands": operands, "read_energy": e, "write_energy": e, "sources": src, **kw}


def test_level_list_is_checked() -> None:
    dram = _level("dram", ["activations", "weights", "outputs"], bandwidth_gbps=10.0, double_buffer=False)
    ok = _levels_doc([_level("sram", ["activations", "outputs"], capacity_bytes=1024), dram])
    hw = hardware_from_document(ok, "t")
    assert hw.memory.level_of("activations") == 0 == hw.memory.level_of("outputs")
    assert hw.memory.level_of("weights") == -1  # weights stream from DRAM into the PEs
    cases = [
        ([_level(x, ["weights"], capacity_bytes=8) for x in "abc"] + [dram], "at most 2 per operand"),
        ([_level("a", ["weights"], capacity_bytes=8)], "off chip"),
        ([_level("a", ["weights"]), dram], "capacity_bytes"),
    ]  # fmt: skip
    for levels, message in cases:
        with pytest.raises(NmsimInputError, match=message):
            hardware_from_document(_levels_doc(levels), "t")


def test_level_override_paths_and_errors() -> None:
    hw = nmsim.load_hardware("stc_2x4_like", **{"memory.levels.filter_sram.capacity_bytes": 2048})
    assert hw.memory.levels[1].capacity_bytes == 2048
    assert hw.memory.levels[1].sources["capacity_bytes"] == "user override"
    hw = nmsim.load_hardware("stc_2x4_like", filter_kb=2)  # 1.x alias, KiB
    assert hw.memory.levels[1].capacity_bytes == 2048
    with pytest.raises(NmsimInputError, match="level name"):
        nmsim.load_hardware("stc_2x4_like", **{"memory.levels.l3.capacity_bytes": 1})


def test_a_schema_1_gpu_file_keeps_its_own_numbers() -> None:
    """The pre-2.0 H100 file (clock 1.324 GHz, 32×64 per SM, 132 SMs as written in it) loads as 2.0
    with those numbers, independent of the refitted shipped H100."""
    hw = nmsim.load_hardware(DATA / "hw_schema1_nvidia_h100_sxm.yaml")
    assert hw.schema_version == "2.0"
    assert (hw.array.rows, hw.array.cols, hw.array.cores) == (32, 64, 132)
    assert hw.array.clock_ghz == pytest.approx(1.324)
