"""Tables printed by the CLI are whole when piped or narrow, and name what ran."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_recipes_prints_whole_cells_and_the_gmp_density(tmp_path):
    for name in ("dense_s1.json", "gmp_1x16_s1.json", "sdgf-geometric_1x16_s1.json"):
        shutil.copy(ROOT / "traces" / "translation" / name, tmp_path / name)
    # a second model adds the model column: the summary is then wider than the 120 columns of old
    shutil.copy(ROOT / "traces" / "zoo" / "bert_large.json", tmp_path / "bert_large.json")
    env = {**os.environ, "COLUMNS": "40", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "nmsim", "recipes", str(tmp_path), "--phases"],
                         capture_output=True, text=True, env=env, check=True).stdout  # fmt: skip
    assert "…" not in out  # no cell cut short, though the terminal says 40 columns and stdout is a pipe
    assert "6.25%" in out  # GMP at 1:16's matched density
    assert "sdgf-geometric" in out and "train\nenergy" not in out
    widest = max(len(line) for line in out.splitlines() if line.startswith("│"))
    assert widest > 120
