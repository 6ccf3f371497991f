"""Grid order, settings-hash refusal and the results table (every pattern, paired t-test vs SR-STE)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")

from nmsim.errors import NmsimInputError
from nmsim.io.loaders import load_trace, save_trace
from nmsim.sparsity import NM
from nmsim.train.grid import grid_cells, run_grid
from nmsim.train.table import results_table


def test_lm_grid_order_priority_first():
    cells = grid_cells((1, 2, 3), ("2:4", "1:8", "1:16", "1:32", "1:64"))
    assert len(cells) == 3 * (1 + 11 * 5) and len(set(cells)) == len(cells)
    first = [c.filename for c in cells[:30]]
    assert first[:3] == ["dense_s1.json", "dense_s2.json", "dense_s3.json"]
    assert first[3:6] == ["srste_1x32_s1.json", "mdgf-exp_1x32_s1.json", "sdgf-stepwise_1x32_s1.json"]
    assert {c.nm for c in cells[3:30]} == {NM(1, 16), NM(1, 32), NM(1, 64)}
    assert {c.label for c in cells[3:30]} == {"srste", "mdgf-exp", "sdgf-stepwise"}
    assert grid_cells((1, 2, 3), ("2:4", "1:8", "1:16", "1:32", "1:64"), priority_only=True) == cells[:30]


def test_a_probe_beyond_the_grid_is_all_priority():
    # 1:128 is sparser than every pattern of the default grids (1:64 at the sparsest): its SR-STE,
    # MDGF-exp and SDGF-stepwise cells are priority cells; 1:16 keeps its place, 2:4 stays out
    cells = grid_cells((1, 2), ("2:4", "1:16", "1:128"), priority_only=True)
    names = [c.filename for c in cells]
    assert names[:2] == ["dense_s1.json", "dense_s2.json"]
    assert {c.nm for c in cells[2:]} == {NM(1, 16), NM(1, 128)}
    assert [c.nm for c in cells[2:]] == [NM(1, 16)] * 6 + [NM(1, 128)] * 6  # default priority first
    assert "srste_1x128_s2.json" in names and "mdgf-exp_1x128_s1.json" in names
    assert not any(c.nm == NM(2, 4) for c in cells)


@pytest.fixture(scope="module")
def one_cell(tmp_path_factory, make_corpus):
    root = tmp_path_factory.mktemp("grid")
    make_corpus(root / "corpus")
    written = run_grid(root / "out", task="lm", corpus=str(root / "corpus"), seeds=(1,), steps=3, limit=1)
    return root, written


def test_resumable_and_refuses_other_settings(one_cell):
    root, written = one_cell
    assert [p.rsplit("/", 1)[1] for p in written] == ["dense_s1.json"]
    assert sorted(p.name for p in (root / "out").iterdir()) == ["dense_s1.json"]  # no temp files left
    # a rerun with the same settings skips the finished cell and runs the next one
    again = run_grid(root / "out", task="lm", corpus=str(root / "corpus"), seeds=(1,), steps=3, limit=1,
                     patterns=("1:32",))  # fmt: skip
    assert [p.rsplit("/", 1)[1] for p in again] == ["srste_1x32_s1.json"]
    with pytest.raises(NmsimInputError, match="other settings"):
        run_grid(root / "out", task="lm", corpus=str(root / "corpus"), seeds=(1,), steps=4, limit=1)


def _variant(tr, cell: str, nm: str, seed: int, acc: float, digest: str | None = None):
    params = {**tr.training.params, "cell": cell, "nm": nm}
    training = tr.training.model_copy(update={"params": params, "recipe": cell.split("-")[0],
                                              "settings_hash": digest or tr.training.settings_hash})  # fmt: skip
    metrics = tr.metrics.model_copy(update={"seed": seed, "accuracy": acc})
    return tr.model_copy(update={"training": training, "metrics": metrics})


def test_table_every_pattern_and_paired_p(one_cell, tmp_path):
    root, _ = one_cell
    tr = load_trace(root / "out" / "dense_s1.json")
    accs = {("srste", "1:64"): (0.50, 0.51, 0.52), ("mdgf-exp", "1:64"): (0.52, 0.52, 0.55),
            ("srste", "1:32"): (0.60, 0.61, 0.62), ("gmp", "1:8"): (0.7, 0.7, 0.7)}  # fmt: skip
    for (cell, nm), vals in accs.items():
        for seed, a in enumerate(vals, 1):
            save_trace(
                _variant(tr, cell, nm, seed, a), tmp_path / f"{cell}_{nm.replace(':', 'x')}_s{seed}.json"
            )
    table = results_table(tmp_path)
    assert "| recipe | 1:8 | 1:32 | 1:64 |" in table  # every pattern present, densest first
    assert "| srste |  | 61.00 ± 1.00 (n=3) | 51.00 ± 1.00 (n=3) |" in table
    # mdgf − srste at 1:64 in points: 2, 1, 3 → mean 2, t = 2√3, ν = 2, p = 1 − 2√3/√14 = 0.074
    p = 1 - 2 * math.sqrt(3) / math.sqrt(14)
    assert f"| mdgf-exp |  |  | +2.00, p={p:.3f} (n=3) |" in table
    save_trace(_variant(tr, "ste", "1:8", 1, 0.5, digest="0" * 16), tmp_path / "ste_1x8_s1.json")
    with pytest.raises(NmsimInputError, match="different settings"):
        results_table(tmp_path)


def test_structure_k_read_off_the_schedule_when_not_recorded():
    """Traces written before `structure_k` was recorded (the shipped translation grid) get k from
    their phases: 1:8 starts at 16:128 (k = 128/8 = 16), 1:16 at 8:128 (k = 8). Where k was recorded
    (the LM grid), reading it off the phases gives the same number."""
    from nmsim.sparsity import parse_nm
    from nmsim.train.table import _k_from_phases, collect

    res = collect("traces/translation")
    assert res.structure_k["sdgf-geometric 1:8"] == 16
    assert res.structure_k["sdgf-geometric 1:16"] == 8
    checked = 0
    for name in ("sdgf-geometric_1x16_s1.json", "sdgf-geometric_1x32_s2.json", "sdgf-geometric_1x64_s3.json"):
        tr = load_trace(f"traces/lm_stdlib/{name}")
        recorded = int(tr.training.params["structure_k"])
        assert _k_from_phases(tr.training.phases, parse_nm(str(tr.training.params["nm"]))) == recorded
        checked += 1
    assert checked == 3
