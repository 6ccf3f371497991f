"""Fixtures of the training tests."""

from __future__ import annotations

import pytest


def make_corpus(root, extra: bytes = b"") -> dict[str, bytes]:
    """Three files (~70 kB) whose sorted order differs from their creation order."""
    files = {
        "b.txt": b"".join(b"line %05d of b\n" % i for i in range(2500)),
        "a/x.py": b"".join(b"def f%d(): return %d\n" % (i, i * i) for i in range(1500)),
        "a.txt": b"".join(b"alpha %d\n" % i for i in range(1500)) + extra,
        ".hidden/skip.txt": b"never read",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


@pytest.fixture(name="make_corpus", scope="session")
def make_corpus_fixture():
    """:func:`make_corpus`: writes a ~70 kB three-file text corpus (and a hidden file) under a folder."""
    return make_corpus
