"""The reference experiments: train a small Transformer on a task under a recipe, one cell at a time.

:func:`train_translation` (synthetic translation, encoder-decoder) and :func:`train_lm` (byte-level
language model on the stdlib corpus, decoder-only; :mod:`nmsim.train.tasks.lm`) each run one cell
(recipe × pattern × seed) and return the exported trace; :func:`train_task` dispatches on ``cfg.task``.
Optimizer: AdamW (β = 0.9, 0.98, no weight decay), linear warm-up then cosine decay to 10% of ``lr``.
Translation accuracy: teacher-forced next-token accuracy over non-padding target tokens of the fixed
eval set (the metric of the AQT WMT trainer, docs/references.md#wmt-model). LM: next-byte accuracy and
bits per byte (mean cross-entropy / ln 2) over every position of the fixed held-out windows.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Metrics, Trace
from nmsim.train.export import export_trace
from nmsim.train.models.decoder import DecoderConfig, DecoderLM
from nmsim.train.models.transformer import Seq2SeqTransformer, TransformerConfig
from nmsim.train.recipes import ALIASES
from nmsim.train.sparsifier import Sparsifier
from nmsim.train.tasks.lm import ByteLMTask, load_corpus
from nmsim.train.tasks.translation import Batch, TranslationTask

TASKS = ("translation", "lm")
DEFAULT_BATCH = {"translation": 64, "lm": 16}  # sentence pairs / byte windows per step
DEFAULT_EVAL = {"translation": 1024, "lm": 512}  # eval sentence pairs / held-out windows


@dataclass
class TrainConfig:
    """One training run. ``steps`` are optimizer steps of ``batch_size`` sentence pairs (translation)
    or byte windows of ``context`` bytes (lm); ``batch_size``/``eval_size`` None: the task's default."""

    recipe: str = "dense"
    task: str = "translation"
    corpus: str | None = None
    context: int = 128
    nm: str | None = None
    decay: str | None = None
    grad_mode: str | None = None
    structure: str | None = None
    targets: str | None = None
    decay_rate: float | None = None
    zero_at: int | float | None = None
    steps: int = 1500
    seed: int = 1
    batch_size: int | None = None
    lr: float = 2e-3
    warmup: int = 100
    threads: int | None = None
    eval_size: int | None = None
    d_model: int = 128
    device: str = "cpu"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise NmsimInputError("task", f"one of {', '.join(TASKS)}", self.task)
        if self.batch_size is None:
            self.batch_size = DEFAULT_BATCH[self.task]
        if self.eval_size is None:
            self.eval_size = DEFAULT_EVAL[self.task]

    @property
    def cell(self) -> str:
        """Grid cell label, e.g. ``mdgf-exp`` or ``sdgf-geometric`` (the pattern is separate)."""
        return cell_label(self.recipe, self.decay, self.structure, self.grad_mode)

    def settings(self, task_key: dict[str, str | int | float | bool]) -> dict:
        """Every setting that makes cells comparable (all but recipe, pattern, seed and recipe knobs)."""
        return {"task": self.task, "task_key": task_key, "steps": self.steps, "batch_size": self.batch_size,
                "lr": self.lr, "warmup": self.warmup, "eval_size": self.eval_size, "d_model": self.d_model,
                "targets": self.targets}  # fmt: skip


def cell_label(recipe: str, decay: str | None = None, structure: str | None = None,
               grad_mode: str | None = None) -> str:  # fmt: skip
    """Grid cell label: ``mdgf-exp``, ``sdgf-geometric``, ``mdgf-step-autodiff`` (a grad-mode override);
    the seed paper's names ``pmd``/``ssd`` label as ``mdgf``/``sdgf``."""
    recipe = ALIASES.get(recipe, recipe)
    if recipe == "mdgf":
        base = f"mdgf-{decay or 'exp'}"
    elif recipe == "sdgf":
        base = f"sdgf-{structure or 'stepwise'}"
    else:
        base = Path(recipe).stem if recipe.endswith((".yaml", ".yml", ".json")) else recipe
    return f"{base}-{grad_mode}" if grad_mode else base


def settings_hash(settings: dict) -> str:
    """First 16 hex digits of SHA-256 over the canonical JSON of ``settings``."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def _setup(cfg: TrainConfig, model: torch.nn.Module) -> tuple[torch.optim.Optimizer, object, Sparsifier]:
    """Optimizer, LR schedule and sparsifier of one run (the model already on its device)."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg.warmup, cfg.steps))
    targets = cfg.targets.split(",") if cfg.targets else None
    sp = Sparsifier(model, cfg.recipe, cfg.steps, nm=cfg.nm, decay=cfg.decay, grad_mode=cfg.grad_mode,
                    structure=cfg.structure, targets=targets, decay_rate=cfg.decay_rate, zero_at=cfg.zero_at)  # fmt: skip
    return opt, sched, sp


