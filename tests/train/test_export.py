"""Trace export from a real forward pass: GEMM dims, final pattern, mask statistics, phases, round trip."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("torch")

import nmsim
from nmsim.io.loaders import save_trace
from nmsim.train.trainer import TrainConfig, train_translation


@pytest.fixture(scope="module")
def result():
    # the real reference model (d_model 128, FF 512), SR-STE 1:8, 20 steps with 2 dense warm-up steps
    return train_translation(TrainConfig(recipe="srste", nm="1:8", steps=20, seed=3, eval_size=64, threads=1))


def test_gemm_dims_from_hooks(result):
    layers = {layer.name: layer for layer in result.trace.layers}
    src_len, tgt_len, batch = 15, 16, 64  # padded lengths of the task grammar
    fc1 = layers["encoder.0.ff.fc1"]
    assert (fc1.op, fc1.role, fc1.m, fc1.k, fc1.n) == ("linear", "ff", batch * src_len, 128, 512)
    fc2 = layers["decoder.1.ff.fc2"]
    assert (fc2.m, fc2.k, fc2.n) == (batch * tgt_len, 512, 128)
    # cross-attention keys are computed from the encoder memory
    assert layers["decoder.0.cross_attn.k"].m == batch * src_len
    assert layers["decoder.0.cross_attn.q"].m == batch * tgt_len
    score = layers["encoder.0.self_attn.score"]
    assert (score.op, score.m, score.k, score.n, score.repeat) == (
        "attention",
        src_len,
        32,
        src_len,
        batch * 4,
    )
    head = layers["head"]
    assert head.role == "head" and head.pattern == "dense" and head.sparsifiable is False


def test_final_pattern_and_mask_histogram(result):
    for layer in result.trace.layers:
        if layer.role == "ff":
            assert layer.pattern == "1:8"
            assert layer.mask_stats.block == 8
            groups = layer.k * layer.n // 8
            assert layer.mask_stats.histogram == [0, groups, 0, 0, 0, 0, 0, 0, 0]
            assert layer.density == pytest.approx(1 / 8)
        elif layer.op == "linear":
            assert layer.pattern == "dense" and layer.mask_stats is None


def test_phases_as_executed_and_metrics(result):
    tr = result.trace.training
    assert tr.recipe == "srste" and tr.target == "1:8" and tr.total_steps == 20
    assert [(p.kind, p.start_step, p.end_step) for p in tr.phases] == [("dense", 0, 2), ("sparse", 2, 20)]
    sparse = tr.phases[1]
    assert sparse.grad_mode == "srste" and sparse.mask_refresh_every == 1
    assert set(sparse.layers) == set(tr.sparsified_layers) and len(sparse.layers) == 8
    assert sparse.state("encoder.0.ff.fc1").pattern == "1:8"
    assert sparse.state("head").pattern == "dense"
    m = result.trace.metrics
    assert m.task == "synthetic_translation" and m.seed == 3 and 0.0 <= m.accuracy <= 1.0


def test_trace_round_trip_and_cli_validate(result, tmp_path):
    path = tmp_path / "t.json"
    save_trace(result.trace, path)
    again = nmsim.load_trace(path)
    assert again == result.trace
    res = subprocess.run(
        [sys.executable, "-c", "from nmsim.cli import main; main()", "trace", "validate", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr


def test_conv2d_layers_are_sparsified_and_exported():
    import torch
    from torch import nn

    from nmsim.train import Sparsifier
    from nmsim.train.export import export_trace
    from nmsim.train.masks import is_nm

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2), nn.Flatten()
    )
    sp = Sparsifier(model, "srste", 4, nm="1:4", targets="Conv2d")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(2, 4, 8, 8)
    for _ in range(4):
        model(x).square().mean().backward()
        opt.step()
        opt.zero_grad()
        sp.step()
    trace = export_trace(model, lambda: model(x), sp, name="cnn")
    c0, c2 = trace.layers
    assert (c0.op, c0.role, c0.conv.in_channels, c0.conv.kernel_h) == ("conv2d", "conv", 4, 3)
    assert (c0.m, c0.k, c0.n) == (2 * 8 * 8, 4 * 9, 8)  # im2col GEMM
    assert (c2.m, c2.k, c2.n) == (2 * 3 * 3, 8 * 9, 8)
    assert c0.pattern == "1:4" and c0.mask_stats.histogram == [0, 8 * 9, 0, 0, 0]  # groups of input channels
    for w in sp.effective_weights().values():
        assert is_nm(w, 1, 4, axis=1)
