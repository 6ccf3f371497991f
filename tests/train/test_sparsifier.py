"""The sparsifier: gradient rules against hand-computed steps, hard pruning, checkpoint/resume exactness."""

from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nmsim.errors import NmsimInputError  # noqa: E402
from nmsim.train import Sparsifier  # noqa: E402
from nmsim.train.masks import is_nm  # noqa: E402

W0 = [[0.5, -2.0, 1.0, 0.25]]  # 2:4 keeps |-2| and |1| (indices 1, 2)
X = [[1.0, 2.0, 3.0, 4.0]]


def one_layer(recipe: dict, steps: int = 3):
    layer = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(W0))
    model = nn.Sequential(layer)
    sp = Sparsifier(model, recipe, steps)
    return model, layer, sp


def nm_recipe(grad_mode: str, lam: float = 2e-4) -> dict:
    return {
        "name": "t", "mask_structure": "2:4", "targets": "all",
        "stages": [{"name": "s", "modifier": "nm", "grad_mode": grad_mode, "srste_lambda": lam}],
    }  # fmt: skip


@pytest.mark.parametrize("lam", [2e-4, 0.1])
def test_srste_update_matches_hand_computed_step(lam):
    model, layer, sp = one_layer(nm_recipe("srste", lam))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    y = model(torch.tensor(X))
    # forward uses W*mask = [0, -2, 1, 0]: y = 2*(-2) + 3*1 = -1
    assert y.item() == pytest.approx(-1.0)
    y.sum().backward()
    # d(sum y)/dW~ = x; SR-STE: g + lam * (1 - mask) * W on every weight
    hand_grad = [1.0 + lam * 0.5, 2.0, 3.0, 4.0 + lam * 0.25]
    assert layer.weight.grad.tolist()[0] == pytest.approx(hand_grad, abs=1e-7)
    opt.step()
    sp.step()
    hand_w = [w - 0.1 * g for w, g in zip(W0[0], hand_grad, strict=True)]
    assert layer.weight.tolist()[0] == pytest.approx(hand_w, abs=1e-7)
    # the next step's mask is recomputed from the new |W| = [0.4, 2.2, 0.7, 0.15...]: keeps indices 1, 2
    assert sp.masks["0"].tolist() == [[False, True, True, False]]


@pytest.mark.parametrize(
    ("grad_mode", "hand_grad"), [("ste", [1.0, 2.0, 3.0, 4.0]), ("autodiff", [0.0, 2.0, 3.0, 0.0])]
)
def test_binary_gradient_modes(grad_mode, hand_grad):
    model, layer, _ = one_layer(nm_recipe(grad_mode))
    model(torch.tensor(X)).sum().backward()
    assert layer.weight.grad.tolist()[0] == pytest.approx(hand_grad)


@pytest.mark.parametrize(("grad_mode", "hand_grad"), [("ste", [1, 2, 3, 4]), ("autodiff", [0.3, 2, 3, 1.2])])
def test_mask_decay_forward_and_gradient(grad_mode, hand_grad):
    recipe = {
        "name": "t", "mask_structure": "2:4", "targets": "all", "grad_mode": grad_mode,
        "stages": [{"name": "d", "modifier": "mask_decay", "decay": {"type": "linear", "beta": 0.35}}],
    }  # fmt: skip
    model, layer, sp = one_layer(recipe, steps=4)
    assert sp.state.decay == 1.0  # D(0) = 1: still dense
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    opt.step()
    sp.step()
    sp.step()  # now j = 2: D = 1 - 0.7 = 0.3
    assert sp.state.decay == pytest.approx(0.3)
    y = model(torch.tensor(X))
    # W~ = W * [0.3, 1, 1, 0.3] = [0.15, -2, 1, 0.075]: y = 0.15 - 4 + 3 + 0.3
    assert y.item() == pytest.approx(-0.55)
    y.sum().backward()
    assert layer.weight.grad.tolist()[0] == pytest.approx(hand_grad)


def test_hard_pruning_zeroes_stored_weights():
    recipe = {
        "name": "g", "mask_structure": "1:4", "targets": "all",
        "stages": [{"name": "g", "modifier": "gmp", "hard": True, "gmp": {"update_every": 2, "ramp_end": 6}}],
    }  # fmt: skip
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 16))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sp = Sparsifier(model, recipe, 10)
    for _ in range(10):
        model(torch.randn(4, 16)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        sp.step()
    w = model[0].weight
    assert int((w != 0).sum()) == round(0.25 * 256)  # s_f = 1 - 1/4, stored weights hard-pruned


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1000 + step)
    return torch.randn(8, 16, generator=g), torch.randn(8, 4, generator=g)


def train(model, opt, sp, start: int, stop: int) -> None:
    for step in range(start, stop):
        x, y = batch(step)
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
        sp.step()


@pytest.mark.parametrize(
    ("recipe", "kw"),
    [("mdgf", {"decay": "step"}), ("mdgf", {"decay": "exp"}), ("oneshot", {}), ("gmp", {}), ("sdgf", {}),
     ("srste", {}), ("gradual", {})],
)  # fmt: skip
def test_checkpoint_resume_is_exact(recipe, kw):
    total, cut = 40, 17
    kw = {"nm": "1:8", "targets": "all", **kw}
    m1 = tiny_model()
    o1 = torch.optim.Adam(m1.parameters(), lr=1e-2)
    s1 = Sparsifier(m1, recipe, total, **kw)
    train(m1, o1, s1, 0, total)

    m2 = tiny_model()
    o2 = torch.optim.Adam(m2.parameters(), lr=1e-2)
    s2 = Sparsifier(m2, recipe, total, **kw)
    train(m2, o2, s2, 0, cut)
    buf = io.BytesIO()
    torch.save({"model": m2.state_dict(), "opt": o2.state_dict(), "sp": s2.state_dict()}, buf)
    buf.seek(0)
    ck = torch.load(buf)
    m3 = tiny_model(seed=99)  # different init: everything must come from the checkpoint
    o3 = torch.optim.Adam(m3.parameters(), lr=1e-2)
    s3 = Sparsifier(m3, recipe, total, **kw)
    m3.load_state_dict(ck["model"])
    o3.load_state_dict(ck["opt"])
    s3.load_state_dict(ck["sp"])
    train(m3, o3, s3, cut, total)

    for (n, a), (_, b) in zip(m1.state_dict().items(), m3.state_dict().items(), strict=True):
        assert torch.equal(a, b), n
    assert s1.masks.keys() == s3.masks.keys()
    for n in s1.masks:
        assert torch.equal(s1.masks[n], s3.masks[n]), n
    assert [vars(s) for s in s1.segments] == [vars(s) for s in s3.segments]
    for w in s1.effective_weights().values():
        if recipe == "gmp":  # unstructured at the matched density 1/8
            assert int((w != 0).sum()) == round(w.numel() / 8)
        else:
            assert is_nm(w, 1, 8, axis=1)


def test_resume_rejects_other_recipe():
    m = tiny_model()
    a = Sparsifier(m, "srste", 10, targets="all")
    b = Sparsifier(tiny_model(), "ste", 10, targets="all")
    with pytest.raises(NmsimInputError, match="different recipe"):
        b.load_state_dict(a.state_dict())


def test_remove_restores_forward_and_dense_phase_is_identity():
    m = tiny_model()
    x = torch.randn(3, 16)
    ref = m(x)
    sp = Sparsifier(m, "srste", 10, targets="all")  # step 0 is in the dense warm-up
    assert torch.equal(m(x), ref)
    sp.remove()
    assert "forward" not in m[0].__dict__
    assert torch.equal(m(x), ref)
