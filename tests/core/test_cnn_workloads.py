"""The CNN traces against the networks' published sizes (independent of nmsim).

Parameter counts: torchvision's model documentation (alexnet 61,100,840; vgg16 138,357,544; resnet50
25,557,032 including biases and batch-norm parameters, which carry no MACs); MobileNet-v1: Howard et al.
2017, Table 1 text (569 million mult-adds, 4.2 million parameters). MACs: torchvision's "GFLOPS" column
(which counts multiply-accumulates: 0.71, 15.47, 4.09).
"""

from __future__ import annotations

import pytest

import nmsim
from nmsim.workloads.cnn import CNN_TRACES

# (weights without biases/BN, MACs, relative tolerance on MACs)
PUBLISHED = {
    "alexnet": (61_100_840 - 10_344, 0.71e9, 0.01),  # biases: 64+192+384+256+256+4096+4096+1000
    "vgg16": (138_357_544 - 13_416, 15.47e9, 0.001),  # biases: 13 conv + 3 fc
    "resnet50": (25_557_032 - 53_120 - 1_000, 4.09e9, 0.001),  # BN weight+bias of 53 layers, fc bias
    "mobilenet_v1": (4.2e6, 569e6, 0.001),
}


@pytest.mark.parametrize("name", sorted(CNN_TRACES))
def test_cnn_sizes_match_the_published_ones(name: str) -> None:
    trace = CNN_TRACES[name]()
    weights = sum(layer.k * layer.n * layer.repeat for layer in trace.layers)
    macs = sum(layer.m * layer.k * layer.n * layer.repeat for layer in trace.layers)
    expected_weights, expected_macs, tol = PUBLISHED[name]
    assert weights == pytest.approx(expected_weights, rel=0.005 if name == "mobilenet_v1" else 0)
    assert macs == pytest.approx(expected_macs, rel=tol)


def test_depthwise_layers_are_not_sparsifiable_and_every_trace_simulates() -> None:
    hw = nmsim.load_hardware("s2ta_like")
    for name, build in CNN_TRACES.items():
        trace = build()
        assert all(not layer.sparsifiable for layer in trace.layers if layer.name.endswith(".dw")), name
        report = nmsim.simulate(trace, hw)
        assert report.totals.cycles > 0
