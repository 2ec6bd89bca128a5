"""Label messages with a fitted pack: intent, confidence, and the examples that explain it.

The label is the classifier's best intent, unless its probability is below the pack's
confidence threshold *and* the message's most similar pack example (cosine similarity of the
sentence vectors) is below its similarity threshold: then it is ``out_of_scope``
(``threshold.py``). ``confidence`` is the classifier's probability of its best intent in both
cases, so a reader sees how close an out-of-scope message came. The reason names the closest
examples: of the chosen intent, or of any intent for an out-of-scope message.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.contracts.scores import OUT_OF_SCOPE, CustomIntentScore
from pipeline.scoring.custom_intents.embedding import unit_rows
from pipeline.scoring.custom_intents.fitted import FittedPack

CLOSEST = 2
QUOTE_CHARS = 60


def _quote(text: str) -> str:
    short = " ".join(text.split())
    return f'"{short if len(short) <= QUOTE_CHARS else short[: QUOTE_CHARS - 1] + "…"}"'


class CustomIntents:
    """A fitted pack, ready to label the sentence vectors of a batch of messages."""

    def __init__(self, fitted: FittedPack) -> None:
        self.fitted = fitted
        self.label = fitted.label
        self.classifier = fitted.classifier()
        self.intents = fitted.intents
        self.thresholds = fitted.thresholds()
        self.examples = fitted.examples
        self.example_labels = np.asarray(fitted.example_labels, dtype=np.int64)
        self.example_vectors = unit_rows(fitted.example_vectors.array())

    def classify(self, vectors: Any) -> list[CustomIntentScore]:
        """One score per row of ``vectors`` (sentence embeddings of the scoring model)."""
        matrix = unit_rows(vectors)
        if len(matrix) == 0:
            return []
        probs = self.classifier.probabilities(matrix)
        similarity = matrix @ self.example_vectors.T
        return [self._one(p, s) for p, s in zip(probs, similarity, strict=True)]

    def _one(self, probs: Any, similarity: Any) -> CustomIntentScore:
        best = int(probs.argmax())
        confidence = round(float(probs[best]), 4)
        intent = self.intents[best]
        nearest = float(similarity.max())
        limits = self.thresholds
        if confidence >= limits.confidence or nearest >= limits.similarity:
            rows = np.flatnonzero(self.example_labels == best)
            closest = rows[np.argsort(-similarity[rows])[:CLOSEST]]
            quoted = ", ".join(f"{_quote(self.examples[r])} ({similarity[r]:.2f})" for r in closest)
            return CustomIntentScore(
                label=intent.name,
                confidence=confidence,
                reason=f"{intent.name} {confidence:.2f}; closest examples: {quoted}",
                pack=self.label,
                queue=intent.queue,
                priority=intent.priority,
            )
        closest = np.argsort(-similarity)[:CLOSEST]
        quoted = ", ".join(
            f"{_quote(self.examples[r])} ({self.intents[self.example_labels[r]].name}, "
            f"{similarity[r]:.2f})"
            for r in closest
        )
        return CustomIntentScore(
            label=OUT_OF_SCOPE,
            confidence=confidence,
            reason=f"no intent sure enough (best {intent.name} {confidence:.2f} < "
            f"{limits.confidence:.2f}) and no example close enough ({nearest:.2f} < "
            f"{limits.similarity:.2f}); closest examples: {quoted}",
            pack=self.label,
        )
