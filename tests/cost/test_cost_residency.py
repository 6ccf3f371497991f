"""``residency`` of the training-step cost (``nmsim recipes --residency``), hand-checked on the two-layer
FF trace of ``_records.py`` with an edge ff1 → ff2, on the tiny config (1 pJ per DRAM byte, 1 MiB
buffers: every operand fits, so each GEMM moves its operands and output exactly once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmsim import cli
from nmsim.cost.options import CostOptions
from nmsim.cost.training import dense_step_cost, step_residency, training_cost
from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Trace
from tests.conftest import tiny_hw
from tests.cost._records import two_layer


def _with_edges(recipe: str) -> Trace:
    t = two_layer(recipe)
    ff1, ff2 = t.layers
    layers = [ff1.model_copy(update={"inputs": []}), ff2.model_copy(update={"inputs": ["ff1"]})]
    return t.model_copy(update={"layers": layers})


def _pass_bytes(m: int, n: int, k: int) -> int:
    """DRAM bytes of one int8 GEMM pass with no residency: A (m·k) + W (k·n) + O (m·n)."""
    return m * k + k * n + m * n


# ff1: m=16 k=64 n=32; ff2: m=16 k=32 n=64. fwd (m, n, k), dgrad (m, k, n), wgrad (k, n, m):
# the three passes of a layer move the same three tensors, so 3 × (m·k + k·n + m·n) bytes each.
ROUND_TRIP = 3 * _pass_bytes(16, 32, 64) + 3 * _pass_bytes(16, 64, 32)  # 21,504 B per dense step
# auto: ff2's forward reads ff1's output on chip (16·32 B) and ff1's data gradient reads ff2's
# (its dX, 16·32 B) on chip; every output still goes to DRAM (stashed for the weight gradient).
SAVED = 16 * 32 + 16 * 32


def test_none_reproduces_the_dram_round_trip() -> None:
    hw, trace = tiny_hw(), _with_edges("dense")
    none_ = dense_step_cost(trace, hw, residency=step_residency(trace, hw, "none"))
    auto = dense_step_cost(trace, hw, residency=step_residency(trace, hw, "auto"))
    assert none_.energy_breakdown_pj["dram"] == pytest.approx(ROUND_TRIP)
    assert auto.energy_breakdown_pj["dram"] == pytest.approx(ROUND_TRIP - SAVED)


@pytest.mark.parametrize("recipe", ["dense", "oneshot", "srste", "sdgf"])
def test_none_costs_at_least_auto(recipe: str) -> None:
    hw, trace = tiny_hw(), _with_edges(recipe)
    auto = training_cost(trace, hw, CostOptions(residency="auto"))
    none_ = training_cost(trace, hw, CostOptions(residency="none"))
    assert none_.total.energy_pj > auto.total.energy_pj
    assert none_.dense.energy_breakdown_pj["dram"] - auto.dense.energy_breakdown_pj["dram"] == pytest.approx(
        16 * SAVED  # 16 steps
    )
    # without edges the two policies agree
    plain = two_layer(recipe)
    assert (
        training_cost(plain, hw, CostOptions(residency="none")).total.energy_pj
        == training_cost(plain, hw, CostOptions(residency="auto")).total.energy_pj
    )


def test_bad_policy_is_one_line() -> None:
    with pytest.raises(NmsimInputError, match="residency"):
        CostOptions(residency="always")  # type: ignore[arg-type]


def test_recipes_cli_residency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "t.json"
    src.write_text(_with_edges("oneshot").model_dump_json())
    docs = {}
    for policy in ("auto", "none"):
        out = tmp_path / f"{policy}.json"
        assert (
            cli.run(["recipes", str(src), "--hw", "stc_2x4_like", "--residency", policy, "--out", str(out)])
            == 0
        )
        docs[policy] = json.loads(out.read_text())[0]
    assert [docs[p]["options"]["residency"] for p in ("auto", "none")] == ["auto", "none"]
    e = {p: d["rows"][0]["training"]["total"]["energy_pj"] for p, d in docs.items()}
    assert e["none"] > e["auto"]
    capsys.readouterr()
    assert cli.run(["recipes", str(src), "--residency", "sometimes"]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "residency" in err[0], err
