"""The out-of-scope rule: no intent is confident *and* no example is close.

A message is ``out_of_scope`` when both

- the classifier's probability of its best intent is below ``confidence_threshold``, and
- the cosine similarity between its sentence vector and the most similar example of the pack
  is below ``similarity_threshold``.

Each threshold is calibrated on examples nothing was fitted on. The pack's examples are split
into k stratified folds (k = 5, or fewer when an intent has fewer examples); each fold is
labelled by a classifier fitted on the other folds and compared with those folds' examples,
and so are the pack's ``out_of_scope_examples``. Then, for each of the two scores:

- with out-of-scope examples, the threshold maximises
  ``½ · (share of held-out examples accepted *and* labelled right + share of out-of-scope
  examples rejected)``: a wrong label counts as badly as a rejected right one;
- without them, it keeps ``IN_SCOPE_KEPT`` of the held-out examples (the 5th percentile of
  their scores), since nothing says how unusual messages score.

Why both must fail: held-out examples look more like the other examples than real messages do
(they come from the same source, often the same templates), so each threshold is tuned on
messages easier than the stream's. Either signal alone rejected too many in-scope messages
written apart from the examples: on the hand-written travel messages (data/intents/heldout)
the similarity rule alone called 25 % of them out of scope and the confidence rule alone 8 %;
requiring both, 6-10 % (borderline messages move with the batch: the int8 model quantises
activations per batch). The cost is out-of-scope recall (CLINC150 oos_test, travel: 0.80 with
both, 0.83-0.84 with either alone); the numbers for every pack are in docs/intents.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from pipeline.scoring.custom_intents.classifier import LinearSoftmax, Method, fit

Array = np.ndarray[Any, Any]
FOLDS = 5
IN_SCOPE_KEPT = 0.95


@dataclass(frozen=True)
class Thresholds:
    """Below both, a message is out of scope."""

    confidence: float
    similarity: float

    def accepts(self, confidence: Array, similarity: Array) -> Array:
        """True where a message is in scope."""
        return np.asarray((confidence >= self.confidence) | (similarity >= self.similarity))


@dataclass(frozen=True)
class Calibration:
    """What k-fold cross-validation on the pack's own examples said."""

    thresholds: Thresholds
    rule: str
    folds: int
    heldout_accuracy: float
    """Share of examples labelled right by a classifier that did not see them (no threshold)."""
    in_scope_kept: float
    """Share of those held-out examples the thresholds accept."""
    oos_rejected: float | None
    """Share of ``out_of_scope_examples`` the thresholds reject (None: the pack has none)."""
    oos_examples: int


@dataclass(frozen=True)
class Scored:
    """Per message: best intent, its probability and the nearest example's similarity."""

    predicted: Array
    confidence: Array
    similarity: Array

    @classmethod
    def of(cls, model: LinearSoftmax, vectors: Array, examples: Array) -> Scored:
        if len(vectors) == 0:
            return cls(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        probs = model.probabilities(vectors)
        return cls(probs.argmax(axis=1), probs.max(axis=1), nearest_similarity(vectors, examples))

    @classmethod
    def concat(cls, parts: list[Scored]) -> Scored:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


def nearest_similarity(vectors: Array, examples: Array) -> Array:
    """Cosine similarity of each (unit-length) row to its most similar example."""
    if len(vectors) == 0:
        return np.zeros(0)
    return np.asarray((np.asarray(vectors) @ np.asarray(examples).T).max(axis=1), dtype=float)


def fold_of(labels: Array, folds: int) -> Array:
    """Each example's fold: round-robin within its intent (stratified, deterministic)."""
    out = np.zeros(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        out[rows] = np.arange(len(rows)) % folds
    return out


def cross_validate(
    vectors: Array,
    labels: Array,
    n_labels: int,
    oos_vectors: Array,
    method: Method,
    *,
    folds: int = FOLDS,
) -> tuple[Scored, Scored]:
    """Fit on k-1 folds, score the k-th (and the out-of-scope examples), k times: the
    held-out scores in example order, and the out-of-scope scores of every fold."""
    fold = fold_of(labels, folds)
    order = np.argsort(np.concatenate([np.flatnonzero(fold == k) for k in range(folds)]))
    heldout: list[Scored] = []
    oos: list[Scored] = []
    for k in range(folds):
        train = fold != k
        model = fit(vectors[train], labels[train], n_labels, method)
        heldout.append(Scored.of(model, vectors[fold == k], vectors[train]))
        oos.append(Scored.of(model, oos_vectors, vectors[train]))
    joined = Scored.concat(heldout)
    in_order = Scored(joined.predicted[order], joined.confidence[order], joined.similarity[order])
    return in_order, Scored.concat(oos)


def choose_threshold(scores: Array, correct: Array, oos_scores: Array) -> float:
    """One score's threshold (see the module docstring), floored to 4 decimals."""
    if len(oos_scores) == 0:
        threshold = float(np.quantile(scores, 1 - IN_SCOPE_KEPT))
    else:
        best, threshold = -1.0, 0.0
        for t in np.unique(np.concatenate([scores, oos_scores])):
            value = (float(np.mean((scores >= t) & correct)) + float(np.mean(oos_scores < t))) / 2
            if value > best:
                best, threshold = value, float(t)
    return math.floor(threshold * 10_000) / 10_000


def calibrate(
    vectors: Array, labels: Array, n_labels: int, oos_vectors: Array, method: Method
) -> Calibration:
    """k-fold held-out accuracy and the out-of-scope thresholds for a pack's examples."""
    folds = int(min(FOLDS, np.bincount(labels, minlength=n_labels).min()))
    heldout, oos = cross_validate(vectors, labels, n_labels, oos_vectors, method, folds=folds)
    correct = heldout.predicted == labels
    thresholds = Thresholds(
        confidence=choose_threshold(heldout.confidence, correct, oos.confidence),
        similarity=choose_threshold(heldout.similarity, correct, oos.similarity),
    )
    if len(oos_vectors):
        rule = (
            "each threshold maximises ½·(held-out accepted and right + out-of-scope rejected) "
            f"over {len(labels)} held-out and {len(oos.confidence)} out-of-scope scores"
        )
    else:
        rule = f"each threshold keeps {IN_SCOPE_KEPT:.0%} of held-out examples (no out-of-scope)"
    rejected = ~thresholds.accepts(oos.confidence, oos.similarity)
    return Calibration(
        thresholds=thresholds,
        rule=rule,
        folds=folds,
        heldout_accuracy=round(float(correct.mean()), 4),
        in_scope_kept=round(
            float(thresholds.accepts(heldout.confidence, heldout.similarity).mean()), 4
        ),
        oos_rejected=round(float(rejected.mean()), 4) if len(oos_vectors) else None,
        oos_examples=len(oos_vectors),
    )
