"""Resumable sweep output: a sidecar checkpoint of finished points, and one atomic write of the table.

While a sweep runs, each finished chunk of points is appended to ``<out>.ckpt.jsonl`` as one JSON
line holding its numeric columns bit-exact (base64 of the arrays), written whole, flushed and
fsynced before the next chunk counts as done. The first line holds the sweep's fingerprint and
columns; labels are recomputed from the point ids. A crash can at worst leave a torn last line, which is
dropped on resume; so a resumed sweep skips exactly the points already on record and computes the
others once. The results file itself is only ever written whole (temporary file + rename), after
the last point; then the checkpoint is removed.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nmsim.errors import NmsimInputError
from nmsim.io.atomic import write_bytes_atomic

CHECKPOINT_SUFFIX = ".ckpt.jsonl"
FORMATS = (".csv", ".parquet")


def checkpoint_path(out: str | os.PathLike[str]) -> Path:
    """The sidecar checkpoint of results file ``out``."""
    p = Path(out)
    return p.with_name(p.name + CHECKPOINT_SUFFIX)


def check_format(out: str | os.PathLike[str]) -> str:
    """The output format from ``out``'s suffix: '.csv' or '.parquet'."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise NmsimInputError("--out", "a results file ending in .csv or .parquet", str(out))
    return suffix


class Checkpoint:
    """Append-only record of finished points for results file ``out``."""

    def __init__(self, out: str | os.PathLike[str], fingerprint: str, columns: list[str]) -> None:
        self.path = checkpoint_path(out)
        self.fingerprint = fingerprint
        self.columns = list(columns)
        self._fh: io.BufferedWriter | None = None

    def load(self, restart: bool = False) -> dict[str, np.ndarray]:
        """Columns of the points already on record (empty for a new sweep); drops a torn last line.

        A checkpoint of a different sweep (other traces, patterns, configs or columns) is an error
        unless ``restart``, which discards it. A point recorded twice (impossible unless two runs
        shared the file) counts once.
        """
        if restart:
            self.path.unlink(missing_ok=True)
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        complete, keep = lines[:-1], len(data) - len(lines[-1])  # a last piece without "\n" is torn
        if not complete:
            self.path.unlink()
            return {}
        try:
            header = json.loads(complete[0])
        except json.JSONDecodeError:
            header = {}
        if header.get("fingerprint") != self.fingerprint or header.get("columns") != self.columns:
            raise NmsimInputError(
                "--out",
                f"'{self.path}' records a different sweep; rerun with --restart to discard it",
            )
        parts: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}
        for i, line in enumerate(complete[1:], start=2):
            try:
                chunk = json.loads(line)
                for c in self.columns:
                    dtype, text = chunk[c]
                    parts[c].append(np.frombuffer(base64.b64decode(text), dtype=dtype))
            except (json.JSONDecodeError, KeyError, ValueError, TypeError):
                raise NmsimInputError(
                    "--out", f"'{self.path}' line {i} is damaged; rerun with --restart"
                ) from None
        if keep != len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)
        if not parts[self.columns[0]]:
            return {}
        cols = {c: np.concatenate(v) for c, v in parts.items()}
        _, first = np.unique(cols["point"], return_index=True)
        return {c: v[first] for c, v in cols.items()}

    def _open(self) -> io.BufferedWriter:
        if self._fh is None:
            new = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")  # noqa: SIM115 (kept open across chunks)
            if new:
                header = {
                    "nmsim_sweep_checkpoint": 1,
                    "fingerprint": self.fingerprint,
                    "columns": self.columns,
                }
                self._write(json.dumps(header).encode() + b"\n")
        return self._fh

    def _write(self, data: bytes) -> None:
        assert self._fh is not None
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, cols: dict[str, np.ndarray]) -> None:
        """Record one chunk of finished points (its columns, bit-exact) as one line, durably."""
        self._open()
        line = {
            c: [
                np.asarray(cols[c]).dtype.str,
                base64.b64encode(np.ascontiguousarray(cols[c]).tobytes()).decode(),
            ]
            for c in self.columns
        }
        self._write(json.dumps(line).encode() + b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        """Delete the checkpoint (the results file is complete)."""
        self.close()
        self.path.unlink(missing_ok=True)


def table_bytes(df: Any, fmt: str) -> bytes:
    """The results table as CSV or Parquet bytes; the same table gives the same bytes."""
    if fmt == ".csv":
        return df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def write_table(df: Any, out: str | os.PathLike[str]) -> Path:
    """Write the results table atomically (readers see no file or the whole file)."""
    return write_bytes_atomic(out, table_bytes(df, check_format(out)))


def read_results(path: str | os.PathLike[str]) -> Any:
    """Read a sweep's results (CSV or Parquet) into a DataFrame, floats exactly as written."""
    import pandas as pd

    p = Path(path)
    fmt = check_format(p)
    try:
        if fmt == ".csv":
            exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
            # only a missing number is NaN; an empty label (a trace given in memory) stays ''
            nan = {c: [""] for c in ("accuracy", "accuracy_pct", "target_density")}
            return pd.read_csv(p, keep_default_na=False, na_values=nan, **exact)
        return pd.read_parquet(p)
    except (OSError, ValueError) as exc:
        raise NmsimInputError("results", f"cannot read '{p}': {type(exc).__name__}") from None
