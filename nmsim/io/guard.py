"""Hostile-file guards: size, depth and node limits checked before a document is built, CSV field
limits, and ONNX's own full checker. Every refusal is one :class:`NmsimInputError` line.

JSON is checked on its text (strings blanked, brackets counted with numpy) and YAML on its event
stream (the parser is iterative; only the composer recurses), so no check here can hit Python's
recursion limit, and an alias bomb is refused by the count of the values it would expand to.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nmsim.errors import NmsimInputError
from nmsim.limits import MAX_CSV_FIELD, MAX_DOC_BYTES, MAX_DOC_DEPTH, MAX_DOC_NODES, MAX_ONNX_BYTES

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def check_file_size(path: Path, limit: int = MAX_DOC_BYTES, name: str = "MAX_DOC_BYTES") -> None:
    """Refuse a file larger than ``limit`` bytes (before it is read); ``name`` is the limit's name."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the read reports it
    if size > limit:
        raise NmsimInputError("file", f"'{path}' is {size:,} bytes; the limit is {limit:,} ({name})")


def _too_deep(source: str, depth: int) -> NmsimInputError:
    return NmsimInputError(
        "file", f"'{source}' nests deeper than {MAX_DOC_DEPTH} levels (MAX_DOC_DEPTH)", f">= {depth}"
    )


def _too_many(source: str) -> NmsimInputError:
    return NmsimInputError("file", f"'{source}' holds more than {MAX_DOC_NODES:,} values (MAX_DOC_NODES)")


def check_json_text(text: str, source: str) -> None:
    """Depth and value-count limits of a JSON text, checked before it is parsed."""
    data = _JSON_STRING.sub(b'""', text.encode("utf-8", "surrogatepass"))
    arr = np.frombuffer(data, dtype=np.uint8)
    opens = (arr == ord("[")) | (arr == ord("{"))
    closes = (arr == ord("]")) | (arr == ord("}"))
    if opens.any():
        depth = int(np.cumsum(opens.astype(np.int64) - closes.astype(np.int64)).max())
        if depth > MAX_DOC_DEPTH:
            raise _too_deep(source, depth)
    values = int(opens.sum()) + int((arr == ord(",")).sum()) + 1
    if values > MAX_DOC_NODES:
        raise _too_many(source)


def check_yaml_text(text: str, source: str) -> None:
    """Depth and value-count limits of a YAML text, from its events (aliases count what they expand to)."""
    stack: list[list[Any]] = []  # per open collection: [anchor, values at open, depth, deepest below]
    anchors: dict[str, tuple[int, int]] = {}  # anchor → (values, levels) of the node it names
    values = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            depth = len(stack)
            if isinstance(event, yaml.CollectionStartEvent):
                values += 1
                if depth + 1 > MAX_DOC_DEPTH:
                    raise _too_deep(source, depth + 1)
                stack.append([event.anchor, values - 1, depth + 1, depth + 1])
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, at_open, at_depth, deepest = stack.pop()
                if anchor is not None:
                    anchors[anchor] = (values - at_open, deepest - at_depth + 1)
                if stack:
                    stack[-1][3] = max(stack[-1][3], deepest)
            elif isinstance(event, yaml.ScalarEvent):
                values += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 0)
            elif isinstance(event, yaml.AliasEvent):
                size, levels = anchors.get(event.anchor or "", (1, 0))
                values += size
                if depth + levels > MAX_DOC_DEPTH:
                    raise _too_deep(source, depth + levels)
                if stack:
                    stack[-1][3] = max(stack[-1][3], depth + levels)
            if values > MAX_DOC_NODES:
                raise _too_many(source)
    except yaml.YAMLError:
        return  # malformed: the loader reports it with its line


def check_document_text(text: str, source: str, is_json: bool) -> None:
    """The limits of a JSON or YAML document text (JSON is valid YAML: a .yaml file may hold it)."""
    if is_json:
        check_json_text(text, source)
    else:
        check_yaml_text(text, source)


def parse_guarded(parse: Any, text: str, source: str) -> Any:
    """``parse(text)`` with a recursion failure turned into the depth error (a last line of defence)."""
    try:
        return parse(text)
    except RecursionError:
        raise _too_deep(source, MAX_DOC_DEPTH + 1) from None


def read_text(p: Path) -> str:
    """A user's text file (at most :data:`MAX_DOC_BYTES`, UTF-8); one error line when it cannot be read."""
    check_file_size(p)
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise NmsimInputError("file", f"cannot read '{p}': {reason}") from None


def csv_rows(path: str | Path) -> list[list[str]]:
    """Rows of a CSV file, fields at most :data:`MAX_CSV_FIELD` characters; one error line otherwise."""
    p = Path(path)
    text = read_text(p)
    if "\x00" in text:
        raise NmsimInputError("file", f"'{p}' is not a text CSV file (it holds NUL bytes)")
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(MAX_CSV_FIELD)
        return list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise NmsimInputError(
            "file", f"'{p}' is not a CSV file nmsim reads (fields are at most {MAX_CSV_FIELD:,} characters)"
        ) from exc
    finally:
        csv.field_size_limit(limit)


def check_onnx_model(onnx: Any, model: Any, source: str) -> None:
    """Refuse a model that ONNX's own full checker (strict shape inference included) rejects.

    Run it on the model after non-strict shape inference: that fills in value shapes a hand-built graph
    may leave out (which the checker requires), and the strict pass still refuses shapes that disagree.
    """
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # onnx.checker.ValidationError, shape-inference errors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NmsimInputError("model", f"ONNX's full checker rejects '{source}': {first[:200]}") from None


def check_onnx_size(path: Path) -> None:
    """Refuse an ONNX file larger than :data:`MAX_ONNX_BYTES` before it is read."""
    check_file_size(path, MAX_ONNX_BYTES, "MAX_ONNX_BYTES")
