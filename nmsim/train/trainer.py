"""The reference experiment: train the small Transformer on the synthetic translation task under a recipe.

:func:`train_translation` runs one cell (recipe × pattern × seed) and returns the exported trace.
Optimizer: AdamW (β = 0.9, 0.98, no weight decay), linear warm-up then cosine decay to 10% of ``lr``.
Accuracy: teacher-forced next-token accuracy over non-padding target tokens of the fixed eval set
(the metric of the AQT WMT trainer, docs/references.md#wmt-model).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from nmsim.schemas.trace import Metrics, Trace
from nmsim.train.export import export_trace
from nmsim.train.models.transformer import Seq2SeqTransformer, TransformerConfig
from nmsim.train.sparsifier import Sparsifier
from nmsim.train.tasks.translation import Batch, TranslationTask


@dataclass
class TrainConfig:
    """One training run. ``steps`` are optimizer steps of ``batch_size`` sentence pairs."""

    recipe: str = "dense"
    nm: str | None = None
    decay: str | None = None
    grad_mode: str | None = None
    structure: str | None = None
    targets: str | None = None
    steps: int = 1500
    seed: int = 1
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 100
    threads: int | None = None
    eval_size: int = 1024
    d_model: int = 128
    device: str = "cpu"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def cell(self) -> str:
        """Grid cell label, e.g. ``mdgf-exp`` or ``sdgf-geometric`` (the pattern is separate)."""
        if self.recipe == "mdgf":
            return f"mdgf-{self.decay or 'exp'}"
        if self.recipe == "sdgf":
            return f"sdgf-{self.structure or 'stepwise'}"
        return Path(self.recipe).stem if self.recipe.endswith((".yaml", ".yml", ".json")) else self.recipe


@dataclass
class TrainResult:
    """What one run produced: the trace, final eval accuracy, and timings (ms per optimizer step)."""

    trace: Trace
    accuracy: float
    loss: float
    step_ms: float
    wall_s: float


def _tensors(b: Batch, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return tuple(torch.from_numpy(a).to(device) for a in (b.src, b.tgt_in, b.tgt_out))


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine from 1 to 0.1 at ``total``."""
    warm = min(1.0, (step + 1) / max(1, warmup))
    cos = 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    return warm * cos


@torch.no_grad()
def token_accuracy(model: torch.nn.Module, batch: Batch, chunk: int = 256) -> float:
    """Teacher-forced next-token accuracy over the non-padding target tokens of ``batch``."""
    was = model.training
    model.eval()
    src, tin, tout = _tensors(batch, next(model.parameters()).device)
    right = total = 0
    for i in range(0, src.shape[0], chunk):
        logits = model(src[i : i + chunk], tin[i : i + chunk])
        t = tout[i : i + chunk]
        keep = t != 0
        right += int(((logits.argmax(-1) == t) & keep).sum())
        total += int(keep.sum())
    model.train(was)
    return right / max(total, 1)


def build_model(task: TranslationTask, d_model: int = 128) -> Seq2SeqTransformer:
    """The reference model: d_model 128, 4 heads, 2+2 layers, FF 512 (FF = 4·d_model)."""
    g = task.grammar
    return Seq2SeqTransformer(
        TransformerConfig(
            g.src_vocab, g.tgt_vocab, d_model=d_model, ffn=4 * d_model, max_len=g.max_tgt_len + 1
        )
    )


def train_translation(cfg: TrainConfig, progress: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train one cell and export its trace. ``progress(step, info)`` is called after every step."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    task = TranslationTask(seed=cfg.seed, eval_size=cfg.eval_size)
    device = torch.device(cfg.device)  # torch.manual_seed above seeds the CUDA generators too
    model = build_model(task, cfg.d_model).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg.warmup, cfg.steps))
    targets = cfg.targets.split(",") if cfg.targets else None
    sp = Sparsifier(model, cfg.recipe, cfg.steps, nm=cfg.nm, decay=cfg.decay, grad_mode=cfg.grad_mode,
                    structure=cfg.structure, targets=targets)  # fmt: skip
    t_start = time.perf_counter()
    loss_val = float("nan")
    for step in range(cfg.steps):
        src, tin, tout = _tensors(task.train_batch(step, cfg.batch_size), device)
        logits = model(src, tin)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        st = sp.step()
        loss_val = float(loss.detach())
        if progress is not None:
            progress(step + 1, {"loss": loss_val, "phase": st.stage_name, "pattern": st.pattern_text,
                                "decay": st.decay})  # fmt: skip
    train_s = time.perf_counter() - t_start
    acc = token_accuracy(model, task.eval_batch())
    sample = task.train_batch(0, cfg.batch_size)
    s_src, s_tin, _ = _tensors(sample, device)
    nm = sp.recipe.mask_structure
    params = {k: v for k, v in asdict(cfg).items() if v is not None and k not in ("extra", "threads")}
    if device.type == "cuda":
        params["device_name"] = torch.cuda.get_device_name(device)
    params.update(
        {"nm": nm, "cell": cfg.cell, "optimizer": "AdamW(0.9,0.98)", "lr_schedule": "warmup+cosine"}
    )
    metrics = Metrics(task=task.name, metric="token_accuracy", accuracy=acc, seed=cfg.seed,
                      extra={"final_loss": loss_val, "step_ms": 1000 * train_s / cfg.steps, "train_s": train_s})  # fmt: skip
    label = cfg.cell if cfg.recipe == "dense" else f"{cfg.cell}-{nm.replace(':', 'x')}"
    trace = export_trace(
        model, lambda: model(s_src, s_tin), sp, name=f"translation-{label}-s{cfg.seed}",
        description=f"synthetic translation, recipe {cfg.cell}, target {nm}, seed {cfg.seed}",
        source=f"nmsim train --task translation --recipe {cfg.recipe} --nm {nm} --steps {cfg.steps} --seed {cfg.seed}",
        metrics=metrics, batch_size=cfg.batch_size, tokens_per_step=int((sample.tgt_out != 0).sum()), params=params,
    )  # fmt: skip
    return TrainResult(trace, acc, loss_val, 1000 * train_s / cfg.steps, train_s)
