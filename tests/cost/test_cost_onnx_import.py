"""ONNX import: small models built with onnx.helper, and one exported by torch.onnx from masked weights."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nmsim.errors import NmsimInputError  # noqa: E402
from nmsim.importers.onnx import classify_role, detect_pattern, import_onnx  # noqa: E402
from nmsim.sparsity import DENSE, NM, Unstructured  # noqa: E402
from tests.conftest import REPO  # noqa: E402

RNG = np.random.default_rng(7)


def nm_weights(k: int, n: int, keep: int, m: int) -> np.ndarray:
    """K×N weights with exactly ``keep`` nonzeros in every group of ``m`` consecutive K-elements."""
    w = RNG.standard_normal((k, n)).astype(np.float32) + 3.0  # no accidental zeros
    for col in range(n):
        for g in range(0, k, m):
            drop = RNG.permutation(m)[keep:]
            w[g + drop, col] = 0.0
    return w


def save(nodes: list, inputs: list, inits: list, tmp: Path, name: str = "m.onnx") -> Path:
    out = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp / name
    onnx.save(model, str(path))
    return path


def test_detect_pattern_reads_n_m_from_the_zeros() -> None:
    assert detect_pattern(nm_weights(64, 8, 2, 4).T).pattern == NM(2, 4)
    p = detect_pattern(nm_weights(64, 8, 1, 8).T)
    assert (p.pattern, p.density, p.mask_stats.block, p.mask_stats.histogram[1]) == (NM(1, 8), 0.125, 8, 64)  # type: ignore[union-attr]
    assert detect_pattern(np.ones((3, 16))).pattern == DENSE
    loose = np.ones((4, 16))
    loose[0, 0] = 0  # one zero: no block loses a whole element everywhere
    q = detect_pattern(loose)
    assert q.pattern == Unstructured(q.density) and q.density == pytest.approx(63 / 64)
    assert classify_role("encoder.layer.0.attention.self.query") == "q"
    assert classify_role("encoder.layer.0.attention.output.dense") == "out"
    assert classify_role("encoder.layer.0.output.dense") == "ff"
    assert classify_role("model.layers.3.mlp.down_proj") == "ff"
    assert classify_role("lm_head") == "head"


def test_gemm_matmul_attention_and_conv(tmp_path: Path) -> None:
    w_gemm = nm_weights(32, 16, 2, 4).T.copy()  # Gemm transB=1: stored [out=16, in=32] like nn.Linear
    w_mm = nm_weights(64, 32, 1, 8)  # MatMul: stored K×N
    w_conv = np.transpose(
        nm_weights(8, 16 * 9, 1, 4).reshape(8, 16, 3, 3), (1, 0, 2, 3)
    ).copy()  # [O, I, 3, 3]
    w_dense = RNG.standard_normal((32, 64)).astype(np.float32) + 5  # h is [.., 32]: a valid MatMul
    nodes = [
        helper.make_node("Gemm", ["x", "mlp.fc1.weight"], ["g"], transB=1, name="/mlp/fc1/Gemm"),
        helper.make_node("MatMul", ["s", "onnx::MatMul_9"], ["h"], name="/ffn/MatMul"),
        helper.make_node("MatMul", ["h", "proj.weight"], ["h2"], name="/proj/MatMul"),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="/attn/MatMul"),
        helper.make_node("Softmax", ["scores"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["ctx"], name="/attn/MatMul_1"),
        helper.make_node("Conv", ["img", "conv1.weight"], ["c1"], pads=[1, 1, 1, 1], name="/conv1/Conv"),
        helper.make_node("Conv", ["c1", "conv2.weight"], ["c2"], strides=[2, 1], name="/conv2/Conv"),
        helper.make_node("Relu", ["c2"], ["y"]),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 32]),
        helper.make_tensor_value_info("s", TensorProto.FLOAT, ["batch", "seq", 64]),
        helper.make_tensor_value_info("q", TensorProto.FLOAT, ["batch", 2, "seq", 16]),
        helper.make_tensor_value_info("kt", TensorProto.FLOAT, ["batch", 2, 16, "seq"]),
        helper.make_tensor_value_info("v", TensorProto.FLOAT, ["batch", 2, "seq", 16]),
        helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 8, 10, 10]),
    ]
    inits = [
        numpy_helper.from_array(w_gemm, "mlp.fc1.weight"),
        numpy_helper.from_array(w_mm, "onnx::MatMul_9"),
        numpy_helper.from_array(w_dense, "proj.weight"),
        numpy_helper.from_array(w_conv, "conv1.weight"),
        numpy_helper.from_array(np.ones((4, 16, 3, 3), np.float32), "conv2.weight"),
    ]
    path = save(nodes, inputs, inits, tmp_path)
    t = import_onnx(path, seq_len=10, batch=3)
    by = {la.name: la for la in t.layers}
    assert list(by) == ["mlp.fc1", "ffn", "proj", "attn", "attn#2", "conv1", "conv2"]
    g = by["mlp.fc1"]
    assert (g.m, g.k, g.n, g.pattern, g.role) == (4, 32, 16, "2:4", "ff")
    assert g.mask_stats is not None and g.mask_stats.histogram == [0, 0, 8 * 16, 0, 0]
    f = by["ffn"]
    assert (f.m, f.k, f.n, f.pattern, f.density, f.role) == (30, 64, 32, "1:8", 0.125, "ff")
    assert (by["proj"].pattern, by["proj"].role, by["proj"].m) == ("dense", "other", 30)
    sc, cx = by["attn"], by["attn#2"]
    assert (sc.op, sc.role, sc.m, sc.k, sc.n, sc.repeat) == ("attention", "attn_score", 10, 16, 10, 6)
    assert (cx.role, cx.m, cx.k, cx.n, cx.repeat) == ("attn_context", 10, 10, 16, 6)
    c1 = by["conv1"]
    assert c1.op == "conv2d" and c1.conv is not None and (c1.m, c1.k, c1.n) == (100, 72, 16)
    assert (c1.pattern, c1.role) == ("1:4", "conv")
    c2 = by["conv2"]  # stride (2, 1): no square ConvShape, an im2col GEMM from the inferred output
    assert (c2.op, c2.m, c2.k, c2.n, c2.pattern) == ("linear", 4 * 8, 144, 4, "dense")
    assert "Relu×1" in t.description and "Softmax×1" in t.description
    # edges through non-GEMM nodes: proj reads ffn's output, context reads the scores through Softmax,
    # conv2 reads conv1; layers fed by graph inputs read the model's input ([])
    edges = {name: layer.inputs for name, layer in by.items()}
    assert edges == {"mlp.fc1": [], "ffn": [], "proj": ["ffn"], "attn": [], "attn#2": ["attn"],
                     "conv1": [], "conv2": ["conv1"]}  # fmt: skip
    imposed = import_onnx(path, seq_len=10, nm="1:16", scope="all")
    assert {la.pattern for la in imposed.layers if la.op != "attention"} == {"1:16"}


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    node = helper.make_node("MatMul", ["s", "w"], ["y"])
    path = save([node], [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["b", "seq", 8])],
                [numpy_helper.from_array(np.ones((8, 4), np.float32), "w")], tmp_path)  # fmt: skip
    with pytest.raises(NmsimInputError, match="seq-len"):
        import_onnx(path)
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"\x00not a model")
    out = tmp_path / "t.json"
    for args, needle in (
        ([str(path)], "seq-len"),
        ([str(bad)], "file"),
        ([str(path), "--seq-len", "0"], "seq-len"),
    ):
        p = subprocess.run([sys.executable, "-m", "nmsim", "import-onnx", *args, "--out", str(out)],
                           capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert p.returncode == 2 and len(lines) == 1 and needle in lines[0], p.stderr
        assert not out.exists()


def test_torch_export_of_an_nm_masked_model(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from nmsim.train.masks import nm_mask

    torch.manual_seed(0)

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(64, 128)
            self.fc2 = torch.nn.Linear(128, 64)
            self.head = torch.nn.Linear(64, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.fc2(torch.relu(self.fc1(x))))

    model = Block().eval()
    with torch.no_grad():
        model.fc1.weight.mul_(nm_mask(model.fc1.weight, 1, 8))  # groups of 8 input features
        model.fc2.weight.mul_(nm_mask(model.fc2.weight, 2, 4))
    path = tmp_path / "block.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 5, 64),), str(path), input_names=["x"], dynamo=False,
                          dynamic_axes={"x": {0: "batch", 1: "seq"}})  # fmt: skip
    out = tmp_path / "block.json"
    p = subprocess.run([sys.executable, "-m", "nmsim", "import-onnx", str(path), "--seq-len", "12", "--batch", "2",
                        "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr
    layers = {la["name"]: la for la in json.loads(out.read_text())["layers"]}
    assert set(layers) == {"fc1", "fc2", "head"}
    assert (layers["fc1"]["m"], layers["fc1"]["k"], layers["fc1"]["n"], layers["fc1"]["pattern"]) == (
        24,
        64,
        128,
        "1:8",
    )
    assert layers["fc1"]["mask_stats"]["histogram"][1] == 128 * 64 // 8
    assert (layers["fc2"]["pattern"], layers["fc2"]["density"]) == ("2:4", 0.5)
    assert (layers["head"]["pattern"], layers["head"]["role"]) == ("dense", "head")
