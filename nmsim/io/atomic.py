"""Atomic file output: write to a temporary file in the target folder, then rename over the target.

Two more guarantees for commands that write:

- :func:`check_output_path` refuses, before any work starts, an output that cannot be written: a
  path under an existing file, a file path that is an existing folder, a folder nmsim may not write in.
- :func:`transaction` makes a command that writes several files write all or none: inside it, every
  :func:`write_bytes_atomic` stages its temporary file, and the renames happen only when the block ends
  without an error (otherwise the staged files, and folders made for them, are removed).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from nmsim.errors import NmsimInputError

_STAGED: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("nmsim_staged_writes", default=None)
_MADE_DIRS: ContextVar[list[Path] | None] = ContextVar("nmsim_made_dirs", default=None)


def _default_mode(target: Path) -> int:
    """Keep an existing file's mode; a new file gets 0666 minus the umask, as ``open()`` would give."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _make_parents(folder: Path) -> None:
    """``mkdir -p folder``, remembering what was made while a transaction is open."""
    made = _MADE_DIRS.get()
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    if made is not None:
        made.extend(missing)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    Inside :func:`transaction` the file is staged and renamed into place when the transaction commits.
    """
    target = Path(path)
    _make_parents(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, _default_mode(target))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        staged = _STAGED.get()
        if staged is not None:
            staged.append((Path(tmp), target))
        else:
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Atomic :func:`write_bytes_atomic` for UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """All the atomic writes inside the block land together when it ends, or none does.

    Nested transactions join the outermost one.
    """
    if _STAGED.get() is not None:
        yield
        return
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []
    token, token_dirs = _STAGED.set(staged), _MADE_DIRS.set(made)
    try:
        yield
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for folder in sorted(made, key=lambda f: len(f.parts), reverse=True):  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    else:
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        _STAGED.reset(token)
        _MADE_DIRS.reset(token_dirs)


def _nearest_existing(p: Path) -> Path:
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_path(
    path: str | os.PathLike[str] | None, field: str = "--out", folder: bool = False
) -> None:
    """Refuse, before any work, an output path that cannot be written (one error line naming ``field``).

    ``folder``: the path names a folder to write files into (made if missing), not a file.
    """
    if path is None:
        return
    p = Path(path)
    if p.is_dir() and not folder:
        raise NmsimInputError(field, "a file path; this is an existing folder", str(p))
    if p.exists() and folder and not p.is_dir():
        raise NmsimInputError(field, "a folder; this is an existing file", str(p))
    anchor = _nearest_existing(p if folder else p.parent)
    if not anchor.is_dir():
        raise NmsimInputError(field, f"a path in a folder; '{anchor}' is a file", str(p))
    try:  # the only reliable test of writability (permissions, read-only mounts, /proc, quotas)
        fd, probe = tempfile.mkstemp(prefix=".nmsim-probe.", dir=anchor)
    except OSError as exc:
        raise NmsimInputError(
            field,
            f"a folder nmsim can write in; cannot write in '{anchor}': {exc.strerror or type(exc).__name__}",
            str(p),
        ) from None
    os.close(fd)
    os.unlink(probe)
