"""An interrupted sweep resumes with no point lost or computed twice; the results file is never partial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nmsim.errors import NmsimInputError
from nmsim.explore.checkpoint import checkpoint_path, read_results
from nmsim.explore.spec import make_spec
from nmsim.explore.sweep import run_sweep
from tests.explore.synthetic import toy_trace

SPEC = make_spec(
    traces=[toy_trace()], nm=["1:4", "2:4", "dense"], hw=["vegeta_like"], params={"rows": [8, 16, 32, 64]}
)
POINTS = 3 * 4


class Stop(KeyboardInterrupt):
    pass


def interrupt_after(chunks: int):
    seen = []

    def hook(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == chunks:
            raise Stop

    return hook


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_interrupted_sweep_resumes_exactly(tmp_path: Path, suffix: str) -> None:
    ref = run_sweep(SPEC, tmp_path / f"ref{suffix}", scheduler="inline", chunk_points=2)
    out = tmp_path / f"res{suffix}"
    with pytest.raises(Stop):
        run_sweep(SPEC, out, scheduler="inline", chunk_points=2, on_chunk=interrupt_after(3))
    assert not out.exists()  # never a half-written results file
    ckpt = checkpoint_path(out)
    assert len(ckpt.read_bytes().splitlines()) == 1 + 3  # header + three chunks of two points

    res = run_sweep(SPEC, out, scheduler="inline", chunk_points=2)
    assert (res.resumed, res.computed) == (6, POINTS - 6)  # nothing lost, nothing twice
    assert not ckpt.exists()
    assert out.read_bytes() == (tmp_path / f"ref{suffix}").read_bytes()
    back = read_results(out)
    pd.testing.assert_frame_equal(back, ref.table, check_exact=True, check_dtype=False)
    assert back["point"].tolist() == list(range(POINTS))


def test_a_torn_last_line_is_dropped_and_recomputed(tmp_path: Path) -> None:
    out = tmp_path / "res.csv"
    with pytest.raises(Stop):
        run_sweep(SPEC, out, scheduler="inline", chunk_points=4, on_chunk=interrupt_after(2))
    ckpt = checkpoint_path(out)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data + data.splitlines(keepends=True)[-1][:50])  # a crash mid-write
    res = run_sweep(SPEC, out, scheduler="inline", chunk_points=4)
    assert (res.resumed, res.computed) == (8, 4)
    ref = run_sweep(SPEC, scheduler="inline").table
    pd.testing.assert_frame_equal(read_results(out), ref, check_exact=True, check_dtype=False)


def test_a_checkpoint_of_another_sweep_is_refused_unless_restart(tmp_path: Path) -> None:
    out = tmp_path / "res.parquet"
    with pytest.raises(Stop):
        run_sweep(SPEC, out, scheduler="inline", chunk_points=4, on_chunk=interrupt_after(1))
    other = make_spec(traces=[toy_trace()], nm=["1:8"], hw=["vegeta_like"])
    with pytest.raises(NmsimInputError, match="--restart"):
        run_sweep(other, out, scheduler="inline")
    res = run_sweep(other, out, scheduler="inline", restart=True)
    assert (res.resumed, res.computed) == (0, 1)
    assert len(read_results(out)) == 1


def test_checkpoint_lines_hold_bit_exact_columns(tmp_path: Path) -> None:
    out = tmp_path / "res.csv"
    with pytest.raises(Stop):
        run_sweep(SPEC, out, scheduler="inline", chunk_points=5, on_chunk=interrupt_after(1))
    lines = checkpoint_path(out).read_bytes().splitlines()
    header = json.loads(lines[0])
    assert header["columns"][:3] == ["point", "variant", "combo"]
    first = json.loads(lines[1])
    assert np.frombuffer(
        __import__("base64").b64decode(first["point"][1]), dtype=first["point"][0]
    ).tolist() == [
        0,
        1,
        2,
        3,
        4,
    ]
