"""The scores and provenance attached to every enriched interaction (no heavy imports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class LabelScore(BaseModel):
    label: str
    probability: float


class SentimentScore(BaseModel):
    label: str
    probabilities: dict[str, float]


class IntentScore(BaseModel):
    label: str
    confidence: float
    detail: LabelScore | None = Field(
        None, description="Fine-grained intent, when the model has one."
    )


class UrgencyScore(BaseModel):
    score: float = Field(ge=0, le=1, description="0 = no hurry … 1 = act now.")
    level: str
    probabilities: dict[str, float]


class Scores(BaseModel):
    """What the model says about one text."""

    sentiment: SentimentScore | None = None
    emotions: list[LabelScore] = Field(default_factory=list, description="Top emotions.")
    intent: IntentScore | None = None
    urgency: UrgencyScore | None = None


class Provenance(BaseModel):
    """Which model scored, with which thresholds, when and why."""

    model: str
    version: str
    sha256: str
    thresholds: dict[str, Any]
    scored_at: datetime
    windows: int = Field(1, description="Model windows the text needed (2 = head + tail).")
    reasons: dict[str, str]
