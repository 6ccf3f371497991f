"""SCALE-Sim topology CSVs (conv or GEMM, optional v3 ``Sparsity`` column) → an nmsim trace.

Conv rows: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
Num Filter, Strides`` (no padding, as SCALE-Sim). GEMM rows: ``Layer, M, N, K`` with SCALE-Sim's
meaning (M output rows, N filters/output columns, K reduction), which is nmsim's convention too.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from nmsim.errors import NmsimInputError, from_validation_error
from nmsim.io.guard import csv_rows
from nmsim.limits import MAX_NM_DIGITS
from nmsim.schemas.trace import Layer, Trace

_CONV_FIELDS = (
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)


def _int(cell: str, field: str, where: str) -> int:
    text = cell.strip()
    try:
        value = int(text) if len(text) <= MAX_NM_DIGITS else None
    except ValueError:
        value = None
    if value is None:
        raise NmsimInputError(field, f"an integer of at most {MAX_NM_DIGITS} digits", text, source=where)
    return value


def read_topology(path: str | Path, name: str | None = None) -> Trace:
    """Parse a SCALE-Sim topology CSV into a :class:`Trace` (one layer per row)."""
    p = Path(path)
    rows = [r for r in csv_rows(p) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise NmsimInputError("file", f"'{p}' needs a header row and at least one layer row")
    header = [h.strip() for h in rows[0]]
    while header and not header[-1]:
        header.pop()
    upper = [h.upper() for h in header]
    sparsity_col = upper.index("SPARSITY") if "SPARSITY" in upper else None
    is_gemm = upper[1:4] == ["M", "N", "K"]
    if not is_gemm and len(header) < 8:
        raise NmsimInputError(
            "header",
            f"expected SCALE-Sim conv ({', '.join(_CONV_FIELDS)}) or GEMM (Layer, M, N, K) columns",
            ",".join(header),
            source=str(p),
        )
    layers: list[Layer] = []
    for i, row in enumerate(rows[1:], start=2):
        where = f"{p}:{i}"
        cells = [c.strip() for c in row]
        pattern = "dense"
        if sparsity_col is not None and sparsity_col < len(cells) and cells[sparsity_col]:
            pattern = cells[sparsity_col]
        try:
            if is_gemm:
                m, n, k = (_int(cells[j], header[j], where) for j in (1, 2, 3))
                layers.append(Layer(name=cells[0], op="linear", m=m, n=n, k=k, pattern=pattern))
            else:
                h, w, fh, fw, ch, nf, st = (_int(cells[j], _CONV_FIELDS[j - 1], where) for j in range(1, 8))
                conv = {
                    "in_channels": ch,
                    "out_channels": nf,
                    "kernel_h": fh,
                    "kernel_w": fw,
                    "input_h": h,
                    "input_w": w,
                    "stride": st,
                }
                layers.append(Layer(name=cells[0], op="conv2d", role="conv", conv=conv, pattern=pattern))  # type: ignore[arg-type]
        except ValidationError as exc:
            raise from_validation_error(exc, where) from None
        except IndexError:
            raise NmsimInputError(
                "row", f"expected {len(header)} columns", ",".join(cells), source=where
            ) from None
    return Trace(name=name or p.stem, source=f"nmsim import-scalesim {p.name}", layers=layers)
