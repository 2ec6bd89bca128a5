"""The model card: what a model directory holds and how to read its outputs.

A model directory has ``model.onnx``, ``tokenizer.json``, ``model_card.json`` (this schema) and
``MODEL_CARD.md``. The runtime needs nothing else, so any exporter that writes these files (the
default multi-head build, ``cxstream models export`` for Hugging Face checkpoints) is servable.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from pipeline.contracts.languages import LanguageCode
from pipeline.scoring.layers import LinearLayer
from pipeline.scoring.quality import sigmoid, softmax


class HeadSpec(BaseModel):
    """One output head of the graph."""

    name: str = Field(description="sentiment | emotion | intent | banking77 | urgency | …")
    output: str = Field(description="Name of the ONNX output holding this head's logits.")
    activation: Literal["softmax", "sigmoid"]
    labels: list[str]
    temperature: float = Field(1.0, gt=0, description="Logits are divided by this (calibration).")
    threshold: float | None = Field(
        None, description="Sigmoid heads: a label is on at or above this probability."
    )
    bias: list[float] | None = Field(
        None,
        description="Softmax heads: added to the logits before the temperature (the decision "
        "rule's class offsets, fitted on held-out data; see the card's calibration).",
    )

    def probabilities(self, logits: Any) -> np.ndarray[Any, Any]:
        """Calibrated probabilities from this head's raw logits [rows, labels]."""
        if self.activation == "sigmoid":
            return sigmoid(logits, self.temperature)
        shifted = np.asarray(logits, dtype=np.float64)
        if self.bias is not None:
            shifted = shifted + np.asarray(self.bias, dtype=np.float64)
        return softmax(shifted, self.temperature)


class ModelCard(BaseModel):
    """Everything a person or the runtime needs to know about one exported model."""

    name: str
    version: str
    sha256: str = Field(description="sha256 of model.onnx.")
    base_model: str
    max_length: int = Field(128, description="Tokens per window (the model's context).")
    inputs: list[str] = Field(default_factory=lambda: ["input_ids", "attention_mask"])
    embedding_output: str | None = Field(None, description="ONNX output with sentence vectors.")
    heads: list[HeadSpec]
    urgency_levels: dict[str, float] = Field(
        default_factory=dict,
        description="Urgency level → lowest urgency score (0..1) that reaches it.",
    )
    urgency_layer: LinearLayer | None = Field(
        None,
        description="Fitted on labelled customer messages; replaces the urgency head's "
        "probabilities (pipeline/scoring/layers.py).",
    )
    sentiment_layer: LinearLayer | None = Field(
        None,
        description="Fitted on SemEval tweets and labelled customer messages; replaces the "
        "sentiment head's probabilities (pipeline/scoring/layers.py).",
    )
    quantization: str = Field("none", description="e.g. dynamic int8, per-channel")
    training_data: list[dict[str, str]] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    calibration: dict[str, Any] = Field(default_factory=dict)
    intended_use: str = ""
    limitations: list[str] = Field(default_factory=list)
    created_with: dict[str, str] = Field(default_factory=dict)
    languages: list[LanguageCode] = Field(
        default_factory=lambda: ["en"],
        min_length=1,
        description="ISO 639-1 codes of the languages the model was trained and evaluated on. "
        "A text detected as another language is not scored (unscored_reason "
        "'unsupported_language'); cards written before this field read English only.",
    )
    fairness: dict[str, Any] = Field(
        default_factory=dict,
        description="The last fairness audit of this model (``cxstream audit --json``; "
        "docs/fairness.md), written by the model build's gate.",
    )

    def head(self, name: str) -> HeadSpec | None:
        return next((h for h in self.heads if h.name == name), None)

    def reads(self, language: str | None) -> bool:
        """Whether the model can score a text in ``language``.

        ``None`` (too short to tell, or no confident guess: standardise's language
        detection) counts as readable, as before: a few words give language identification
        too little to go on, and an unknown language is not evidence of an unsupported one.
        """
        return language is None or language in self.languages


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_card(model_dir: Path) -> ModelCard:
    """Read ``model_card.json``; raise ValueError with the path when it is missing or invalid."""
    path = model_dir / "model_card.json"
    try:
        return ModelCard.model_validate(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise ValueError(f"{path} not found: is {model_dir} a cxstream model directory?") from exc
    except ValueError as exc:
        raise ValueError(f"{path} is not a valid model card: {exc}") from exc
