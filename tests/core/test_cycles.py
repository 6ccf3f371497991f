"""Compute cycles: SCALE-Sim v3 compat mode to the cycle, and the realistic double-buffered mode."""

from __future__ import annotations

import json

import pytest

import nmsim
from nmsim.engine.folds import IS, OS, WS, compute_cycles
from tests.conftest import DATA, tiny_hw

REFERENCE = json.loads((DATA / "scalesim_reference.json").read_text())["runs"]


def cycles(*args: object, **kw: object) -> int:
    _, _, work, fixed = compute_cycles(*args, **kw)  # type: ignore[arg-type]
    return work + fixed


def test_compat_closed_forms_hand_worked() -> None:
    # OS, 4x4 array, M=N=K=16: 4*4 folds of K+R+C-2 = 22 cycles, minus one.
    assert compute_cycles(OS, 4, 4, 1, 16, 16, 16, 1, True, 0)[:2] == (16, 16)
    assert cycles(OS, 4, 4, 1, 16, 16, 16, 1, True, 0) == 16 * 22 - 1
    # WS, 4x4, M=10, N=4, K=8: ceil(8/4)*ceil(4/4) = 2 folds of 2R+C+M-2 = 20.
    assert compute_cycles(WS, 4, 4, 1, 10, 4, 8, 1, True, 0)[:2] == (2, 2)
    assert cycles(WS, 4, 4, 1, 10, 4, 8, 1, True, 0) == 39
    # IS, 4x4, M=10, N=4, K=8: ceil(8/4)*ceil(10/4) = 6 folds of 2R+C+N-2 = 14.
    assert compute_cycles(IS, 4, 4, 1, 10, 4, 8, 1, True, 0)[:2] == (6, 6)
    assert cycles(IS, 4, 4, 1, 10, 4, 8, 1, True, 0) == 83


def test_realistic_mode_overlaps_weight_loads_hand_worked() -> None:
    # WS 4x4, M=10, K=8, N=4: preload R=4, then 2 folds every max(M, R)=10 cycles, skew R+C-2=6, -1.
    assert cycles(WS, 4, 4, 1, 10, 4, 8, 1, False, 0) == 4 + 2 * 10 + 6 - 1
    # with M < R the next tile's load (R cycles) sets the interval: M=2 → 4 + 2*4 + 6 - 1
    assert cycles(WS, 4, 4, 1, 2, 4, 8, 1, False, 0) == 4 + 2 * 4 + 6 - 1
    # two arrays share the folds in waves: 6 IS folds on 4 cores → 2 waves
    assert compute_cycles(IS, 4, 4, 4, 10, 4, 8, 1, False, 0)[:2] == (6, 2)
    # tiles of 4 folds on 4 arrays: 6 folds → 2 tiles → 1 wave of 4 folds' time
    assert compute_cycles(IS, 4, 4, 4, 10, 4, 8, 1, False, 0, 4)[1] == 1
    assert cycles(IS, 4, 4, 4, 10, 4, 8, 1, False, 0, 4) == 4 + 4 * max(4, 4) + 6 - 1
    # half the peak achieved: the fold term doubles, the fixed latency does not
    assert cycles(WS, 4, 4, 1, 10, 4, 8, 1, False, 0, 1, 0.5) == 4 + 2 * 2 * 10 + 6 - 1
    # the mux pipeline stage is paid once
    assert cycles(OS, 4, 4, 1, 8, 8, 16, 1, False, 2) == 4 * 16 + 6 - 1 + 2


def test_tile_overhead_per_wave_hand_worked() -> None:
    # OS 4x4, 4 cores, M=N=8, K=16: 4 folds = 4 tiles = 1 wave of max(16, 4) = 16 cycles of work;
    # fixed = skew 4+4-2 - 1 = 5, plus one wave's tile overhead of 10
    assert compute_cycles(OS, 4, 4, 4, 8, 8, 16, 1, False, 0, 1, 1.0, 10.0) == (4, 1, 16, 15)
    # M=16: 8 tiles on 4 cores = 2 waves: work 32, fixed 5 + 2 x 10
    assert compute_cycles(OS, 4, 4, 4, 16, 8, 16, 1, False, 0, 1, 1.0, 10.0) == (8, 2, 32, 25)
    # compat (SCALE-Sim) ignores both GPU mechanisms
    assert (
        compute_cycles(OS, 4, 4, 4, 8, 8, 16, 1, True, 0, 1, 1.0, 10.0, 8)[2:]
        == (compute_cycles(OS, 4, 4, 4, 8, 8, 16, 1, True, 0)[2:])
    )


