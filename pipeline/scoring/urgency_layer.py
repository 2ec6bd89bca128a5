"""The urgency layer: a linear softmax over the sentence vector and every head's probabilities.

The model's own urgency head learnt from weak labels (a rule table applied to public datasets).
The layer is fitted afterwards on the fit split of the project's labelled customer messages
(``pipeline.training.urgency_layer``), where people judged how fast the business must act. Its
input is one unit-length vector: the L2-normalised sentence embedding followed by the calibrated
probabilities of the sentiment, emotion, intent and urgency heads, the whole re-normalised.
Its probabilities are reported as the urgency probabilities and its score Σ p(level)·weight orders
a queue; the reported level is the higher of the layer's most probable level and the weak-label
head's thresholded level (``scorer.py``): under-calling urgency is the costlier mistake.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from pipeline.scoring.quality import softmax

Array = np.ndarray[Any, Any]
FEATURE_HEADS = ("sentiment", "emotion", "intent", "urgency")


class UrgencyLayer(BaseModel):
    """Weights of the layer as stored in the model card."""

    labels: list[str] = Field(description="Urgency levels, in the urgency head's order.")
    features: list[str] = Field(
        description="embedding, then the heads whose probabilities feed it."
    )
    weights: list[list[float]] = Field(description="[levels, features] matrix.")
    bias: list[float]
    fitted_on: str = ""
    quality: dict[str, float] = Field(default_factory=dict)

    def probabilities(self, inputs: Array) -> Array:
        """Level probabilities [rows, levels] from :func:`layer_inputs` rows."""
        return softmax(inputs @ np.asarray(self.weights).T + np.asarray(self.bias))


def layer_inputs(embedding: Array, probabilities: dict[str, Array], features: list[str]) -> Array:
    """The layer's unit-length input rows: the raw sentence vectors [rows, dim] and each
    feature head's calibrated probabilities [rows, labels], in ``features`` order."""
    vectors = np.asarray(embedding, dtype=np.float64)
    parts = [vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)]
    parts += [np.asarray(probabilities[name]) for name in features if name != "embedding"]
    joined = np.hstack(parts)
    return np.asarray(joined / np.maximum(np.linalg.norm(joined, axis=1, keepdims=True), 1e-12))
