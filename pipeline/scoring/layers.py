"""Linear layers fitted after the model: urgency and sentiment, each a softmax over the sentence
vector (and, for urgency, every head's probabilities).

**Urgency layer.** The model's own urgency head learnt from weak labels (a rule table applied to
public datasets). The layer is fitted afterwards on the fit split of the project's labelled
customer messages (``pipeline.training.urgency_layer``), where people judged how fast the
business must act. Its input is one unit-length vector: the L2-normalised sentence embedding
followed by the calibrated probabilities of the sentiment, emotion, intent and urgency heads
(the heads' own, never another layer's), the whole re-normalised. Its probabilities are reported
as the urgency probabilities and its score Σ p(level)·weight orders a queue; the reported level
is the higher of the layer's most probable level and the weak-label head's thresholded level
(``scorer.py``): under-calling urgency is the costlier mistake.

**Sentiment layer.** The 3-class head learnt "neutral" from Reddit comments and "negative" mostly
from movie reviews, and called most unhappy customers neutral. The layer is a class-balanced
softmax over the unit-length sentence vector, fitted on real 3-class text — SemEval tweets about
companies and products plus the labelled customer messages' fit split
(``pipeline.training.sentiment_layer``) — with a temperature fitted on TweetEval val. The
reported sentiment probabilities are ``(1 - head_weight)`` of the layer's plus ``head_weight``
of the head's own (the head still reads polar reviews better; the weight is chosen on dev sets).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from pipeline.scoring.quality import softmax

Array = np.ndarray[Any, Any]
FEATURE_HEADS = ("sentiment", "emotion", "intent", "urgency")


class LinearLayer(BaseModel):
    """Weights of a fitted layer as stored in the model card."""

    labels: list[str] = Field(description="Output labels, in the matching head's order.")
    features: list[str] = Field(
        description="embedding, then the heads whose probabilities feed it."
    )
    weights: list[list[float]] = Field(description="[labels, features] matrix.")
    bias: list[float]
    temperature: float = Field(1.0, gt=0, description="Logits are divided by it (calibration).")
    head_weight: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the replaced head's own probabilities mixed into the layer's.",
    )
    fitted_on: str = ""
    quality: dict[str, float] = Field(default_factory=dict)

    def probabilities(self, inputs: Array) -> Array:
        """Label probabilities [rows, labels] from :func:`layer_inputs` rows."""
        logits = inputs @ np.asarray(self.weights).T + np.asarray(self.bias)
        return softmax(logits / self.temperature)


def layer_inputs(embedding: Array, probabilities: dict[str, Array], features: list[str]) -> Array:
    """A layer's unit-length input rows: the raw sentence vectors [rows, dim] and each
    feature head's calibrated probabilities [rows, labels], in ``features`` order."""
    vectors = np.asarray(embedding, dtype=np.float64)
    parts = [vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)]
    parts += [np.asarray(probabilities[name]) for name in features if name != "embedding"]
    joined = np.hstack(parts)
    return np.asarray(joined / np.maximum(np.linalg.norm(joined, axis=1, keepdims=True), 1e-12))
