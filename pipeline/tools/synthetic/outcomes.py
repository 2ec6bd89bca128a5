"""A synthetic *outcome* history: what ``cx.enriched`` would hold after weeks of traffic.

Used by ``cxstream risk fit --synthetic`` and the risk tests. Records are already scored (the
scores a model would give), so the history can be weeks long without running the model. The
process, per customer and simulated day:

* a hidden frustration ``f`` in [0, 1] (Beta(1.2, 3) at the start, a small random walk after,
  +0.15 after a contact whose question waited more than 8 h for its reply);
* a contact (a chat of 1-3 customer messages) with probability ``0.04 + 0.3 f``; each message
  is negative with probability ``0.15 + 0.7 f``, asks to cancel with ``0.4 f²``, complains
  with ``0.3 f``, is urgent with ``0.05 + 0.3 f``; the agent replies after 5 min or, with
  probability ``0.3 f``, after 9 h;
* churn (a ``Subscription Cancelled`` track event, then silence) with daily hazard
  ``0.0005 + 0.02 f·(negative messages in the last 7 days, at most 3)/3 + 0.04·(asked to cancel
  in the last 7 days)``;
* ``Order Completed`` with daily probability ``0.03 (1 - f)``.

The risk signals are therefore *planted*: a model that finds them shows that features, labels,
time split and fit work end to end; its AUC is not evidence about real customers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.contracts.records import Enriched, Identifiers, SourceRef
from pipeline.contracts.scores import (
    IntentScore,
    Provenance,
    Scores,
    SentimentScore,
    UrgencyScore,
)

DAY = timedelta(days=1)
END = datetime(2026, 11, 30, tzinfo=UTC)


@dataclass
class _Customer:
    key: str
    frustration: float
    start: datetime
    negatives: list[datetime] = field(default_factory=list)
    cancel_asks: list[datetime] = field(default_factory=list)
    churned: bool = False


@dataclass
class _Writer:
    rng: random.Random
    records: list[Enriched] = field(default_factory=list)

    def add(
        self,
        c: _Customer,
        at: datetime,
        author: str,
        conversation: str | None,
        **kw: Any,
    ) -> None:
        n = len(self.records)
        self.records.append(_enriched(f"syn_{n:08d}", c.key, at, author, conversation, **kw))


def _enriched(
    iid: str,
    key: str,
    at: datetime,
    author: str,
    conversation: str | None,
    *,
    text: str | None = None,
    negative: float = 0.1,
    intent: str = "other",
    urgency: float = 0.2,
    event_name: str | None = None,
) -> Enriched:
    scores = ai = None
    if text is not None:
        positive = max(0.0, 0.8 - negative) * 0.6
        probs = {
            "negative": negative,
            "neutral": round(1 - negative - positive, 4),
            "positive": round(positive, 4),
        }
        level = "high" if urgency >= 0.6 else "normal"
        scores = Scores(
            sentiment=SentimentScore(label=max(probs, key=probs.__getitem__), probabilities=probs),
            intent=IntentScore(label=intent, confidence=0.85),
            urgency=UrgencyScore(score=urgency, level=level, probabilities={level: 1.0}),
        )
        ai = Provenance(
            model="synthetic",
            version="0",
            sha256="0" * 64,
            thresholds={},
            scored_at=at,
            reasons={},
        )
    channel = "web" if event_name else "chat"
    return Enriched(
        interaction_id=iid,
        source=SourceRef(topic=f"cx.raw.{channel}", partition=0, offset=0),
        channel=channel,
        event_type="track" if event_name else "message",
        event_name=event_name,
        customer_key=key,
        identifiers=Identifiers(customer_id=key),
        occurred_at=at,
        received_at=at,
        author_role=author,
        text=text,
        conversation_id=conversation,
        scored=text is not None,
        scores=scores,
        ai=ai,
    )


def _contact(w: _Writer, c: _Customer, at: datetime, n: int) -> None:
    """One chat: 1-3 customer messages, each answered (late with probability 0.3 f)."""
    rng, f = w.rng, c.frustration
    conversation = f"{c.key}-c{n}"
    for turn in range(rng.randint(1, 3)):
        negative = rng.random() < 0.15 + 0.7 * f
        r = rng.random()
        intent = (
            "cancellation"
            if r < 0.4 * f * f
            else "complaint"
            if r < 0.4 * f * f + 0.3 * f
            else rng.choice(("billing", "delivery", "other"))
        )
        urgency = 0.75 if rng.random() < 0.05 + 0.3 * f else 0.2
        w.add(
            c,
            at,
            "customer",
            conversation,
            text=f"message {turn}",
            negative=0.8 if negative else 0.1,
            intent=intent,
            urgency=urgency,
        )
        if negative:
            c.negatives.append(at)
        if intent == "cancellation":
            c.cancel_asks.append(at)
        late = rng.random() < 0.3 * f
        at += timedelta(hours=9) if late else timedelta(minutes=5)
        w.add(c, at, "agent", conversation, text="reply", negative=0.0)
        if late:
            c.frustration = min(1.0, c.frustration + 0.15)
        at += timedelta(minutes=2)


def _day(w: _Writer, c: _Customer, day: datetime, n: int) -> None:
    rng = w.rng
    f = c.frustration
    at = day + timedelta(minutes=rng.randint(0, 23 * 60))
    if rng.random() < 0.04 + 0.3 * f:
        _contact(w, c, at, n)
    if rng.random() < 0.03 * (1 - f):
        w.add(
            c,
            day + timedelta(hours=23, minutes=30),
            "customer",
            None,
            event_name="Order Completed",
        )
    week = day + DAY - timedelta(days=7)
    negatives = min(3, sum(t >= week for t in c.negatives))
    asked = any(t >= week for t in c.cancel_asks)
    hazard = 0.0005 + 0.02 * f * negatives / 3 + 0.04 * asked
    if rng.random() < hazard:
        c.churned = True
        w.add(
            c,
            day + timedelta(hours=23, minutes=50),
            "customer",
            None,
            event_name="Subscription Cancelled",
        )
    c.frustration = min(1.0, max(0.0, c.frustration + rng.gauss(0, 0.02)))


def outcome_history(
    customers: int, days: int, seed: int = 7, end: datetime = END
) -> list[Enriched]:
    """``days`` of scored chats and outcome events of ``customers`` people (module docstring)."""
    w = _Writer(random.Random(seed))
    start = end - days * DAY
    people = [
        _Customer(
            f"cus_syn{i:05d}",
            w.rng.betavariate(1.2, 3.0),
            start + timedelta(days=w.rng.randint(0, 6)),
        )
        for i in range(customers)
    ]
    for d in range(days):
        day = start + d * DAY
        for n, c in enumerate(people):
            if not c.churned and day >= c.start:
                _day(w, c, day, d * customers + n)
    return w.records
