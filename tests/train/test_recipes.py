"""Recipe YAML files and layer selection: shipped recipes load, bad input is one line naming the field."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import yaml  # noqa: E402

from nmsim.errors import NmsimInputError  # noqa: E402
from nmsim.train import Sparsifier, load_recipe, shipped_recipes  # noqa: E402
from nmsim.train.selectors import select_layers  # noqa: E402
from nmsim.train.tasks.translation import TranslationTask  # noqa: E402
from nmsim.train.trainer import build_model  # noqa: E402

SHIPPED = {"dense", "oneshot", "gradual", "ste", "srste", "gmp", "mdgf", "sdgf"}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(TranslationTask(seed=0), d_model=32)


def test_every_shipped_recipe_loads():
    assert set(shipped_recipes()) >= SHIPPED
    for name in SHIPPED:
        rec = load_recipe(name)
        assert rec.name == name and rec.stages


def test_layer_presets_on_the_reference_transformer(model):
    ff = select_layers(model, "ff")
    assert len(ff) == 8 and all(n.endswith(("ff.fc1", "ff.fc2")) for n in ff)
    # encoder: 2 x (q, k, v, o); decoder: 2 x 2 attentions x (q, k, v, o)
    assert len(select_layers(model, "ff+qkvo")) == 8 + 4 * (2 + 4)
    assert len(select_layers(model, "all")) == 8 + 24 + 1  # + the output head
    assert list(select_layers(model, ["re:decoder\\.1\\..*fc1"])) == ["decoder.1.ff.fc1"]
    assert "head" not in select_layers(model, "all", ignore=["head"])
    with pytest.raises(NmsimInputError, match="matched no Linear"):
        select_layers(model, ["re:nothing.*"])
    with pytest.raises(NmsimInputError, match="not a Linear/Conv2d"):
        select_layers(model, ["encoder.0.norm1"])


BASE = {"name": "x", "mask_structure": "1:8", "stages": [{"name": "a", "modifier": "nm"}]}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"stages": [{"name": "a", "modifier": "prune"}]}, "stages.0.modifier"),
        ({"mask_structure": "3:2"}, "mask_structure"),
        ({"stages": [{"name": "a", "modifier": "nm", "decai": 1}]}, "stages.0.decai"),
        (
            {"stages": [{"name": "a", "modifier": "mask_decay", "decay": {"type": "cosine"}}]},
            "stages.0.decay.type",
        ),
        ({"stages": [{"name": "a", "modifier": "gmp", "grad_mode": "srste"}]}, "stages.0"),
    ],
)
def test_bad_recipe_documents_name_the_field(patch, field):
    with pytest.raises(NmsimInputError) as info:
        load_recipe({**BASE, **patch})
    assert info.value.field == field
    assert "\n" not in info.value.line()


def test_overlapping_stages_and_bad_fractions(model):
    doc = {
        **BASE,
        "stages": [
            {"name": "a", "modifier": "dense", "end": 0.5},
            {"name": "b", "modifier": "nm", "start": 0.4},
        ],
    }
    with pytest.raises(NmsimInputError, match="not overlap") as info:
        Sparsifier(model, doc, 100)
    assert info.value.field == "stages.1.start"
    doc = {**BASE, "stages": [{"name": "a", "modifier": "nm", "start": 1.5}]}
    with pytest.raises(NmsimInputError, match="fraction"):
        Sparsifier(model, doc, 100)


def test_yaml_file_with_regex_targets(tmp_path, model):
    path = tmp_path / "mine.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "mine",
                "mask_structure": "2:4",
                "targets": ["re:.*fc1"],
                "grad_mode": "srste",
                "stages": [
                    {"name": "warm", "start": 0, "end": 5, "modifier": "dense"},
                    {"name": "sparse", "start": 5, "end": "end", "modifier": "nm"},
                ],
            }
        )
    )
    sp = Sparsifier(model, str(path), 20)
    assert sorted(sp.layers) == [
        "decoder.0.ff.fc1",
        "decoder.1.ff.fc1",
        "encoder.0.ff.fc1",
        "encoder.1.ff.fc1",
    ]
    assert sp.plan.state(5).grad_mode == "srste"
    sp.remove()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from nmsim.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nstages:\n  - {name: a, modifier: nm, mask_structure: '5:4'}\n")
    for args in (
        ["train", "--recipe", str(bad), "--out", str(tmp_path / "t.json")],
        ["train", "--recipe", "nope", "--out", str(tmp_path / "t.json")],
        ["train", "--nm", "1-8", "--out", str(tmp_path / "t.json")],
        ["train", "--recipe", "mdgf", "--decay", "cosine", "--out", str(tmp_path / "t.json")],
        ["train", "--device", "gpu", "--out", str(tmp_path / "t.json")],
        ["train-grid", "--device", "cuda:99", "--out", str(tmp_path / "g")],  # no such GPU (CI has none)
    ):
        res = cli(*args)
        assert res.returncode == 2, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
        assert "Traceback" not in res.stderr


def test_cli_help_does_not_import_torch():
    code = (
        "import sys; from nmsim.cli import app, _register_all; _register_all(); print('torch' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "False", res.stderr


def test_cli_train_writes_a_valid_trace(tmp_path):
    out = tmp_path / "t.json"
    res = cli("train", "--recipe", "sdgf", "--nm", "2:4", "--steps", "6", "--threads", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "accuracy" in res.stdout
    import nmsim

    trace = nmsim.load_trace(out)
    assert trace.training.recipe == "sdgf" and trace.training.target == "2:4"
