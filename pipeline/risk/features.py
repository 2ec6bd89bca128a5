"""Risk features of one customer as of one customer message, from the live profile only.

Everything here reads the profile *after* the message was folded in and the message itself:
both exist at the decision time, so nothing from the future can reach a feature (the replay in
``cxstream risk fit`` builds them the same way, and ``tests/unit/test_risk_fit.py`` checks that
cutting the history at a decision leaves its features unchanged). Values are capped so that one
extreme customer cannot dominate a weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from pipeline.contracts.records import Enriched
from pipeline.contracts.workflow import Profile

PURCHASE_WINDOW = timedelta(days=30)
MAX_WAIT_H = 72.0


@dataclass(frozen=True)
class Feature:
    """One feature: its name and how its value reads in words."""

    name: str
    words: Callable[[float], str]


def _count(what: str) -> Callable[[float], str]:
    return lambda v: f"{v:g} {what}"


def _flag(text: str) -> Callable[[float], str]:
    return lambda v: text if v else f"not: {text}"


FEATURES: tuple[Feature, ...] = (
    Feature("contacts_24h", _count("contacts in the last 24 h")),
    Feature("contacts_7d", _count("contacts in the last 7 days")),
    Feature("channels_7d", _count("channels used in the last 7 days")),
    Feature("repeat_contact", _flag("contacted again within 24 h")),
    Feature("sentiment_now", lambda v: f"this message's sentiment {v:+.2f}"),
    Feature("negative_share", lambda v: f"{v:.0%} of recent messages negative"),
    Feature("sentiment_drop", lambda v: f"sentiment {v:.2f} below the customer's mean"),
    Feature("urgency", lambda v: f"urgency {v:.2f}"),
    Feature("intent_cancellation", _flag("asks to cancel")),
    Feature("intent_complaint", _flag("complains")),
    Feature("intent_money", _flag("about billing or a refund")),
    Feature("open_alerts", _count("open alerts")),
    Feature("waiting_h", lambda v: f"waited {v:.1f} h for a reply"),
    Feature("vip", _flag("VIP or premium tier")),
    Feature("tenure_log_days", lambda v: f"customer for {math.expm1(v):.0f} days"),
    Feature("recent_purchase", _flag("purchased or renewed in the last 30 days")),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
_WORDS = {f.name: f.words for f in FEATURES}


def describe(name: str, value: float) -> str:
    """A feature's value in words."""
    return _WORDS[name](value)


def features_of(profile: Profile, message: Enriched) -> dict[str, float]:
    """The features of ``profile`` (state after ``message``) as of ``message.occurred_at``."""
    at = message.occurred_at
    s = message.scores
    day = sum(c.last_24h for c in profile.contacts)
    week = sum(c.last_7d for c in profile.contacts)
    trend = profile.sentiment_trend
    now = _sentiment(message)
    mean = profile.sentiment_mean if profile.sentiment_mean is not None else now
    intent = s.intent.label if s and s.intent else None
    waits = [(at - w.asked_at).total_seconds() / 3600 for w in profile.waiting]
    purchase = profile.last_purchase_at
    return {
        "contacts_24h": float(min(day, 10)),
        "contacts_7d": float(min(week, 20)),
        "channels_7d": float(sum(1 for c in profile.contacts if c.last_7d)),
        "repeat_contact": float(day >= 2),
        "sentiment_now": now,
        "negative_share": (
            round(sum(p.label == "negative" for p in trend) / len(trend), 4) if trend else 0.0
        ),
        "sentiment_drop": round(max(0.0, mean - now), 4),
        "urgency": s.urgency.score if s and s.urgency else 0.0,
        "intent_cancellation": float(intent == "cancellation"),
        "intent_complaint": float(intent == "complaint"),
        "intent_money": float(intent in ("billing", "refunds")),
        "open_alerts": float(min(len(profile.open_alerts), 5)),
        "waiting_h": round(min(max(waits, default=0.0), MAX_WAIT_H), 2),
        "vip": float(profile.vip),
        "tenure_log_days": round(math.log1p(max(0.0, (at - profile.first_seen).days)), 4),
        "recent_purchase": float(
            purchase is not None and timedelta(0) <= at - purchase <= PURCHASE_WINDOW
        ),
    }


def _sentiment(message: Enriched) -> float:
    if message.scores is None or message.scores.sentiment is None:
        return 0.0
    p = message.scores.sentiment.probabilities
    return round(p.get("positive", 0.0) - p.get("negative", 0.0), 4)
