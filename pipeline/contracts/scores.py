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


OUT_OF_SCOPE = "out_of_scope"
"""The custom-intent label of a message that no intent of the pack claims confidently."""


class CustomIntentScore(BaseModel):
    """An intent of the operator's own pack (``CXSTREAM_INTENT_PACK``; docs/intents.md)."""

    label: str = Field(description=f"An intent of the pack, or {OUT_OF_SCOPE!r}.")
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(description="The score against the threshold and the closest examples.")
    pack: str = Field(description="The pack that labelled it, as name@version.")
    queue: str | None = Field(None, description="The pack's queue for this intent, if any.")
    priority: str | None = Field(None, description="The pack's priority for this intent, if any.")


class IntentScore(BaseModel):
    label: str
    confidence: float
    detail: LabelScore | None = Field(
        None, description="Fine-grained intent, when the model has one."
    )
    custom: CustomIntentScore | None = Field(
        None, description="The operator's own intent, when an intent pack is configured."
    )


class UrgencyScore(BaseModel):
    score: float = Field(ge=0, le=1, description="0 = no hurry … 1 = act now.")
    level: str
    probabilities: dict[str, float]


class ReplyTemplateScore(BaseModel):
    """The approved reply template suggested for the message: the closest of its intent's."""

    name: str = Field(description="The template's name in the reply templates file.")
    similarity: float = Field(
        ge=-1,
        le=1,
        description="Cosine similarity of the message's sentence vector to the closest of the "
        "template's examples (its text, when it has none).",
    )
    candidates: int = Field(
        1,
        ge=0,
        description="How many templates list the message's intent (a template of another "
        "intent is suggested only when the message nearly restates one of its examples).",
    )


class Scores(BaseModel):
    """What the model says about one text."""

    sentiment: SentimentScore | None = None
    emotions: list[LabelScore] = Field(default_factory=list, description="Top emotions.")
    intent: IntentScore | None = None
    urgency: UrgencyScore | None = None
    reply_template: ReplyTemplateScore | None = Field(
        None,
        description="The reply template the score stage suggests by intent and similarity "
        "(CXSTREAM_REPLY_TEMPLATES; docs/risk.md, Next-best-actions).",
    )


class Provenance(BaseModel):
    """Which model scored, with which thresholds, when and why."""

    model: str
    version: str
    sha256: str
    thresholds: dict[str, Any]
    scored_at: datetime
    windows: int = Field(1, description="Model windows the text needed (2 = head + tail).")
    reasons: dict[str, str]
    risk_model: str | None = Field(
        None, description="The risk model version that assessed a customer message (workflow)."
    )
