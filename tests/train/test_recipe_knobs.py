"""Recipes as the sources name and define them: aliases, the per-step decay rate, SR-STE exclusions,
the optimizer hook, thread defaults."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nmsim.errors import NmsimInputError  # noqa: E402
from nmsim.train import Sparsifier, load_recipe  # noqa: E402
from nmsim.train.plan import Plan  # noqa: E402
from nmsim.train.trainer import cell_label  # noqa: E402


def test_seed_paper_names_are_aliases():
    assert load_recipe("pmd") == load_recipe("mdgf")
    assert load_recipe("ssd") == load_recipe("sdgf")
    assert cell_label("pmd", decay="linear") == "mdgf-linear" and cell_label("ssd") == "sdgf-stepwise"
    assert cell_label("mdgf", decay="step", grad_mode="autodiff") == "mdgf-step-autodiff"


def test_decay_rate_is_the_per_step_beta_and_zero_at_moves_the_horizon():
    rec = load_recipe("mdgf")  # decay stage [0.1, 0.85) of 1000 steps starts at 100
    plan = Plan(rec.with_overrides(decay="exp", decay_rate=1e-3), 1000)
    assert plan.decay_at(100) == 1.0
    assert plan.decay_at(600) == pytest.approx(math.exp(-0.5), abs=1e-15)  # exp(−β·j), j = 500
    lin = Plan(rec.with_overrides(decay="linear", zero_at=0.5), 1000)  # 0 at step 500: β = 1/400
    assert lin.decay_at(300) == pytest.approx(0.5) and lin.decay_at(500) == 0.0
    step = Plan(rec.with_overrides(decay="step", zero_at=420), 1000)  # 8 intervals of (420−100)/8 = 40
    assert step.decay_at(139) == 1.0 and step.decay_at(140) == pytest.approx(7 / 8)
    with pytest.raises(NmsimInputError, match="decay-rate"):
        rec.with_overrides(decay="step", decay_rate=0.01)
    with pytest.raises(NmsimInputError, match="not both"):
        rec.with_overrides(decay_rate=0.01, zero_at=0.5)


@pytest.mark.parametrize("recipe", ["sdgf", "mdgf", "gmp"])
def test_srste_with_a_decay_or_gmp_is_rejected(recipe):
    model = nn.Sequential(nn.Linear(16, 4))
    with pytest.raises(NmsimInputError, match="srste"):
        Sparsifier(model, recipe, 100, grad_mode="srste", targets="all")


def test_attach_steps_the_recipe_from_the_optimizer_hook():
    def run(attach: bool) -> tuple[Sparsifier, nn.Module]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
        sp = Sparsifier(model, "sdgf", 20, nm="1:8", targets="all")
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        handle = sp.attach(opt) if attach else None
        x = torch.randn(32, 16, generator=torch.Generator().manual_seed(1))
        for _ in range(12):
            model(x).square().mean().backward()
            opt.step()
            opt.zero_grad()
            if not attach:
                sp.step()
        if handle is not None:
            handle.remove()
            assert sp.step_count == 12
        return sp, model

    (a, ma), (b, mb) = run(True), run(False)
    assert a.step_count == b.step_count == 12
    assert [vars(s) for s in a.segments] == [vars(s) for s in b.segments]
    assert all(torch.equal(a.masks[k], b.masks[k]) for k in a.masks)
    assert all(torch.equal(p, q) for p, q in zip(ma.parameters(), mb.parameters(), strict=True))


def test_thread_defaults_never_oversubscribe(monkeypatch):
    from nmsim.train import grid

    cores = grid.cores_available()
    monkeypatch.setattr(grid.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert grid.default_threads() == cores
    monkeypatch.setattr(grid.os, "getloadavg", lambda: (cores + 3.2, 0.0, 0.0))
    assert grid.default_threads() == 1
    grid.check_threads(1, cores)
    with pytest.raises(NmsimInputError, match="threads"):
        grid.check_threads(2, cores)
