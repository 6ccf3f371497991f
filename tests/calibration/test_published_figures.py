"""benchmarks/published_figures.yaml: every entry complete, derived figures equal their arithmetic, keys cited."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO

FIGURES = yaml.safe_load((REPO / "benchmarks" / "published_figures.yaml").read_text())["figures"]
FIELDS = {"id", "paper", "where", "hardware", "nmsim_preset", "baseline", "workload", "nmsim_workload", "pattern",
          "speedup", "energy_ratio", "bound", "status", "note"}  # fmt: skip
# optional: an absolute throughput; the transcribed measurements a derived figure comes from
OPTIONAL = {"tflops", "raw"}
BIBLIOGRAPHY = set(re.findall(r"\*\*\[([A-Za-z0-9-]+)\]\*\*", (REPO / "docs" / "references.md").read_text()))


def test_entries_are_complete_unique_and_cited() -> None:
    assert len({f["id"] for f in FIGURES}) == len(FIGURES)
    for f in FIGURES:
        assert FIELDS <= set(f) <= FIELDS | OPTIONAL, f["id"]
        assert f["paper"] in BIBLIOGRAPHY, f"{f['id']}: {f['paper']} is not in docs/references.md"
        assert f["status"] in ("published", "derived", "to_transcribe") and f["bound"] in (
            "exact",
            "lower",
            "peak",
        )
        values = (f["speedup"], f["energy_ratio"], f.get("tflops"))
        if f["status"] == "to_transcribe":
            assert values == (None, None, None), f"{f['id']}: no value until it is read off the source"
        else:
            assert any(v is not None for v in values), f["id"]


@pytest.mark.parametrize(("derived", "numerator", "denominator"), [
    ("vegeta_2of4_vs_own_dense", "vegeta_2of4_vs_rasa", "vegeta_dense_vs_rasa"),
    ("vegeta_1of4_vs_own_dense", "vegeta_1of4_vs_rasa", "vegeta_dense_vs_rasa"),
])  # fmt: skip
def test_derived_figures_are_their_arithmetic(derived: str, numerator: str, denominator: str) -> None:
    by_id = {f["id"]: f for f in FIGURES}
    assert by_id[derived]["status"] == "derived"
    expected = by_id[numerator]["speedup"] / by_id[denominator]["speedup"]
    assert by_id[derived]["speedup"] == pytest.approx(expected, abs=5e-4)


def test_each_figure_names_a_shipped_preset_or_none() -> None:
    from nmsim.io.registry import shipped_hardware

    shipped = set(shipped_hardware())
    for f in FIGURES:
        if f["nmsim_preset"] is not None:
            assert str(f["nmsim_preset"]).split()[0] in shipped, f["id"]
