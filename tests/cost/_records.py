"""Hand-built traces for the cost tests: a two-layer FF model and one schedule per recipe family.

The schedules follow the training library's export (one phase per executed segment, per-layer
overrides in ``layers``); every number here is chosen by hand, not produced by nmsim.
"""

from __future__ import annotations

from typing import Any

from nmsim.schemas.trace import Layer, Metrics, Phase, PhaseLayerState, Trace, TrainingRecord

# Two FF layers: ff1 16x64 · 64x32, ff2 16x32 · 32x64 → 16·64·32 = 32,768 dense MACs per pass each.
MACS = 32768
LAYERS = (
    Layer(name="ff1", role="ff", m=16, k=64, n=32, pattern="1:8"),
    Layer(name="ff2", role="ff", m=16, k=32, n=64, pattern="1:8"),
)
NAMES = ("ff1", "ff2")


def phase(name: str, kind: str, a: int, b: int, pattern: str = "dense", d0: float = 0.0, d1: float = 0.0,
          refresh: int = 0, grad: str = "autodiff", density: float | None = None) -> Phase:  # fmt: skip
    layers: dict[str, PhaseLayerState] = {}
    if pattern != "dense":
        st = PhaseLayerState(pattern=pattern, decay_factor_start=d0, decay_factor_end=d1, density=density)
        layers = dict.fromkeys(NAMES, st)
    return Phase(name=name, kind=kind, start_step=a, end_step=b, layers=layers, mask_refresh_every=refresh,
                 grad_mode=grad)  # type: ignore[arg-type]  # fmt: skip


def schedules(total: int = 16) -> dict[str, list[Phase]]:
    """One executed schedule per recipe family over ``total`` = 16 steps."""
    assert total == 16
    return {
        "dense": [phase("dense", "dense", 0, 16)],
        "oneshot": [phase("dense", "dense", 0, 4), phase("finetune 1:8", "finetune", 4, 16, "1:8")],
        "srste": [
            phase("dense", "dense", 0, 4),
            phase("sparse 1:8", "sparse", 4, 16, "1:8", refresh=1, grad="srste"),
        ],
        "mdgf": [
            phase("dense", "dense", 0, 2),
            phase("decay 1:8", "decay", 2, 10, "1:8", d0=1.0, d1=0.0, refresh=1, grad="ste"),
            phase("finetune 1:8", "finetune", 10, 16, "1:8", refresh=1, grad="ste"),
        ],
        "sdgf": [
            phase("dense", "dense", 0, 2),
            phase("structure 7:8", "structure", 2, 5, "7:8", refresh=1, grad="ste"),
            phase("structure 4:8", "structure", 5, 8, "4:8", refresh=1, grad="ste"),
            phase("structure 2:8", "structure", 8, 11, "2:8", refresh=1, grad="ste"),
            phase("structure 1:8", "structure", 11, 14, "1:8", refresh=1, grad="ste"),
            phase("finetune 1:8", "finetune", 14, 16, "1:8", refresh=1, grad="ste"),
        ],
        "gmp": [
            phase("dense", "dense", 0, 4),
            phase("gmp density 0.5", "sparse", 4, 10, "unstructured", refresh=2, density=0.5),
            phase("gmp density 0.125", "sparse", 10, 16, "unstructured", density=0.125),
        ],
    }


def two_layer(recipe: str, accuracy: float | None = None, seed: int = 1, **layer_kw: Any) -> Trace:
    """The two-layer model trained with ``recipe`` (its final layers carry the recipe's target)."""
    phases = schedules()[recipe]
    target = {"dense": "dense", "gmp": "unstructured"}.get(recipe, "1:8")
    if recipe == "dense":
        layers = [la.model_copy(update={"pattern": "dense"}) for la in LAYERS]
    elif recipe == "gmp":
        layers = [la.model_copy(update={"pattern": "unstructured", "density": 0.125}) for la in LAYERS]
    else:
        layers = list(LAYERS)
    layers = [la.model_copy(update=layer_kw) for la in layers]
    rec = TrainingRecord(
        recipe=recipe, target=target, total_steps=16, sparsified_layers=list(NAMES), phases=phases
    )
    metrics = Metrics(task="toy", accuracy=accuracy, seed=seed) if accuracy is not None else None
    return Trace(name=f"toy-{recipe}-s{seed}", layers=layers, training=rec, metrics=metrics)
