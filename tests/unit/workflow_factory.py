"""Enriched interactions built by hand for the workflow tests (no model involved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.contracts.records import Enriched, Identifiers, SourceRef
from pipeline.contracts.scores import (
    IntentScore,
    LabelScore,
    Provenance,
    Scores,
    SentimentScore,
    UrgencyScore,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_LEVEL_SCORE = {"low": 0.05, "normal": 0.3, "high": 0.65, "critical": 0.9}


def at(minutes: float) -> datetime:
    """``T0`` plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def enriched(
    text: str | None = "hello",
    *,
    negative: float = 0.1,
    positive: float = 0.1,
    intent: str = "other",
    intent_confidence: float = 0.8,
    urgency: str = "normal",
    channel: str = "chat",
    author: str = "customer",
    conversation: str | None = "conv-1",
    minutes: float = 0.0,
    customer_key: str = "cus_test",
    interaction_id: str | None = None,
    emotions: tuple[str, ...] = (),
    attributes: dict[str, Any] | None = None,
    event_type: str = "message",
) -> Enriched:
    """One enriched interaction with the given scores (``text=None``: an unscored event)."""
    when = at(minutes)
    iid = interaction_id or f"{channel}:{customer_key}:{minutes}:{author}"
    neutral = max(0.0, 1.0 - negative - positive)
    scored = text is not None
    scores = None
    ai = None
    if scored:
        sentiment = {"negative": negative, "neutral": neutral, "positive": positive}
        scores = Scores(
            sentiment=SentimentScore(
                label=max(sentiment, key=sentiment.__getitem__), probabilities=sentiment
            ),
            emotions=[LabelScore(label=e, probability=0.6) for e in emotions],
            intent=IntentScore(label=intent, confidence=intent_confidence),
            urgency=UrgencyScore(
                score=_LEVEL_SCORE[urgency], level=urgency, probabilities={urgency: 1.0}
            ),
        )
        ai = Provenance(
            model="test-model",
            version="0",
            sha256="0" * 64,
            thresholds={},
            scored_at=when,
            reasons={},
        )
    return Enriched(
        interaction_id=iid,
        source=SourceRef(topic=f"cx.raw.{channel}", partition=0, offset=0),
        channel=channel,
        event_type=event_type,
        customer_key=customer_key,
        identifiers=Identifiers(customer_id=customer_key),
        occurred_at=when,
        received_at=when,
        author_role=author,
        text=text,
        conversation_id=conversation,
        attributes=attributes or {},
        scored=scored,
        scores=scores,
        ai=ai,
    )
