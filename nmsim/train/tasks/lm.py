"""Byte-level language modelling on a real text corpus available offline: Python's own standard library.

Corpus (:func:`load_corpus`): every non-test ``.py`` file under ``sysconfig.get_paths()["stdlib"]`` (files
under a ``test``/``tests``/``idle_test``/``site-packages``/``dist-packages`` folder and ``test_*.py`` are
left out), or every file of a folder the user names (``--corpus DIR``; hidden files and folders skipped).
Files are sorted by their relative POSIX path and concatenated as they are (no separator).

Content hash (pins the corpus; stdlib versions differ): SHA-256 over the sorted files, each contributing
``relative path (UTF-8) + b"\\0" + decimal byte length + b"\\0" + the bytes``.

Split: the last 5% of the concatenated bytes (``ceil(0.05 · total)``) are held out; the rest trains.
Tokens are bytes (vocabulary 256). Training batch ``step`` of ``seed`` takes ``batch_size`` windows of
``context + 1`` bytes at offsets drawn by ``numpy.random.default_rng([seed, step, 11])``, a pure function,
so a restarted run sees the same data. The evaluation set is fixed: ``eval_windows`` windows evenly
spaced over the held-out bytes; every position of every window is predicted (``eval_windows × context``
bytes).
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmsim.errors import NmsimInputError

HELDOUT_FRACTION = 0.05
VOCAB = 256
_SKIP_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"})


def stdlib_root() -> Path:
    """The folder of this interpreter's standard-library source."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[Path]:
    """Non-test ``.py`` files of the standard library under ``root``, sorted by relative path."""
    root = root or stdlib_root()
    out = []
    for p in root.rglob("*.py"):
        rel = p.relative_to(root)
        if _SKIP_DIRS.intersection(rel.parts[:-1]) or p.name.startswith("test_") or not p.is_file():
            continue
        out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def folder_files(root: Path) -> list[Path]:
    """Every regular file under ``root`` (hidden files and folders skipped), sorted by relative path."""
    out = [
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


@dataclass(frozen=True)
class Corpus:
    """The concatenated corpus bytes and what identifies them."""

    name: str
    data: bytes
    files: int
    sha256: str

    @property
    def split_at(self) -> int:
        """First held-out byte: the last ``ceil(0.05 · len)`` bytes are held out."""
        return len(self.data) - math.ceil(HELDOUT_FRACTION * len(self.data))


def load_corpus(folder: str | os.PathLike[str] | None = None) -> Corpus:
    """The stdlib corpus (``folder`` None) or every file under ``folder``, with its content hash."""
    if folder is None:
        root = stdlib_root()
        files = stdlib_files(root)
        name = f"{platform.python_implementation().lower()}-{platform.python_version()}-stdlib"
    else:
        root = Path(folder)
        if not root.is_dir():
            raise NmsimInputError("corpus", "an existing folder of text files", str(folder))
        files = folder_files(root)
        name = root.resolve().name
    h = hashlib.sha256()
    parts = []
    for p in files:
        data = p.read_bytes()
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
        parts.append(data)
    data = b"".join(parts)
    if len(data) < 64 * 1024:
        raise NmsimInputError("corpus", "at least 64 KiB of text (the held-out 5% must fill eval windows)",
                              f"{len(data)} bytes in {root}")  # fmt: skip
    return Corpus(name, data, len(files), h.hexdigest())


class ByteLMTask:
    """Train/eval byte windows of a :class:`Corpus` for a context of ``context`` bytes."""

    name = "byte_lm"

    def __init__(self, corpus: Corpus, seed: int = 1, context: int = 128, eval_windows: int = 512) -> None:
        self.corpus = corpus
        self.seed = seed
        self.context = context
        self.eval_windows = eval_windows
        buf = np.frombuffer(corpus.data, dtype=np.uint8)
        self.train = buf[: corpus.split_at]
        self.heldout = buf[corpus.split_at :]
        if len(self.heldout) < context + 1 + eval_windows:
            raise NmsimInputError("eval_windows", f"at most {len(self.heldout) - context - 1} for this corpus",
                                  eval_windows)  # fmt: skip

    def _windows(self, buf: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = starts[:, None] + np.arange(self.context + 1)[None, :]
        w = buf[idx].astype(np.int64)
        return w[:, :-1], w[:, 1:]

    def train_batch(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, next-byte targets), each ``[batch_size, context]``, of training step ``step`` (0-based)."""
        rng = np.random.default_rng([self.seed, step, 11])
        starts = rng.integers(0, len(self.train) - self.context - 1, size=batch_size)
        return self._windows(self.train, starts)

    def eval_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed held-out set: ``eval_windows`` windows evenly spaced over the held-out bytes."""
        last = len(self.heldout) - self.context - 1
        starts = (np.arange(self.eval_windows, dtype=np.int64) * last) // max(1, self.eval_windows - 1)
        return self._windows(self.heldout, starts)

    def info(self) -> dict[str, str | int | float | bool]:
        """``Metrics.task_info``: corpus identity and size, split, tokenizer, context, eval set size."""
        c = self.corpus
        return {
            "corpus": c.name,
            "corpus_sha256": c.sha256,
            "corpus_files": c.files,
            "corpus_bytes": len(c.data),
            "train_bytes": len(self.train),
            "heldout_bytes": len(self.heldout),
            "split": "last 5% of the concatenated bytes held out",
            "tokenizer": "bytes (vocabulary 256)",
            "context": self.context,
            "eval_windows": self.eval_windows,
            "eval_bytes": self.eval_windows * self.context,
        }
