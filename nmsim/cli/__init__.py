"""The ``nmsim`` command line (typer). Each command lives in its own module and registers itself here."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from pydantic import ValidationError

from nmsim.errors import NmsimInputError, NmsimUsageError, from_validation_error
from nmsim.limits import MAX_DOC_DEPTH

app = typer.Typer(
    name="nmsim",
    help="N:M sparse training recipes and their cost on sparse systolic-array hardware.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules; each defines ``register(app)``.
_COMMAND_MODULES: tuple[str, ...] = (
    "gemm",
    "simulate",
    "hw",
    "trace",
    "import_scalesim",
    "train",
    "recipes",
    "flops",
    "import_onnx",
    "sweep",
    "frontier",
    "plot",
    "calibrate",
    "published",
)


_REGISTERED: list[bool] = []


def _register_all() -> None:
    import importlib

    if _REGISTERED:
        return
    for name in _COMMAND_MODULES:
        importlib.import_module(f"nmsim.cli.{name}").register(app)
    from nmsim.cli.warmup import register as register_warmup

    register_warmup(app)
    _REGISTERED.append(True)


def _flags_without_type() -> None:
    """Help lists flags (``--json``) without a ``<bool>`` type: they take no value. Typer's rich help
    prints one for every option; when its option class is not the one expected, help stays as it is."""
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_nmsim", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else original(self, ctx)

    display_type_rich._nmsim = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_type()


def fail(line: str) -> NoReturn:
    """Refuse the command: raise :class:`NmsimUsageError`, which :func:`main` prints as one line, exit 2."""
    raise NmsimUsageError(line)


def _error(line: str) -> int:
    typer.echo(f"error: {line}", err=True)
    return 2


def run(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Every refusal of bad input, whatever raised it, becomes one ``error:`` line on stderr and status 2:
    :class:`NmsimInputError` (and :func:`fail`), pydantic's ``ValidationError``, click's usage errors,
    a document nested past the recursion limit, and an output the operating system refused to write.
    """
    _register_all()
    try:
        rc = app(args=argv, standalone_mode=False)
    except NmsimInputError as exc:
        return _error(exc.line())
    except ValidationError as exc:
        return _error(from_validation_error(exc).line())
    except RecursionError:
        return _error(f"input: nested deeper than nmsim reads (MAX_DOC_DEPTH = {MAX_DOC_DEPTH})")
    except OSError as exc:
        where = exc.filename if exc.filename is not None else "file"
        return _error(f"{where}: {exc.strerror or type(exc).__name__}")
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except Exception as exc:
        # Usage errors (unknown option, missing or malformed value). Recent typer vendors its own click,
        # whose exception classes are not click's, so recognise them by what they carry.
        message = getattr(exc, "format_message", None)
        if message is None or not hasattr(exc, "exit_code"):
            raise
        text = " ".join(str(message()).split())
        typer.echo(f"error: {text}", err=True)
        return int(exc.exit_code)  # 2 for the UsageError family (unknown option, bad or missing value)
    # standalone_mode=False returns an Exit's status instead of raising it
    return rc if isinstance(rc, int) and not isinstance(rc, bool) else 0


def main() -> None:
    """Entry point of the ``nmsim`` script: :func:`run`, then exit with its status."""
    code = run()
    if code:
        sys.exit(code)
