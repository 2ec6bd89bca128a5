"""``cxstream models eval``: the model's quality on public test sets and the project's own set.

Every number is computed on the exported ONNX model through the runtime code path, so it is the
quality the stream gets. Dataset loading and metric definitions are shared with the model build
(``pipeline.scoring.datasets`` / ``pipeline.scoring.quality``), so the card and this command agree.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.scoring import datasets
from pipeline.scoring.card import HeadSpec
from pipeline.scoring.quality import (
    accuracy,
    expected_calibration_error,
    macro_f1_multilabel,
    macro_recall,
    sigmoid,
    softmax,
)
from pipeline.scoring.scorer import Scorer
from pipeline.settings import PROJECT_ROOT

LABELLED_SET = PROJECT_ROOT / "tests" / "data" / "cx_labelled.jsonl"
ANCHORS = {
    "sst2_dev_accuracy": ("distilbert-base-uncased-finetuned-sst-2-english", 0.913),
    "banking77_test_accuracy": ("BANKING77 published (Casanueva et al. 2020)", 0.93),
    "goemotions_test_macro_f1": ("GoEmotions BERT-base (Demszky et al. 2020)", 0.46),
}
Array = np.ndarray[Any, Any]


def _take(items: Sequence[Any], limit: int | None) -> list[Any]:
    return list(items if limit is None else items[:limit])


class Evaluator:
    """Runs one model over the evaluation sets, one batch of 64 texts at a time."""

    def __init__(self, scorer: Scorer, progress: Callable[[str], None] | None = None) -> None:
        self.scorer = scorer
        self.card = scorer.card
        self.progress = progress or (lambda _: None)

    def head(self, name: str) -> HeadSpec:
        head = self.card.head(name)
        if head is None:
            raise LookupError(f"model {self.card.name} has no {name!r} head")
        return head

    def probabilities(self, texts: Sequence[str], name: str) -> Array:
        """Calibrated probabilities of one head for ``texts`` (head-only window)."""
        head = self.head(name)
        parts = []
        for start in range(0, len(texts), 64):
            logits = self.scorer.model.run(texts[start : start + 64])[head.output]
            parts.append(logits)
        logits = np.concatenate(parts)
        if head.activation == "softmax":
            return softmax(logits, head.temperature)
        return sigmoid(logits, head.temperature)

    def index(self, name: str, labels: Sequence[str]) -> Array:
        position = {label: i for i, label in enumerate(self.head(name).labels)}
        return np.array([position[label] for label in labels])


EVAL_BUCKET = 32


def evaluate(
    model_dir: Path,
    *,
    data_dir: Path | None = None,
    labelled: Path = LABELLED_SET,
    limit: int | None = None,
    threads: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """All metrics for ``model_dir``; heads the model lacks are reported as ``None``."""
    say = progress or (lambda _: None)
    # Dynamic int8 quantises activations per onnxruntime call, so scores move in the 4th decimal
    # with the batch composition; the card was measured with buckets of 32 and so is this.
    scorer = Scorer(model_dir, threads=threads, bucket_size=EVAL_BUCKET)
    ev = Evaluator(scorer, say)
    root = datasets.resolve_data_dir(data_dir)
    metrics: dict[str, Any] = {"model": scorer.card.name, "version": scorer.card.version}
    names = {h.name for h in scorer.card.heads}

    if "sentiment" in names:
        say("SST-2 dev …")
        sst = _take(datasets.load_sst2(root, "dev"), limit)
        p = ev.probabilities([e.text for e in sst], "sentiment")
        labels = list(ev.head("sentiment").labels)
        pos, neg = labels.index("positive"), labels.index("negative")
        predicted = np.where(p[:, pos] > p[:, neg], 1, 0)
        truth = np.array([1 if e.sentiment == "positive" else 0 for e in sst])
        metrics["sst2_dev_accuracy"] = round(accuracy(truth, predicted), 4)

        say("GoEmotions test → 3-class sentiment …")
        go = [e for e in datasets.load_goemotions(root, "test") if e.sentiment is not None]
        go = _take(go, limit)
        p = ev.probabilities([e.text for e in go], "sentiment")
        truth = ev.index("sentiment", [str(e.sentiment) for e in go])
        metrics["sentiment3_macro_recall"] = round(
            macro_recall(truth, p.argmax(axis=1), n_classes=p.shape[1]), 4
        )
        metrics["ece"] = round(expected_calibration_error(p, truth), 4)

    if "emotion" in names:
        say("GoEmotions test emotions …")
        go_all = _take(datasets.load_goemotions(root, "test"), limit)
        head = ev.head("emotion")
        p = ev.probabilities([e.text for e in go_all], "emotion")
        truth = np.zeros_like(p, dtype=bool)
        position = {label: i for i, label in enumerate(head.labels)}
        for row, e in enumerate(go_all):
            for emotion in e.emotions or ():
                truth[row, position[emotion]] = True
        threshold = head.threshold if head.threshold is not None else 0.5
        metrics["goemotions_test_macro_f1"] = round(macro_f1_multilabel(truth, p >= threshold), 4)

    if "banking77" in names:
        say("BANKING77 test …")
        bank = _take(datasets.load_banking77(root, "test"), limit)
        p = ev.probabilities([e.text for e in bank], "banking77")
        truth = ev.index("banking77", [str(e.banking77) for e in bank])
        metrics["banking77_test_accuracy"] = round(accuracy(truth, p.argmax(axis=1)), 4)

    if "intent" in names:
        say("CX intent (BANKING77 + CLINC150 test) …")
        cx = _take(datasets.cx_intent_eval_set(root), limit)
        p = ev.probabilities([e.text for e in cx], "intent")
        truth = ev.index("intent", [str(e.intent) for e in cx])
        metrics["cx_intent_accuracy"] = round(accuracy(truth, p.argmax(axis=1)), 4)

    rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    rows = _take(rows, limit)
    say(f"project labelled set ({len(rows)} messages) …")
    scored = scorer.score([r["text"] for r in rows])
    if "urgency" in names:
        levels = list(ev.head("urgency").labels)
        truth_m = np.zeros((len(rows), len(levels)), dtype=bool)
        pred_m = np.zeros_like(truth_m)
        for i, (row, s) in enumerate(zip(rows, scored, strict=True)):
            truth_m[i, levels.index(row["urgency"])] = True
            assert s.scores.urgency is not None
            pred_m[i, levels.index(s.scores.urgency.level)] = True
        metrics["urgency_macro_f1"] = round(macro_f1_multilabel(truth_m, pred_m), 4)
    if "sentiment" in names:
        hits = [
            s.scores.sentiment is not None and s.scores.sentiment.label == r["sentiment"]
            for r, s in zip(rows, scored, strict=True)
        ]
        metrics["labelled_sentiment_accuracy"] = round(float(np.mean(hits)), 4)

    say("throughput …")
    texts = [e.text for e in datasets.load_sst2(root, "dev")][:512]
    scorer.model.run(texts[:32])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        scorer.model.run(texts[start : start + 32])
    metrics["sequences_per_second"] = round(len(texts) / (time.perf_counter() - started), 1)
    metrics["limit"] = limit
    return metrics


def render(metrics: dict[str, Any]) -> str:
    """A table of the metrics with the published anchors beside them."""
    lines = [f"{metrics['model']} {metrics['version']}", f"{'metric':<30} {'ours':>8}  anchor"]
    for key, value in metrics.items():
        if key in {"model", "version", "limit"} or value is None:
            continue
        anchor = ANCHORS.get(key)
        note = f"{anchor[1]:.3f}  ({anchor[0]})" if anchor else ""
        shown = f"{value:.4f}" if isinstance(value, float) and value <= 1 else str(value)
        lines.append(f"{key:<30} {shown:>8}  {note}")
    if metrics.get("limit"):
        lines.append(f"(quick run: at most {metrics['limit']} examples per set)")
    return "\n".join(lines)
