"""The one plot style: rc settings, figures outside pyplot, SI units, byte-stable files, and the fixed
colour of each recipe and marker of each N:M target (the same in every plot, whatever else is drawn).

Figures are built on matplotlib's Agg canvas directly (no pyplot): plotting never changes the
caller's backend or pyplot state, in scripts and notebooks alike.
"""

from __future__ import annotations

import colorsys
import functools
import io
import math
import os
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nmsim.errors import NmsimInputError
from nmsim.io.atomic import write_bytes_atomic
from nmsim.sparsity import parse_pattern, try_pattern

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

#: One colour per recipe (the grid's cell names; ``pmd``/``ssd`` are the seed paper's names for
#: MDGF/SDGF and take their colours). Families share a hue: MDGF oranges/reds, SDGF greens, STE blues.
RECIPE_COLOURS: dict[str, str] = {
    "dense": "#222222",
    "oneshot": "#8c564b",
    "gradual": "#e377c2",
    "ste": "#6baed6",
    "srste": "#08519c",
    "gmp": "#7b4fa6",
    "mdgf-linear": "#fdae6b",
    "mdgf-exp": "#e6550d",
    "mdgf-step": "#a63603",
    "sdgf-stepwise": "#31a354",
    "sdgf-geometric": "#a1d99b",
}
_RECIPE_ALIASES = {"pmd": "mdgf", "ssd": "sdgf"}
_MDGF_DEFAULT, _SDGF_DEFAULT = "mdgf-exp", "sdgf-stepwise"
#: Shades of a mixed-scope recipe ``base+scope`` (e.g. ``srste+qk1:4``): (lightness change, hue turn in
#: degrees) applied to the base recipe's colour in HLS, so the mix keeps its base's hue family; one
#: step per scope, known scopes in this order, others by a stable hash of the scope.
SCOPE_SHADES = ((-0.18, 0.0), (0.0, -20.0), (0.0, 22.0), (0.12, 0.0), (-0.12, -32.0), (-0.12, 32.0))
_SCOPES = ("qk1:4", "qk1:8", "qkv1:4", "qkv1:8", "qk1:16", "qkv1:16")
_SHADE_LIGHTNESS = (0.22, 0.72)  # HLS lightness kept off white and black
_SHADE_MIN_SATURATION = 0.55  # no greys
#: Colours for recipes not in :data:`RECIPE_COLOURS`, chosen by a stable hash of the name.
_SPARE_COLOURS = ("#17becf", "#bcbd22", "#7f7f7f", "#9edae5", "#dbdb8d", "#c49c94", "#f7b6d2", "#c7c7c7")

#: One marker per N:M target; an unstructured target (GMP) takes the marker of the N:M with its density.
TARGET_MARKERS: dict[str, str] = {
    "dense": "o",
    "2:4": "s",
    "4:8": "p",
    "1:4": "D",
    "2:8": "d",
    "1:8": "^",
    "1:16": "v",
    "1:32": "<",
    "1:64": ">",
    "1:128": "*",
}
_SPARE_MARKERS = ("h", "H", "8", "P", "X")
UNSTRUCTURED_MARKER = "h"

#: Training-phase kinds (the recipes plot), in stacking order (Okabe–Ito palette, colour-blind safe).
KIND_COLOURS: dict[str, str] = {
    "dense": "#0072B2",
    "decay": "#E69F00",
    "structure": "#009E73",
    "sparse": "#CC79A7",
    "finetune": "#56B4E9",
    "mask": "#D55E00",
}
INFERENCE_COLOUR = "#555555"
LEADER_COLOUR = "0.45"
FRONTIER_COLOUR = "black"


def category_colours(n: int) -> list[tuple[float, ...]]:
    """``n`` colours for categories that are not recipes (hardware modes, energy components)."""
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _stable_pick(name: str, choices: Sequence[str]) -> str:
    return choices[zlib.crc32(name.encode()) % len(choices)]


def scope_shade(base_colour: str, scope: str) -> str:
    """The shade of ``base_colour`` for attention scope ``scope`` (see :data:`SCOPE_SHADES`)."""
    key = scope.strip().lower()
    step = _SCOPES.index(key) if key in _SCOPES else zlib.crc32(key.encode()) % len(SCOPE_SHADES)
    dl, dh = SCOPE_SHADES[step]
    h, light, sat = colorsys.rgb_to_hls(*matplotlib.colors.to_rgb(base_colour))
    light = min(max(light + dl, _SHADE_LIGHTNESS[0]), _SHADE_LIGHTNESS[1])
    rgb = colorsys.hls_to_rgb((h + dh / 360.0) % 1.0, light, max(sat, _SHADE_MIN_SATURATION))
    return str(matplotlib.colors.to_hex(rgb))


def recipe_colour(recipe: str) -> str:
    """The colour of ``recipe`` (a grid cell name such as ``mdgf-exp``), the same in every plot; a
    mixed-scope recipe ``base+scope`` takes a shade of its base's colour (:func:`scope_shade`)."""
    base, plus, scope = recipe.partition("+")
    if plus and base.strip() and scope.strip():
        return scope_shade(recipe_colour(base), scope)
    name = recipe.strip().lower()
    head, dash, tail = name.partition("-")
    name = _RECIPE_ALIASES.get(head, head) + dash + tail
    if name in RECIPE_COLOURS:
        return RECIPE_COLOURS[name]
    if name == "mdgf":
        return RECIPE_COLOURS[_MDGF_DEFAULT]
    if name == "sdgf":
        return RECIPE_COLOURS[_SDGF_DEFAULT]
    return _stable_pick(name, _SPARE_COLOURS)


def nm_twin(density: float | None) -> str | None:
    """The first N:M of :data:`TARGET_MARKERS` keeping ``density`` of the weights (0.5 → '2:4'), or None."""
    if not density:
        return None
    for name in TARGET_MARKERS:
        nm = parse_pattern(name).nm
        if nm is not None and abs(nm.density - density) < 1e-3:
            return name
    return None


def target_marker(pattern: str, density: float | None = None) -> str:
    """The marker of a training target: ``'2:4'``, ``'dense'``; ``'unstructured'`` at ``density``
    takes the marker of the N:M with that density (GMP at 12.5 % shares 1:8's triangle)."""
    if pattern in TARGET_MARKERS:
        return TARGET_MARKERS[pattern]
    sparsity = try_pattern(pattern)
    if sparsity is not None and sparsity.is_unstructured:
        twin = nm_twin(density)
        return TARGET_MARKERS[twin] if twin else UNSTRUCTURED_MARKER
    return _stable_pick(pattern, _SPARE_MARKERS)


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


def figure_bytes(fig: Figure, fmt: str = ".png") -> bytes:
    """``fig`` encoded as ``fmt`` (.png, .svg, .pdf) with no dates or versions inside (same figure, same bytes)."""
    metadata: dict[str, Any] = {
        ".png": {"Software": None},
        ".svg": {"Date": None, "Creator": None},
        ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    }[fmt]
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format=fmt.lstrip("."), metadata=metadata)
    return buf.getvalue()


def save_figure(fig: Figure, out: str | os.PathLike[str]) -> Path:
    """Write ``fig`` atomically in the format of ``out``'s suffix."""
    return write_bytes_atomic(out, figure_bytes(fig, check_plot_path(out)))
