"""What the audit needs from a scorer: the runtime ``Scorer.score`` interface, nothing more.

Any object with ``score(texts, *, embeddings=...)`` returning items with a ``scores``
(:class:`~pipeline.contracts.scores.Scores`) can be audited: the bundled ONNX model through
:class:`pipeline.scoring.scorer.Scorer`, or a toy scorer in a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pipeline.contracts.scores import Scores

BATCH = 256
"""Texts per ``score`` call: bounded memory, and the scorer buckets by length inside a batch."""


class ScoredText(Protocol):
    """One scored text (``pipeline.scoring.scorer.Scored`` has this shape)."""

    @property
    def scores(self) -> Scores: ...


class TextScorer(Protocol):
    """The scoring interface the audit uses (``pipeline.scoring.scorer.Scorer`` has it)."""

    def score(self, texts: Sequence[str], *, embeddings: bool = ...) -> Sequence[ScoredText]: ...


@dataclass(frozen=True, slots=True)
class Measures:
    """Per-text measures the audit compares (NaN / None where the model lacks the head)."""

    p_negative: np.ndarray[Any, Any]
    urgency_score: np.ndarray[Any, Any]
    intent: list[str | None]
    sentiment_label: list[str | None]
    urgency_level: list[str | None]


def measure(scorer: TextScorer, texts: Sequence[str]) -> Measures:
    """Score ``texts`` in batches and keep the measures the audit compares."""
    scores: list[Scores] = []
    for start in range(0, len(texts), BATCH):
        batch = scorer.score(texts[start : start + BATCH], embeddings=False)
        scores.extend(item.scores for item in batch)
    nan = float("nan")
    return Measures(
        p_negative=np.array(
            [s.sentiment.probabilities.get("negative", nan) if s.sentiment else nan for s in scores]
        ),
        urgency_score=np.array([s.urgency.score if s.urgency else nan for s in scores]),
        intent=[s.intent.label if s.intent else None for s in scores],
        sentiment_label=[s.sentiment.label if s.sentiment else None for s in scores],
        urgency_level=[s.urgency.level if s.urgency else None for s in scores],
    )
