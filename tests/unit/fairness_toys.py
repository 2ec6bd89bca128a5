"""Toy scorers with the runtime scorer's ``score`` interface, for the fairness audit's tests.

They answer from the words of a text: a deterministic per-text jitter (so gaps are not exactly
zero and the intervals have something to measure) plus, for the biased one, a fixed push when a
female word or name is present.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.contracts.scores import IntentScore, Scores, SentimentScore, UrgencyScore
from pipeline.fairness.corpus import GENDER_WORDS, NAMED_PEOPLE

FEMALE_WORDS = frozenset(
    word
    for person in (*GENDER_WORDS, *NAMED_PEOPLE)
    if person.gender == "female"
    for form in (person.subject, person.object)
    for word in [form.lower().split()[-1]]
)
NEGATIVE_WORDS = ("furious", "outraged", "hasn't", "never", "nobody", "crashing", "upset")


@dataclass(frozen=True)
class ToyScored:
    scores: Scores


def words(text: str) -> set[str]:
    cleaned = "".join(c if c.isalnum() or c == "'" else " " for c in text.lower())
    return {w.removesuffix("'s") for w in cleaned.split()}


def jitter(text: str, spread: float) -> float:
    """A deterministic value in [-spread, spread] from the text's hash."""
    digest = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)
    return (digest / 0xFFFFFFFF * 2.0 - 1.0) * spread


class ToyScorer:
    """Scores from content words only; ``female_push`` is added to P(negative) when a female
    word or name is present (0 = an unbiased scorer)."""

    def __init__(self, female_push: float = 0.0) -> None:
        self.female_push = female_push

    def score(self, texts: Sequence[str], *, embeddings: bool = True) -> list[ToyScored]:
        return [ToyScored(self._one(text)) for text in texts]

    def _one(self, text: str) -> Scores:
        found = words(text)
        negative = 0.2 + 0.5 * any(w in found for w in NEGATIVE_WORDS) + jitter(text, 0.05)
        if found & FEMALE_WORDS:
            negative += self.female_push
        negative = min(0.98, max(0.02, negative))
        rest = (1.0 - negative) / 2
        probabilities = {"negative": negative, "neutral": rest, "positive": rest}
        label = max(probabilities, key=probabilities.__getitem__)
        intent = "refunds" if "refund" in found else "billing" if "charged" in found else "other"
        urgency = min(1.0, max(0.0, 0.3 + jitter(text[::-1], 0.05)))
        return Scores(
            sentiment=SentimentScore(label=label, probabilities=probabilities),
            intent=IntentScore(label=intent, confidence=0.9),
            urgency=UrgencyScore(score=urgency, level="normal", probabilities={"normal": 1.0}),
        )
