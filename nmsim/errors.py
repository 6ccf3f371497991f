"""One error type for bad user input, rendered as a single line by every face (CLI, API)."""

from __future__ import annotations


class NmsimInputError(ValueError):
    """Bad user input: ``field`` names what was wrong, ``allowed`` says what would be accepted."""

    def __init__(self, field: str, allowed: str, got: object = None, *, source: str | None = None) -> None:
        self.field = field
        self.allowed = allowed
        self.got = got
        self.source = source
        super().__init__(self.line())

    def __reduce__(self) -> tuple:  # picklable across worker processes despite the keyword-only source
        return (_rebuild, (type(self), self.field, self.allowed, self.got, self.source))

    def line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        shown = repr(self.got)
        shown = shown if len(shown) <= 80 else shown[:77] + "…"
        got = f" (got {shown})" if self.got is not None else ""
        return f"{where}{self.field}: {self.allowed}{got}"


def _rebuild(cls: type, field: str, allowed: str, got: object, source: str | None) -> NmsimInputError:
    err = NmsimInputError.__new__(cls)
    NmsimInputError.__init__(err, field, allowed, got, source=source)
    return err


def from_validation_error(exc: object, source: str | None = None) -> NmsimInputError:
    """Turn a pydantic ``ValidationError`` into one :class:`NmsimInputError` naming its first field."""
    errors = exc.errors()  # type: ignore[attr-defined]
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    msg = first.get("msg", "invalid value")
    msg = msg.removeprefix("Value error, ")
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, NmsimInputError):  # a validator that raised our own error: its words, once
        msg = inner.allowed
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    inp = first.get("input")
    got = inp if isinstance(inp, str | int | float) and first.get("type") != "missing" else None
    return NmsimInputError(loc, msg + more, got, source=source)


class NmsimUsageError(NmsimInputError):
    """A command-line refusal written as one whole line (``--json/--csv: choose one output format``)."""

    def __init__(self, line: str) -> None:
        field, _, allowed = line.partition(": ")
        self._line = line
        super().__init__(field if allowed else "usage", allowed or line)

    def line(self) -> str:
        return self._line

    def __reduce__(self) -> tuple:
        return (NmsimUsageError, (self._line,))
