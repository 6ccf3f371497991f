"""The ``nmsim`` command line (typer). Each command lives in its own module and registers itself here."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from nmsim.errors import NmsimInputError, from_validation_error

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


def _register_all() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(f"nmsim.cli.{name}").register(app)


def fail(line: str) -> None:
    """Print one error line and exit with status 2."""
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def main() -> None:
    """Entry point: run the app; bad input becomes one line on stderr and exit status 2."""
    _register_all()
    try:
        code = app(standalone_mode=False)  # without standalone mode click returns typer.Exit's code
        if isinstance(code, int) and code:
            sys.exit(code)
    except NmsimInputError as exc:
        typer.echo(f"error: {exc.line()}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        typer.echo(f"error: {from_validation_error(exc).line()}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        # Usage errors (unknown option, missing or malformed value). Recent typer vendors its own click,
        # whose exception classes are not click's, so recognise them by what they carry.
        message = getattr(exc, "format_message", None)
        if message is None or not hasattr(exc, "exit_code"):
            raise
        text = " ".join(str(message()).split())
        typer.echo(f"error: {text}", err=True)
        sys.exit(exc.exit_code)  # 2 for the UsageError family (unknown option, bad or missing value)
