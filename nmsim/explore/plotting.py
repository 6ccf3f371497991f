"""Shared plotting pieces: headless figures, readable units, label placement, byte-stable files.

Figures are built on matplotlib's Agg canvas directly (no pyplot): plotting never changes the
caller's backend or pyplot state, in scripts and notebooks alike.
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nmsim.errors import NmsimInputError
from nmsim.io.atomic import write_bytes_atomic

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = (".png", ".svg", ".pdf")
_PREFIXES = (
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
)
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "nmsim",
    "svg.fonttype": "path",
    "path.simplify": False,
}


def check_plot_path(out: str | os.PathLike[str]) -> str:
    """The image format from ``out``'s suffix (.png, .svg or .pdf)."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise NmsimInputError("--out", "an image file ending in .png, .svg or .pdf", str(out))
    return suffix


def si_scale(values: Sequence[float], unit: str) -> tuple[float, str]:
    """(divisor, label) putting the largest |value| in [1, 1000) of an SI-prefixed ``unit``."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    top = max(finite) if finite else 1.0
    for div, prefix in _PREFIXES:
        if top >= div:
            return div, f"{prefix}{unit}"
    return _PREFIXES[-1][0], f"{_PREFIXES[-1][1]}{unit}"


def styled(func: F) -> F:
    """Run a plotting function under the package style (:data:`STYLE`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(width: float, height: float) -> Figure:
    """A figure (inches) on its own Agg canvas, outside pyplot."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out: str | os.PathLike[str]) -> Path:
    """Write ``fig`` atomically; the same figure gives the same bytes (no dates or versions inside)."""
    fmt = check_plot_path(out)
    metadata: dict[str, Any] = {
        ".png": {"Software": None},
        ".svg": {"Date": None, "Creator": None},
        ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    }[fmt]
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format=fmt.lstrip("."), metadata=metadata)
    return write_bytes_atomic(out, buf.getvalue())


_OFFSETS = (
    (6, 5, "left", "bottom"),
    (6, -5, "left", "top"),
    (-6, 5, "right", "bottom"),
    (-6, -5, "right", "top"),
    (0, 10, "center", "bottom"),
    (0, -10, "center", "top"),
    (12, 16, "left", "bottom"),
    (12, -16, "left", "top"),
    (-12, 16, "right", "bottom"),
    (-12, -16, "right", "top"),
    (0, 24, "center", "bottom"),
    (0, -24, "center", "top"),
    (20, 30, "left", "bottom"),
    (20, -30, "left", "top"),
    (-20, 30, "right", "bottom"),
    (-20, -30, "right", "top"),
)


def place_labels(
    ax: Any, xs: Sequence[float], ys: Sequence[float], texts: Sequence[str], fontsize: float = 7.5
) -> list[Any]:
    """Annotate points without overlaps: each label takes the first nearby offset whose box stays
    inside the axes and clear of the labels placed before it and of the other points' markers;
    far offsets get a leader line. Call after the axes' limits and the figure layout are final."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    marks = [ax.transData.transform((x, y)) for x, y in zip(xs, ys, strict=True)]
    placed: list[Any] = []
    anns = []
    for i, (x, y, text) in enumerate(zip(xs, ys, texts, strict=True)):
        best = None
        for dx, dy, ha, va in _OFFSETS:
            far = abs(dx) + abs(dy) > 24
            ann = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.6} if far else None,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
            )
            box = ann.get_window_extent(renderer).expanded(1.04, 1.1)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            hits = sum(box.overlaps(p) for p in placed)
            hits += sum(box.contains(mx, my) for j, (mx, my) in enumerate(marks) if j != i)
            score = hits + (0 if inside else 5)
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, ann, box)
            else:
                ann.remove()
            if score == 0:
                break
        assert best is not None
        placed.append(best[2])
        anns.append(best[1])
    return anns
