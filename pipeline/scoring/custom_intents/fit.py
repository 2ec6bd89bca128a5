"""Fit a pack: embed its examples, calibrate the out-of-scope threshold, fit the classifier.

Seconds, not minutes: one pass of the scoring model over the examples (the slow part), then
k + 1 small numpy fits (``classifier.py``, ``threshold.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pipeline.scoring.custom_intents.classifier import LinearSoftmax, Method, fit
from pipeline.scoring.custom_intents.embedding import Embedder
from pipeline.scoring.custom_intents.fitted import (
    CalibrationRecord,
    FittedIntent,
    FittedPack,
    ModelRef,
    PackedMatrix,
)
from pipeline.scoring.custom_intents.pack import IntentPack
from pipeline.scoring.custom_intents.threshold import Calibration, calibrate

Array = np.ndarray[Any, Any]
DEFAULT_METHOD: Method = "logistic"


@dataclass(frozen=True)
class PackVectors:
    """A pack's examples as vectors: what the fits need."""

    vectors: Array  # [examples, dim]
    labels: Array  # [examples] index into the pack's intents
    oos_vectors: Array  # [out-of-scope examples, dim]


def examples_of(pack: IntentPack, shots: int | None = None) -> tuple[list[str], list[int]]:
    """The pack's examples and their intent indices; ``shots``: only the first n of each."""
    texts: list[str] = []
    labels: list[int] = []
    for k, intent in enumerate(pack.intents):
        chosen = intent.examples if shots is None else intent.examples[:shots]
        texts += chosen
        labels += [k] * len(chosen)
    return texts, labels


def embed_pack(pack: IntentPack, embed: Embedder) -> PackVectors:
    """One model pass over the examples and the out-of-scope examples."""
    texts, labels = examples_of(pack)
    vectors = embed([*texts, *pack.out_of_scope_examples])
    return PackVectors(
        vectors=vectors[: len(texts)],
        labels=np.asarray(labels, dtype=np.int64),
        oos_vectors=vectors[len(texts) :],
    )


def fit_vectors(
    data: PackVectors, n_labels: int, method: Method = DEFAULT_METHOD
) -> tuple[LinearSoftmax, Calibration]:
    """The classifier on all examples and the k-fold calibration of its threshold."""
    calibration = calibrate(data.vectors, data.labels, n_labels, data.oos_vectors, method)
    return fit(data.vectors, data.labels, n_labels, method), calibration


def fit_pack(
    pack: IntentPack,
    embed: Embedder,
    model: ModelRef,
    *,
    source: str,
    method: Method = DEFAULT_METHOD,
    progress: Callable[[str], None] | None = None,
) -> FittedPack:
    """Fit ``pack`` on ``model``'s embeddings; ``source`` is the pack file (for re-fitting)."""
    say = progress or (lambda _: None)
    started = time.perf_counter()
    texts, _ = examples_of(pack)
    say(
        f"embedding {len(texts)} examples of {len(pack.intents)} intents and "
        f"{len(pack.out_of_scope_examples)} out-of-scope examples with {model.describe()}"
    )
    data = embed_pack(pack, embed)
    say(f"embedded in {time.perf_counter() - started:.1f} s; fitting ({method}) and calibrating")
    classifier, calibration = fit_vectors(data, len(pack.intents), method)
    seconds = round(time.perf_counter() - started, 2)
    return FittedPack(
        pack=pack.name,
        version=pack.version,
        description=pack.description,
        source=source,
        model=model,
        method=method,
        intents=[
            FittedIntent(name=i.name, description=i.description, queue=i.queue, priority=i.priority)
            for i in pack.intents
        ],
        weights=PackedMatrix.of(classifier.weights),
        bias=[round(float(b), 6) for b in classifier.bias],
        confidence_threshold=calibration.thresholds.confidence,
        similarity_threshold=calibration.thresholds.similarity,
        calibration=CalibrationRecord(
            rule=calibration.rule,
            folds=calibration.folds,
            heldout_accuracy=calibration.heldout_accuracy,
            in_scope_kept=calibration.in_scope_kept,
            oos_rejected=calibration.oos_rejected,
            oos_examples=calibration.oos_examples,
        ),
        examples=texts,
        example_labels=[int(x) for x in data.labels],
        example_vectors=PackedMatrix.of(data.vectors, "float16"),
        fitted_at=datetime.now(UTC),
        fit_seconds=seconds,
    )
