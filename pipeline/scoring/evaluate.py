"""``cxstream models eval``: the model's quality on public test sets and the project's own set.

Every number is computed on the exported ONNX model through the runtime code path, so it is the
quality the stream gets. Dataset loading and metric definitions are shared with the model build
(``pipeline.scoring.datasets`` / ``pipeline.scoring.quality``), so the card and this command agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.scoring import datasets, labelled, taxonomy
from pipeline.scoring.card import HeadSpec
from pipeline.scoring.custom_intents.embedding import scorer_embedder
from pipeline.scoring.custom_intents.measure import measure_bundled
from pipeline.scoring.quality import (
    accuracy,
    expected_calibration_error,
    macro_f1_multilabel,
    macro_recall,
)
from pipeline.scoring.scorer import Scorer

ANCHORS = {
    "tweeteval_test_macro_recall": ("RoBERTa-base 0.713 / BERTweet (Barbieri et al. 2020)", 0.734),
    "sst2_dev_accuracy": ("distilbert-base-uncased-finetuned-sst-2-english", 0.913),
    "banking77_test_accuracy": ("BANKING77 published (Casanueva et al. 2020)", 0.93),
    "goemotions_test_macro_f1": ("GoEmotions BERT-base (Demszky et al. 2020)", 0.46),
}
Array = np.ndarray[Any, Any]


def _take(items: Sequence[Any], limit: int | None) -> list[Any]:
    return list(items if limit is None else items[:limit])


TextView = Callable[[str], str]
"""What the model is shown instead of each text (e.g. its redacted form); identity by default."""


class Evaluator:
    """Runs one model over the evaluation sets, one batch of 64 texts at a time."""

    def __init__(
        self,
        scorer: Scorer,
        progress: Callable[[str], None] | None = None,
        text_view: TextView | None = None,
    ) -> None:
        self.scorer = scorer
        self.card = scorer.card
        self.progress = progress or (lambda _: None)
        self.view = text_view or (lambda text: text)

    def head(self, name: str) -> HeadSpec:
        head = self.card.head(name)
        if head is None:
            raise LookupError(f"model {self.card.name} has no {name!r} head")
        return head

    def logits(self, texts: Sequence[str], name: str) -> Array:
        """Raw logits of one head for ``texts`` (head-only window, batches of 64)."""
        head = self.head(name)
        texts = [self.view(t) for t in texts]
        parts = [
            self.scorer.model.run(texts[start : start + 64])[head.output]
            for start in range(0, len(texts), 64)
        ]
        return np.concatenate(parts)

    def probabilities(self, texts: Sequence[str], name: str) -> Array:
        """Calibrated probabilities of one output for ``texts`` (head-only window), as the
        runtime reports them: the head's own, or the fitted layer's that replaces them."""
        self.head(name)
        texts = [self.view(t) for t in texts]
        parts = [
            self.scorer.head_probabilities(self.scorer.model.run(texts[start : start + 64]))[name]
            for start in range(0, len(texts), 64)
        ]
        return np.concatenate(parts)

    def index(self, name: str, labels: Sequence[str]) -> Array:
        position = {label: i for i, label in enumerate(self.head(name).labels)}
        return np.array([position[label] for label in labels])


EVAL_BUCKET = 32


def evaluate(
    model_dir: Path,
    *,
    data_dir: Path | None = None,
    labelled_dir: Path | None = None,
    limit: int | None = None,
    threads: int = 0,
    progress: Callable[[str], None] | None = None,
    text_view: TextView | None = None,
) -> dict[str, Any]:
    """All metrics for ``model_dir`` (sets for heads the model lacks are skipped), with the
    VADER lexicon baseline beside the sentiment numbers when ``vaderSentiment`` is installed.

    ``text_view`` changes what the model reads (the labels and the VADER baseline stay)."""
    say = progress or (lambda _: None)
    # Dynamic int8 quantises activations per onnxruntime call, so scores move in the 4th decimal
    # with the batch composition; the card was measured with buckets of 32 and so is this.
    scorer = Scorer(model_dir, threads=threads, bucket_size=EVAL_BUCKET)
    ev = Evaluator(scorer, say, text_view)
    root = datasets.resolve_data_dir(data_dir)
    metrics: dict[str, Any] = {"model": scorer.card.name, "version": scorer.card.version}
    names = {h.name for h in scorer.card.heads}
    if "sentiment" in names:
        metrics.update(_sentiment(ev, root, limit))
    if "emotion" in names:
        metrics.update(_emotions(ev, root, limit))
    if "banking77" in names or "intent" in names:
        metrics.update(_intents(ev, root, limit, names))
    heldout = labelled.load("heldout", labelled_dir)
    metrics.update(_labelled(scorer, heldout, limit, say, ev.view))
    if scorer.card.embedding_output and limit is None:  # packs refit 3x each: full runs only
        metrics.update(_intent_packs(scorer, root, say))
    metrics["sequences_per_second"] = _throughput(scorer, root, say)
    metrics["limit"] = limit
    return metrics


def _sentiment(ev: Evaluator, root: Path, limit: int | None) -> dict[str, float]:
    out: dict[str, float] = {}
    ev.progress("SST-2 dev …")
    sst = _take(datasets.load_sst2(root, "dev"), limit)
    p = ev.probabilities([e.text for e in sst], "sentiment")
    labels = list(ev.head("sentiment").labels)
    pos, neg = labels.index("positive"), labels.index("negative")
    predicted = np.where(p[:, pos] > p[:, neg], 1, 0)
    truth = np.array([1 if e.sentiment == "positive" else 0 for e in sst])
    out["sst2_dev_accuracy"] = round(accuracy(truth, predicted), 4)

    ev.progress("GoEmotions test → 3-class sentiment …")
    go = _take([e for e in datasets.load_goemotions(root, "test") if e.sentiment], limit)
    p = ev.probabilities([e.text for e in go], "sentiment")
    truth = ev.index("sentiment", [str(e.sentiment) for e in go])
    out["sentiment3_macro_recall"] = round(macro_recall(truth, p.argmax(axis=1), 3), 4)
    out["ece"] = round(expected_calibration_error(p, truth), 4)

    ev.progress("TweetEval test (12,284 tweets) …")
    tweets = _take(datasets.load_tweeteval(root, "test"), limit)
    texts = [e.text for e in tweets]
    p = ev.probabilities(texts, "sentiment")
    truth = ev.index("sentiment", [str(e.sentiment) for e in tweets])
    out.update(three_class("tweeteval_test", truth, p.argmax(axis=1), labels))
    out["tweeteval_test_ece"] = round(expected_calibration_error(p, truth), 4)
    vader = vader_labels(texts, labels)
    if vader is not None:
        out["vader_tweeteval_test_macro_recall"] = round(macro_recall(truth, vader, 3), 4)
    return out


def three_class(
    prefix: str, truth: Array, predicted: Array, labels: Sequence[str]
) -> dict[str, float]:
    """Macro recall, accuracy and per-class recall of 3-class sentiment, named ``prefix_*``."""
    out = {
        f"{prefix}_macro_recall": round(macro_recall(truth, predicted, len(labels)), 4),
        f"{prefix}_accuracy": round(accuracy(truth, predicted), 4),
    }
    for index, label in enumerate(labels):
        if np.any(truth == index):
            out[f"{prefix}_{label}_recall"] = round(
                float(np.mean(predicted[truth == index] == index)), 4
            )
    return out


def vader_labels(texts: Sequence[str], labels: Sequence[str]) -> Array | None:
    """VADER's label ids (compound ≥ 0.05 positive, ≤ -0.05 negative, else neutral), or None
    when ``vaderSentiment`` (the ``eval`` extra) is not installed."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(text)["compound"] for text in texts])
    names = np.where(
        compound >= 0.05, "positive", np.where(compound <= -0.05, "negative", "neutral")
    )
    position = {label: i for i, label in enumerate(labels)}
    return np.array([position[str(name)] for name in names])


