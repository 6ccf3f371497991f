"""The calibration fit recovers known parameters from synthetic measurements."""

from __future__ import annotations

import copy

import pytest

from nmsim.calibration.fit import Sample, fit, predict
from nmsim.errors import NmsimInputError
from nmsim.io.loaders import apply_overrides, hardware_from_document, read_document, resolve_hardware_path

SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (2048, 8192, 4096), (16384, 4096, 1024)]
TRUTH = {
    "array.clock_ghz": 1.37,
    "array.efficiency.int8": 0.64,
    "sparse.efficiency.fp16": 0.81,
    "array.launch_overhead_us": 6.0,
    "array.tile_overhead_cycles": 1200.0,
    "sparse.extra_overhead_us": 3.0,
}


def _h100_doc() -> dict:
    return read_document(resolve_hardware_path("nvidia_h100_sxm"))


def _synthetic() -> list[Sample]:
    truth_doc = apply_overrides(copy.deepcopy(_h100_doc()), TRUTH)
    hw = hardware_from_document(truth_doc, "truth")
    samples = [
        Sample(m, n, k, dt, sp, 0.0, f"{m}x{n}x{k}")
        for (m, n, k) in SHAPES
        for dt in ("fp16", "int8")
        for sp in (None, "2:4")
    ]
    # small shapes make the launch overhead identifiable
    samples += [
        Sample(m, n, k, dt, sp, 0.0, f"small {m}x{n}x{k}")
        for (m, n, k) in ((256, 512, 512), (1024, 512, 512), (2048, 1024, 1024), (1024, 512, 4096))
        for dt in ("fp16", "int8")
        for sp in (None, "2:4")
    ]
    seconds = predict(hw, samples)
    return [
        Sample(s.m, s.n, s.k, s.dtype, s.sparsity, float(t), s.label)
        for s, t in zip(samples, seconds, strict=True)
    ]


def test_fit_recovers_known_parameters() -> None:
    samples = _synthetic()
    start = _h100_doc()
    # start far from the truth
    start = apply_overrides(
        start, {"array.clock_ghz": 1.83, "array.efficiency.int8": 1.0, "sparse.efficiency.fp16": 1.0}
    )
    result = fit(start, samples, list(TRUTH))
    for name, value in TRUTH.items():
        assert result.params[name] == pytest.approx(value, rel=0.02), name
    assert result.rms_log_error < 0.005
    # the fitted document carries the fit as the source of each fitted number
    assert "fitted" in result.document["array"]["sources"]["clock_ghz"]
    assert "fitted" in result.document["sparse"]["sources"]["efficiency"]


def test_fit_rejects_empty_input() -> None:
    with pytest.raises(NmsimInputError):
        fit(_h100_doc(), [], ["array.clock_ghz"])
    with pytest.raises(NmsimInputError):
        fit(_h100_doc(), _synthetic()[:2], [])