def test_split_k_fills_idle_cores_hand_worked() -> None:
    # OS 4x4, 8 cores, M=N=4 (one tile), K=64: unsplit 64 cycles of work on one core.
    assert compute_cycles(OS, 4, 4, 8, 4, 4, 64, 1, False, 0, 1, 1.0, 0.0, 1) == (1, 1, 64, 5)
    # split_k 8: 8 pieces of K=8 on 8 cores, one wave; the reducing epilogue costs 2 x 0
    assert compute_cycles(OS, 4, 4, 8, 4, 4, 64, 1, False, 0, 1, 1.0, 0.0, 8) == (1, 1, 8, 5)
    # with a tile overhead of 10: unsplit 64 + 10 = 74 > split 8 + 2 x 10 = 28 → split
    assert compute_cycles(OS, 4, 4, 8, 4, 4, 64, 1, False, 0, 1, 1.0, 10.0, 8) == (1, 1, 8, 25)
    # with 100: unsplit 164 < split 8 + 200 → no split
    assert compute_cycles(OS, 4, 4, 8, 4, 4, 64, 1, False, 0, 1, 1.0, 100.0, 8) == (1, 1, 64, 105)
    # a piece never streams fewer than R = 4 steps: K=12 splits into at most 3 pieces of 4
    assert compute_cycles(OS, 4, 4, 8, 4, 4, 12, 1, False, 0, 1, 1.0, 0.0, 8)[2] == 4
    # tiles that already fill the cores are never split: 8 tiles on 8 cores
    assert compute_cycles(OS, 4, 4, 8, 16, 8, 64, 1, False, 0, 1, 1.0, 0.0, 8)[2] == 64


@pytest.mark.parametrize("dataflow", [OS, WS, IS])
def test_one_fold_realistic_equals_compat(dataflow: int) -> None:
    # a single fold has nothing to overlap: both modes agree (T >= R)
    assert cycles(dataflow, 8, 8, 1, 8, 8, 8, 1, False, 0) == cycles(dataflow, 8, 8, 1, 8, 8, 8, 1, True, 0)


@pytest.mark.parametrize(
    "run",
    REFERENCE,
    ids=lambda r: f"{r['dataflow']}-{r['rows']}x{r['cols']}-{r['m']}x{r['n']}x{r['k']}-{r['sparsity']}",
)
def test_compat_matches_scalesim_v3_to_the_cycle(run: dict) -> None:
    """Expected cycles are SCALE-Sim 3.0.0's own output (benchmarks/scalesim_reference.py)."""
    if run.get("total_cycles") is None:
        pytest.skip(f"SCALE-Sim produced no number for this run: {run.get('error')}")
    hw = tiny_hw(rows=run["rows"], cols=run["cols"], dataflow=run["dataflow"], modes=["2:4"])
    sparsity = None if run["sparsity"] == "dense" else run["sparsity"]
    r = nmsim.simulate_gemm(run["m"], run["n"], run["k"], hw, sparsity=sparsity, compat="scalesim")
    assert r.cycles == run["total_cycles"]
    assert r.stall_cycles == 0
    assert r.mapping_efficiency * 100 == pytest.approx(run["mapping_efficiency_percent"], abs=1e-6)


def test_reference_covers_every_dataflow_and_sparse_runs() -> None:
    kinds = {
        (r["dataflow"], r["sparsity"] != "dense") for r in REFERENCE if r.get("total_cycles") is not None
    }
    assert {("os", False), ("ws", False), ("is", False), ("ws", True)} <= kinds