def _emotions(ev: Evaluator, root: Path, limit: int | None) -> dict[str, float]:
    ev.progress("GoEmotions test emotions …")
    go_all = _take(datasets.load_goemotions(root, "test"), limit)
    head = ev.head("emotion")
    p = ev.probabilities([e.text for e in go_all], "emotion")
    truth = np.zeros_like(p, dtype=bool)
    position = {label: i for i, label in enumerate(head.labels)}
    for row, e in enumerate(go_all):
        for emotion in e.emotions or ():
            truth[row, position[emotion]] = True
    threshold = head.threshold if head.threshold is not None else 0.5
    return {"goemotions_test_macro_f1": round(macro_f1_multilabel(truth, p >= threshold), 4)}


def _intents(ev: Evaluator, root: Path, limit: int | None, names: set[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    if "banking77" in names:
        ev.progress("BANKING77 test …")
        bank = _take(datasets.load_banking77(root, "test"), limit)
        p = ev.probabilities([e.text for e in bank], "banking77")
        truth = ev.index("banking77", [str(e.banking77) for e in bank])
        out["banking77_test_accuracy"] = round(accuracy(truth, p.argmax(axis=1)), 4)
    if "intent" in names:
        ev.progress("CX intent (BANKING77 + CLINC150 test) …")
        cx = _take(datasets.cx_intent_eval_set(root), limit)
        p = ev.probabilities([e.text for e in cx], "intent")
        truth = ev.index("intent", [str(e.intent) for e in cx])
        out["cx_intent_accuracy"] = round(accuracy(truth, p.argmax(axis=1)), 4)
    return out


def _labelled(
    scorer: Scorer,
    rows: list[labelled.LabelledMessage],
    limit: int | None,
    say: Callable[[str], None],
    view: TextView,
) -> dict[str, float]:
    rows = _take(rows, limit)
    say(f"project labelled set, held-out split ({len(rows)} messages) …")
    scored = scorer.score([view(r.text) for r in rows], embeddings=False)
    out: dict[str, float] = {}
    if all(s.scores.urgency is not None for s in scored):
        levels = list(taxonomy.URGENCY_LABELS)
        truth = np.array([levels.index(r.urgency) for r in rows])
        predicted = np.array([levels.index(s.scores.urgency.level) for s in scored])  # type: ignore[union-attr]
        onehot = np.eye(len(levels), dtype=bool)
        out["urgency_macro_f1_heldout"] = round(
            macro_f1_multilabel(onehot[truth], onehot[predicted]), 4
        )
    if all(s.scores.sentiment is not None for s in scored):
        labels = list(taxonomy.SENTIMENT_LABELS)
        truth = np.array([labels.index(r.sentiment) for r in rows])
        predicted = np.array([labels.index(s.scores.sentiment.label) for s in scored])  # type: ignore[union-attr]
        ours = three_class("labelled_heldout_sentiment", truth, predicted, labels)
        out["labelled_heldout_sentiment_accuracy"] = ours["labelled_heldout_sentiment_accuracy"]
        out["labelled_heldout_negative_recall"] = ours["labelled_heldout_sentiment_negative_recall"]
        vader = vader_labels([r.text for r in rows], labels)
        if vader is not None:
            out["vader_labelled_heldout_sentiment_accuracy"] = round(accuracy(truth, vader), 4)
            out["vader_labelled_heldout_negative_recall"] = round(
                float(np.mean(vader[truth == 0] == 0)), 4
            )
    return out


def _intent_packs(scorer: Scorer, root: Path, say: Callable[[str], None]) -> dict[str, float]:
    """The bundled intent packs fitted with 5, 10 and all examples per intent, measured on
    their source datasets' held-out rows and CLINC150 oos_test (docs/intents.md)."""
    say("intent packs (retail, banking, travel) …")
    measured = measure_bundled(scorer_embedder(scorer), root, progress=say)
    return {k: v for m in measured.values() for k, v in m.metrics().items()}


def _throughput(scorer: Scorer, root: Path, say: Callable[[str], None]) -> float:
    say("throughput …")
    texts = [e.text for e in datasets.load_sst2(root, "dev")][:512]
    scorer.model.run(texts[:32])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        scorer.model.run(texts[start : start + 32])
    return round(len(texts) / (time.perf_counter() - started), 1)


def render(metrics: dict[str, Any]) -> str:
    """A table of the metrics with the VADER baseline and the published anchors beside them."""
    lines = [
        f"{metrics['model']} {metrics['version']}",
        f"{'metric':<40} {'ours':>8} {'VADER':>8}  published anchor",
    ]
    for key, value in metrics.items():
        if key in {"model", "version", "limit"} or key.startswith("vader_") or value is None:
            continue
        anchor = ANCHORS.get(key)
        note = f"{anchor[1]:.3f}  ({anchor[0]})" if anchor else ""
        baseline = metrics.get(f"vader_{key}")
        shown = f"{value:.4f}" if isinstance(value, float) and value <= 1 else str(value)
        vader = f"{baseline:.4f}" if isinstance(baseline, float) else "-"
        lines.append(f"{key:<40} {shown:>8} {vader:>8}  {note}")
    if metrics.get("limit"):
        lines.append(f"(quick run: at most {metrics['limit']} examples per set)")
    return "\n".join(lines)