def _fit(cfg: TrainConfig, loss_of_step: Callable[[int], torch.Tensor], opt: torch.optim.Optimizer,
         sched: object, sp: Sparsifier, progress: Callable[[int, dict], None] | None) -> tuple[float, float]:  # fmt: skip
    """The training loop; returns (last training loss, training seconds)."""
    t_start = time.perf_counter()
    loss_val = float("nan")
    for step in range(cfg.steps):
        loss = loss_of_step(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        st = sp.step()
        loss_val = float(loss.detach())
        if progress is not None:
            progress(step + 1, {"loss": loss_val, "phase": st.stage_name, "pattern": str(st.sparsity),
                                "decay": st.decay})  # fmt: skip
    return loss_val, time.perf_counter() - t_start


def _params(
    cfg: TrainConfig, sp: Sparsifier, device: torch.device, digest: str
) -> tuple[dict, dict[str, str]]:
    """Trace ``training.params`` and ``provenance`` (what ran where it differs from what was asked)."""
    nm = sp.recipe.mask_structure
    params = {k: v for k, v in asdict(cfg).items() if v is not None and k not in ("extra", "threads")}
    if device.type == "cuda":
        params["device_name"] = torch.cuda.get_device_name(device)
    params.update({"nm": nm, "cell": cfg.cell, "optimizer": "AdamW(0.9,0.98)", "lr_schedule": "warmup+cosine",
                   "settings_hash": digest})  # fmt: skip
    provenance: dict[str, str] = {}
    for index, (asked, ran) in sorted(sp.plan.structure_k.items()):
        params["structure_k"] = ran
        if ran != asked:
            provenance[f"stages.{index}.structure.k"] = (
                f"derived: asked {asked}, ran {ran} (k halved until k·M divides every sparsified layer's "
                f"grouped length, gcd {sp.plan.max_group})"
            )
    return params, provenance


def _variant(cfg: TrainConfig) -> str | None:
    """``Metrics.variant`` of a run whose decay knobs differ from the recipe's (never averaged as seeds)."""
    if cfg.decay_rate is not None:
        return f"decay_rate={cfg.decay_rate:g}"
    if cfg.zero_at is not None:
        return f"zero_at={cfg.zero_at:g}"
    return None


def _label(cfg: TrainConfig, nm: str) -> str:
    return cfg.cell if cfg.recipe == "dense" else f"{cfg.cell}-{nm.replace(':', 'x')}"


def train_translation(cfg: TrainConfig, progress: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train one translation cell and export its trace. ``progress(step, info)`` is called after every step."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    task = TranslationTask(seed=cfg.seed, eval_size=cfg.eval_size)
    device = torch.device(cfg.device)  # torch.manual_seed above seeds the CUDA generators too
    model = build_model(task, cfg.d_model).to(device)
    opt, sched, sp = _setup(cfg, model)

    def loss_of_step(step: int) -> torch.Tensor:
        src, tin, tout = _tensors(task.train_batch(step, cfg.batch_size), device)
        logits = model(src, tin)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=0)

    loss_val, train_s = _fit(cfg, loss_of_step, opt, sched, sp, progress)
    acc = token_accuracy(model, task.eval_batch())
    sample = task.train_batch(0, cfg.batch_size)
    s_src, s_tin, _ = _tensors(sample, device)
    nm = sp.recipe.mask_structure
    digest = settings_hash(cfg.settings(translation_settings_key(task)))
    params, provenance = _params(cfg, sp, device, digest)
    metrics = Metrics(task=task.name, metric="token_accuracy", accuracy=acc, seed=cfg.seed, source="measured",
                      variant=_variant(cfg),
                      dataset="synthetic translation (nmsim grammar)", split="fixed eval set (task seed)",
                      extra={"final_loss": loss_val, "step_ms": 1000 * train_s / cfg.steps, "train_s": train_s})  # fmt: skip
    trace = export_trace(
        model, lambda: model(s_src, s_tin), sp, name=f"translation-{_label(cfg, nm)}-s{cfg.seed}",
        description=f"synthetic translation, recipe {cfg.cell}, target {nm}, seed {cfg.seed}",
        source=f"nmsim train --task translation --recipe {cfg.recipe} --nm {nm} --steps {cfg.steps} --seed {cfg.seed}",
        metrics=metrics, batch_size=cfg.batch_size, tokens_per_step=int((sample.tgt_out != 0).sum()), params=params,
        settings_hash=digest, provenance=provenance,
    )  # fmt: skip
    return TrainResult(trace, acc, loss_val, 1000 * train_s / cfg.steps, train_s)


def translation_settings_key(task: TranslationTask) -> dict[str, str | int | float | bool]:
    """The task part of a translation run's settings hash: the grammar."""
    return {"grammar": repr(task.grammar)}


def config_settings_hash(cfg: TrainConfig) -> str:
    """The settings hash a run of ``cfg`` will record (loads the task's corpus or grammar, not the model)."""
    if cfg.task == "lm":
        task = ByteLMTask(
            load_corpus(cfg.corpus), seed=cfg.seed, context=cfg.context, eval_windows=cfg.eval_size
        )
        return settings_hash(cfg.settings(lm_settings_key(task)))
    return settings_hash(cfg.settings(translation_settings_key(TranslationTask(seed=cfg.seed))))


def lm_settings_key(task: ByteLMTask) -> dict[str, str | int | float | bool]:
    """The task part of an LM run's settings hash: corpus hash, split, context and eval set."""
    info = task.info()
    return {k: info[k] for k in ("corpus_sha256", "split", "context", "eval_windows")}


@torch.no_grad()
def lm_eval(model: torch.nn.Module, batch: tuple, chunk: int = 128) -> tuple[float, float]:
    """(next-byte accuracy, bits per byte) over every position of the windows of ``batch``."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    x_all, y_all = (torch.from_numpy(a).to(device) for a in batch)
    right = 0
    nats = 0.0
    for i in range(0, x_all.shape[0], chunk):
        logits = model(x_all[i : i + chunk])
        y = y_all[i : i + chunk]
        right += int((logits.argmax(-1) == y).sum())
        nats += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
    model.train(was)
    n = y_all.numel()
    return right / n, nats / n / math.log(2.0)


def train_lm(cfg: TrainConfig, progress: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train one byte-level LM cell (decoder-only, 2 layers, FF 4·d_model) and export its trace."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    corpus = load_corpus(cfg.corpus)
    task = ByteLMTask(corpus, seed=cfg.seed, context=cfg.context, eval_windows=cfg.eval_size)
    device = torch.device(cfg.device)
    model = DecoderLM(DecoderConfig(d_model=cfg.d_model, ffn=4 * cfg.d_model, context=cfg.context)).to(device)
    opt, sched, sp = _setup(cfg, model)

    def loss_of_step(step: int) -> torch.Tensor:
        x, y = (torch.from_numpy(a).to(device) for a in task.train_batch(step, cfg.batch_size))
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    loss_val, train_s = _fit(cfg, loss_of_step, opt, sched, sp, progress)
    acc, bpb = lm_eval(model, task.eval_batch())
    x0 = torch.from_numpy(task.train_batch(0, cfg.batch_size)[0]).to(device)
    nm = sp.recipe.mask_structure
    digest = settings_hash(cfg.settings(lm_settings_key(task)))
    params, provenance = _params(cfg, sp, device, digest)
    metrics = Metrics(task=task.name, metric="next_byte_accuracy", accuracy=acc, seed=cfg.seed, source="measured",
                      variant=_variant(cfg),
                      dataset=corpus.name, split=f"held-out last 5% ({len(task.heldout)} bytes), "
                      f"{task.eval_windows} windows × {task.context}", task_info=task.info(),
                      extra={"bits_per_byte": bpb, "final_loss": loss_val, "step_ms": 1000 * train_s / cfg.steps,
                             "train_s": train_s})  # fmt: skip
    corpus_arg = f" --corpus {cfg.corpus}" if cfg.corpus else ""
    trace = export_trace(
        model, lambda: model(x0), sp, name=f"lm-{_label(cfg, nm)}-s{cfg.seed}",
        description=f"byte-level LM on {corpus.name}, recipe {cfg.cell}, target {nm}, seed {cfg.seed}",
        source=f"nmsim train --task lm{corpus_arg} --recipe {cfg.recipe} --nm {nm} --steps {cfg.steps} --seed {cfg.seed}",
        metrics=metrics, batch_size=cfg.batch_size, tokens_per_step=cfg.batch_size * cfg.context, params=params,
        settings_hash=digest, provenance=provenance,
    )  # fmt: skip
    return TrainResult(trace, acc, loss_val, 1000 * train_s / cfg.steps, train_s)


def train_task(cfg: TrainConfig, progress: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Run one cell of ``cfg.task`` (translation or lm)."""
    return (train_lm if cfg.task == "lm" else train_translation)(cfg, progress)
