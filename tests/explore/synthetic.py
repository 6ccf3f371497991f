"""Small synthetic traces for the exploration tests: every layer kind the batch path must handle,
and 'trained' copies with training records and made-up accuracies (values chosen by hand)."""

from __future__ import annotations

from typing import Any

from nmsim.schemas.trace import Layer, MaskStats, Metrics, Phase, PhaseLayerState, Trace, TrainingRecord


def toy_layers(ff: str = "dense") -> list[Layer]:
    """A two-block toy model: repeated shapes (dedup), attention, conv, mask stats, a dtype override."""
    layers: list[Layer] = [Layer(name="embed", role="embedding", m=64, k=512, n=128)]
    for b in range(2):
        layers += [
            Layer(name=f"blk{b}.q", role="q", m=64, k=128, n=128),
            Layer(name=f"blk{b}.score", op="attention", role="attn_score", m=64, k=32, n=64, repeat=4),
            Layer(name=f"blk{b}.ff1", role="ff", m=64, k=128, n=512, pattern=ff),
            Layer(name=f"blk{b}.ff2", role="ff", m=64, k=512, n=128, pattern=ff),
        ]
    layers += [
        Layer(
            name="conv",
            op="conv2d",
            role="conv",
            conv={
                "in_channels": 8,
                "out_channels": 16,
                "kernel_h": 3,
                "kernel_w": 3,
                "input_h": 10,
                "input_w": 10,
            },
        ),
        Layer(
            name="measured",
            role="ff",
            m=64,
            k=256,
            n=96,
            pattern="unstructured",
            mask_stats=MaskStats(block=8, histogram=[10, 40, 30, 20, 0, 0, 0, 0, 0]),
        ),
        Layer(name="half", role="ff", m=32, k=200, n=72, dtype="fp16", pattern="2:4"),
        Layer(name="head", role="head", m=64, k=128, n=1000),
    ]
    return layers


def toy_trace(name: str = "toy", ff: str = "dense") -> Trace:
    return Trace(name=name, source="tests/explore/synthetic.py", layers=toy_layers(ff))


def trained(recipe: str, target: str, accuracy: float, seed: int = 1, cell: str | None = None) -> Trace:
    """The toy model trained by ``recipe`` to ``target`` (dense before step 100, then the target)."""
    layers = toy_layers("dense" if target == "dense" else target)
    sparse = [ly.name for ly in layers if ly.name.endswith(("ff1", "ff2"))]
    params: dict[str, Any] = {"seed": seed}
    if cell:
        params["cell"] = cell
    phases = [Phase(name="train", kind="dense", start_step=0, end_step=1000)]
    if target != "dense":
        phases = [
            Phase(name="dense", kind="dense", start_step=0, end_step=100),
            Phase(
                name="sparse",
                kind="sparse",
                start_step=100,
                end_step=1000,
                layers={n: PhaseLayerState(pattern=target) for n in sparse},
            ),
        ]
    return Trace(
        name=f"toy-{cell or recipe}-{target.replace(':', 'x')}-s{seed}",
        layers=layers,
        training=TrainingRecord(
            recipe=recipe,
            target=target,
            params=params,
            total_steps=1000,
            sparsified_layers=[] if target == "dense" else sparse,
            phases=phases,
        ),
        metrics=Metrics(task="toy", accuracy=accuracy, seed=seed),
    )
