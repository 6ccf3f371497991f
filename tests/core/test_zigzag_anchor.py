"""The ZigZag anchor: nmsim on the translated tpu_like hardware against ZigZag 3.9.1's own results
(benchmarks/results/zigzag/tpu_like_bert.json, produced by running ZigZag; issue 11's targets)."""

from __future__ import annotations

import pytest

from benchmarks.zigzag_anchor import REFERENCE, compare

pytestmark = pytest.mark.skipif(
    not REFERENCE.exists(), reason="ZigZag reference results not in this checkout"
)


@pytest.mark.parametrize("objective", ["latency", "energy"])
def test_nmsim_agrees_with_zigzag_on_its_own_example(objective: str) -> None:
    summary = compare()["summary"][objective]
    assert summary["median_latency_error"] <= 0.10
    assert summary["median_energy_error"] <= 0.15
