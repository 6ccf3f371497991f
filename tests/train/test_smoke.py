"""CI-sized smoke run of every recipe on the translation task (tens of steps, a narrow model)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from nmsim.train.grid import GridSettings, grid_cells, run_cell
from nmsim.train.table import results_table
from nmsim.train.trainer import TrainConfig, train_translation

RUNS = [
    ("dense", {}, ["dense"]),
    ("oneshot", {}, ["dense", "finetune"]),
    ("gradual", {}, ["dense", "structure", "structure", "structure", "finetune"]),
    ("ste", {}, ["dense", "sparse"]),
    ("srste", {}, ["dense", "sparse"]),
    # step and linear reach D = 0 at 70% of the run: the decay stage splits there
    ("mdgf", {"decay": "step"}, ["dense", "decay", "decay", "finetune"]),
    ("mdgf", {"decay": "linear"}, ["dense", "decay", "decay", "finetune"]),
    ("mdgf", {"decay": "exp", "grad_mode": "autodiff"}, ["dense", "decay", "finetune"]),
    ("sdgf", {"structure": "stepwise"}, ["dense"] + ["structure"] * 4 + ["finetune"]),
    # k = 8 (the [PGF] code): 8:64, 4:32, 2:16, 1:8
    ("sdgf", {"structure": "geometric"}, ["dense"] + ["structure"] * 4 + ["finetune"]),
]


@pytest.mark.parametrize(
    ("recipe", "kw", "kinds"), RUNS, ids=[f"{r}-{'-'.join(k.values())}" for r, k, _ in RUNS]
)
def test_every_recipe_runs(recipe, kw, kinds):
    # geometric starts at 8:64, which needs K >= 64
    width = 64 if kw.get("structure") == "geometric" else 32
    cfg = TrainConfig(recipe=recipe, nm="1:8", steps=40, seed=1, eval_size=32, d_model=width, threads=1, **kw)
    res = train_translation(cfg)
    tr = res.trace.training
    assert [p.kind for p in tr.phases] == kinds
    assert tr.phases[-1].end_step == 40
    final = "dense" if recipe == "dense" else "1:8"
    assert tr.target == final
    assert all(layer.pattern == final for layer in res.trace.layers if layer.role == "ff")
    assert res.loss == res.loss  # not NaN
    if kinds.count("decay") == 2:
        # the stage runs from 10% (step 4) to the fine-tune; D reaches 0 at 70% of 40 = step 28
        before, after = (p for p in tr.phases if p.kind == "decay")
        assert (before.start_step, before.end_step, after.start_step) == (4, 28, 28)
        ff = next(iter(before.layers.values()))
        assert ff.decay_factor_start == 1.0 and 0.0 < ff.decay_factor_end < 1.0
        assert next(iter(after.layers.values())).decay_factor_start == 0.0
        assert after.name.endswith("D=0")


def test_gmp_smoke_matched_density():
    res = train_translation(
        TrainConfig(recipe="gmp", nm="1:16", steps=40, eval_size=32, d_model=32, threads=1)
    )
    assert res.trace.training.target == "unstructured"
    ff = [layer for layer in res.trace.layers if layer.role == "ff"]
    assert all(layer.pattern == "unstructured" for layer in ff)
    assert all(layer.density == pytest.approx(1 / 16, abs=1e-3) for layer in ff)


def test_grid_order_skip_and_table(tmp_path, monkeypatch):
    cells = grid_cells((1, 2), ("2:4", "1:8", "1:16"))
    assert len(cells) == 2 * (1 + 3 * 11)
    # priority first: dense of every seed, then SR-STE, MDGF-exp, SDGF-stepwise at 1:16 for every seed
    assert [c.filename for c in cells[:5]] == ["dense_s1.json", "dense_s2.json", "srste_1x16_s1.json",
                                               "mdgf-exp_1x16_s1.json", "sdgf-stepwise_1x16_s1.json"]  # fmt: skip
    rest = cells[8:]
    assert {c.seed for c in rest[: 3 * 11 - 3]} == {1}  # then the rest seed-major
    assert rest[0].filename == "oneshot_2x4_s1.json"
    assert len(set(cells)) == len(cells)
    # one real (tiny) cell through the runner, then the table reads it
    import nmsim.train.trainer as trainer

    monkeypatch.setattr(trainer.TrainConfig, "d_model", 32)
    monkeypatch.setattr(trainer.TrainConfig, "eval_size", 32)
    path, _acc, _bpb, _ = run_cell(rest[0], str(tmp_path), GridSettings(steps=10))
    assert path.endswith("oneshot_2x4_s1.json")
    table = results_table(tmp_path)
    assert "| oneshot |" in table and "(n=1)" in table
    assert table.rstrip().endswith("Cells by device: 1 on cpu.")
