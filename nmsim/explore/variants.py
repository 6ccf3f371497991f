"""A trace with an N:M pattern imposed on its sparsifiable layers, and what that does to its metadata."""

from __future__ import annotations

from nmsim.explore.spec import RECORDED
from nmsim.schemas.trace import Trace, check_pattern


def apply_nm(trace: Trace, nm: str) -> Trace:
    """``trace`` with every sparsifiable layer's weights set to pattern ``nm`` (``'n:m'`` or ``'dense'``).

    ``'recorded'`` returns ``trace`` itself. Measured ``density`` and ``mask_stats`` of the changed
    layers are dropped (they described the old weights); other layers are untouched.
    """
    if nm == RECORDED:
        return trace
    pattern = check_pattern(nm, "nm")
    layers = [
        layer.model_copy(update={"pattern": pattern, "density": None, "mask_stats": None})
        if layer.sparsifiable
        else layer
        for layer in trace.layers
    ]
    return trace.model_copy(update={"layers": layers})


def accuracy_for(trace: Trace, nm: str) -> float | None:
    """The trace's accuracy, when it still describes the weights run with pattern ``nm``.

    Valid for ``'recorded'`` and for the pattern the model was trained to; imposing any other
    pattern changes the model, whose accuracy nobody measured (None).
    """
    acc = trace.metrics.accuracy if trace.metrics is not None else None
    if acc is None:
        return None
    if nm == RECORDED:
        return acc
    rec = trace.training
    if rec is not None and rec.target == check_pattern(nm, "nm"):
        return acc
    return None
