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

    def line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        got = f" (got {self.got!r})" if self.got is not None else ""
        return f"{where}{self.field}: {self.allowed}{got}"


def from_validation_error(exc: object, source: str | None = None) -> NmsimInputError:
    """Turn a pydantic ``ValidationError`` into one :class:`NmsimInputError` naming its first field."""
    errors = exc.errors()  # type: ignore[attr-defined]
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    msg = first.get("msg", "invalid value")
    msg = msg.removeprefix("Value error, ")
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    inp = first.get("input")
    got = inp if isinstance(inp, str | int | float) and first.get("type") != "missing" else None
    return NmsimInputError(loc, msg + more, got, source=source)
