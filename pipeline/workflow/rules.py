"""Alert rules: pure functions of (state, enriched event, rules) → signals to open or clear.

Each rule looks at the state *after* the event was folded in (``state.record_event``) and says
either "this situation exists" (a ``Signal``) or "this situation is over" (a ``Clear``). The
lifecycle (``lifecycle.py``) turns signals into opened/updated/resolved alerts with cooldowns
and rate limits; rules never think about duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.contracts.records import Enriched
from pipeline.contracts.workflow import AlertType, Evidence, Severity
from pipeline.workflow.config import URGENCY_LEVELS, WorkflowRules
from pipeline.workflow.state import (
    CONVERSATION_IDLE,
    ConversationState,
    CustomerState,
    conversation_entity,
    conversation_of,
    customer_entity,
    evidence_of,
    negative_probability,
    sentiment_value,
)


@dataclass(frozen=True)
class Signal:
    """A situation that warrants an alert (opened, or updated if already open)."""

    type: AlertType
    entity: str
    severity: Severity
    confidence: float
    reasons: list[str]
    evidence: list[Evidence]
    trigger: str = field(default="", compare=False)


@dataclass(frozen=True)
class Clear:
    """A situation that is over: its open alert (if any) resolves."""

    type: AlertType
    entity: str
    reason: str


@dataclass(frozen=True)
class RuleInput:
    """What a rule sees: the event and the state after it."""

    event: Enriched
    customer: CustomerState
    conversation: ConversationState | None
    rules: WorkflowRules


Rule = Callable[[RuleInput], list[Signal | Clear]]


def _level_at_least(level: str | None, minimum: str) -> bool:
    if level not in URGENCY_LEVELS:
        return False
    return URGENCY_LEVELS.index(level) >= URGENCY_LEVELS.index(minimum)


def _customer_message(x: RuleInput) -> bool:
    return x.event.author_role == "customer" and x.event.scored and x.event.scores is not None


def urgent_message(x: RuleInput) -> list[Signal | Clear]:
    """A customer message at or above the configured urgency level; an agent reply clears it."""
    cfg = x.rules.alerts.urgent_message
    if not cfg.enabled:
        return []
    conv = conversation_of(x.event)
    entity = conversation_entity(x.customer.customer_key, conv)
    if x.event.author_role == "agent":
        return [Clear("urgent_message", entity, "an agent replied in the conversation")]
    if not _customer_message(x) or x.event.scores is None or x.event.scores.urgency is None:
        return []
    urgency = x.event.scores.urgency
    if not _level_at_least(urgency.level, cfg.min_level):
        return []
    reason = f"urgency {urgency.score:.2f} ({urgency.level}) ≥ {cfg.min_level}"
    return [
        Signal(
            "urgent_message",
            entity,
            cfg.severity,
            round(urgency.probabilities.get(urgency.level, urgency.score), 4),
            [reason],
            [evidence_of(x.event, reason)],
            x.event.interaction_id,
        )
    ]


def negative_streak(x: RuleInput) -> list[Signal | Clear]:
    """``length`` negative customer messages in a row in one conversation."""
    cfg = x.rules.alerts.negative_streak
    if not cfg.enabled or x.conversation is None or not _customer_message(x):
        return []
    entity = conversation_entity(x.customer.customer_key, x.conversation.conversation)
    run = x.conversation.negative_run
    if not run or run[-1].interaction_id != x.event.interaction_id:
        return [Clear("negative_streak", entity, "a message that is not negative ended the streak")]
    if len(run) < cfg.length:
        return []
    reason = (
        f"{len(run)} negative messages in a row in conversation {x.conversation.conversation} "
        f"(P(negative) ≥ {cfg.min_negative:.2f} each)"
    )
    # P(pos) - P(neg) of -1 … 0 maps to 1 … 0.5: how clearly negative the run is on average.
    confidence = sum((1 - (e.sentiment_value or 0.0)) / 2 for e in run) / len(run)
    return [
        Signal(
            "negative_streak",
            entity,
            cfg.severity,
            round(max(0.0, min(1.0, confidence)), 4),
            [reason],
            list(run),
            run[0].interaction_id,
        )
    ]


def sentiment_drop(x: RuleInput) -> list[Signal | Clear]:
    """Sentiment falls ``drop`` below the customer's mean over earlier messages."""
    cfg = x.rules.alerts.sentiment_drop
    if not cfg.enabled or not _customer_message(x):
        return []
    value = sentiment_value(x.event)
    if value is None:
        return []
    entity = customer_entity(x.customer.customer_key)
    horizon = x.event.occurred_at - timedelta(hours=cfg.baseline_window_h)
    earlier = [
        p
        for p in x.customer.sentiment
        if p.interaction_id != x.event.interaction_id and horizon <= p.at <= x.event.occurred_at
    ]
    if len(earlier) < cfg.baseline_messages:
        return []
    mean = sum(p.value for p in earlier) / len(earlier)
    # Values have 4 decimals; rounding the gap keeps a drop of exactly ``drop`` a drop
    # (in binary floating point 0.1 - 0.8 is -0.7000000000000001, just short of -0.7).
    gap = round(mean - value, 9)
    if gap < cfg.drop:
        if value >= mean:
            return [Clear("sentiment_drop", entity, f"sentiment {value:+.2f} back at its mean")]
        return []
    reason = (
        f"sentiment {value:+.2f} is {gap:.2f} below the mean {mean:+.2f} of the "
        f"{len(earlier)} earlier messages (drop ≥ {cfg.drop:.2f})"
    )
    confidence = min(1.0, gap / (cfg.drop * 1.25))
    return [
        Signal(
            "sentiment_drop",
            entity,
            cfg.severity,
            round(confidence, 4),
            [reason],
            [evidence_of(x.event, reason)],
            x.event.interaction_id,
        )
    ]


def repeat_contact(x: RuleInput) -> list[Signal | Clear]:
    """``contacts`` distinct inbound contacts over ``channels`` channels inside the window."""
    cfg = x.rules.alerts.repeat_contact
    if not cfg.enabled or x.event.author_role != "customer":
        return []
    start = x.event.occurred_at - timedelta(hours=cfg.window_h)
    recent = [c for c in x.customer.contacts if start <= c.at <= x.event.occurred_at]
    channels = sorted({c.channel for c in recent})
    if len(recent) < cfg.contacts or len(channels) < cfg.channels:
        return []
    if not any(c.conversation == conversation_of(x.event) for c in recent):
        return []
    reason = (
        f"{len(recent)} contacts in {cfg.window_h:g} h over {len(channels)} channels "
        f"({', '.join(channels)}): the customer keeps trying"
    )
    evidence = [
        Evidence(
            interaction_id=c.interaction_id,
            channel=c.channel,
            occurred_at=c.at,
            conversation=c.conversation,
            note="contact",
        )
        for c in recent
    ]
    return [
        Signal(
            "repeat_contact",
            customer_entity(x.customer.customer_key),
            cfg.severity,
            1.0,
            [reason],
            evidence,
            recent[0].interaction_id,
        )
    ]


def churn_signal(x: RuleInput) -> list[Signal | Clear]:
    """A cancellation intent, said negatively."""
    cfg = x.rules.alerts.churn_signal
    if not cfg.enabled or not _customer_message(x) or x.event.scores is None:
        return []
    intent = x.event.scores.intent
    negative = negative_probability(x.event)
    if intent is None or intent.label not in cfg.intents:
        return []
    if intent.confidence < cfg.min_intent_confidence or negative < cfg.min_negative:
        return []
    reason = (
        f"intent {intent.label} {intent.confidence:.2f} ≥ {cfg.min_intent_confidence:.2f} "
        f"with P(negative) {negative:.2f} ≥ {cfg.min_negative:.2f}"
    )
    return [
        Signal(
            "churn_signal",
            customer_entity(x.customer.customer_key),
            cfg.severity,
            round(min(intent.confidence, negative), 4),
            [reason],
            [evidence_of(x.event, reason)],
            x.event.interaction_id,
        )
    ]


def vip_at_risk(x: RuleInput) -> list[Signal | Clear]:
    """A VIP-tier customer writes negatively or urgently."""
    cfg = x.rules.alerts.vip_at_risk
    if not cfg.enabled or not _customer_message(x) or x.event.scores is None:
        return []
    tiers = {t.lower() for t in cfg.tiers}
    if not (x.customer.vip or (x.customer.tier or "") in tiers):
        return []
    negative = negative_probability(x.event)
    urgency = x.event.scores.urgency
    urgent = urgency is not None and _level_at_least(urgency.level, cfg.min_urgency)
    if negative < cfg.min_negative and not urgent:
        return []
    why = []
    if negative >= cfg.min_negative:
        why.append(f"P(negative) {negative:.2f} ≥ {cfg.min_negative:.2f}")
    if urgent and urgency is not None:
        why.append(f"urgency {urgency.level} ≥ {cfg.min_urgency}")
    reason = f"tier {x.customer.tier or 'vip'} customer: " + " and ".join(why)
    confidence = max(negative, urgency.score if urgent and urgency is not None else 0.0)
    return [
        Signal(
            "vip_at_risk",
            customer_entity(x.customer.customer_key),
            cfg.severity,
            round(confidence, 4),
            [reason],
            [evidence_of(x.event, reason)],
            x.event.interaction_id,
        )
    ]


def waiting_sla_cleared(x: RuleInput) -> list[Signal | Clear]:
    """An agent reply ends the wait of its conversation."""
    if x.event.author_role != "agent" or x.conversation is None:
        return []
    entity = conversation_entity(x.customer.customer_key, x.conversation.conversation)
    return [Clear("waiting_sla", entity, "an agent replied")]


EVENT_RULES: tuple[Rule, ...] = (
    urgent_message,
    negative_streak,
    sentiment_drop,
    repeat_contact,
    churn_signal,
    vip_at_risk,
    waiting_sla_cleared,
)


def evaluate(x: RuleInput) -> list[Signal | Clear]:
    """Every event rule's outcome for one interaction, in rule order."""
    out: list[Signal | Clear] = []
    for rule in EVENT_RULES:
        out.extend(rule(x))
    return out


def waiting_sla(customer: CustomerState, now: datetime, rules: WorkflowRules) -> list[Signal]:
    """Timer rule: customer messages waiting longer than their channel's SLA at ``now``."""
    cfg = rules.alerts.waiting_sla
    if not cfg.enabled:
        return []
    out = []
    for wait in sorted(customer.waiting.values(), key=lambda w: w.since):
        sla = cfg.sla_s.get(wait.channel)
        if sla is None:
            continue
        waited = (now - wait.since).total_seconds()
        if waited < sla:
            continue
        reason = (
            f"{wait.channel} message waiting {waited / 60:.1f} min with no agent reply "
            f"(SLA {sla / 60:g} min)"
        )
        out.append(
            Signal(
                "waiting_sla",
                conversation_entity(customer.customer_key, wait.conversation),
                cfg.severity,
                1.0,
                [reason],
                [
                    Evidence(
                        interaction_id=wait.interaction_id,
                        channel=wait.channel,
                        occurred_at=wait.asked_at,
                        conversation=wait.conversation,
                        note=reason,
                    )
                ],
                wait.interaction_id,
            )
        )
    return out


def next_deadline(customer: CustomerState, rules: WorkflowRules) -> datetime | None:
    """When the timer must look at this customer again (SLA breach or alert expiry)."""
    times = []
    sla = rules.alerts.waiting_sla.sla_s
    alerted = {a.entity for a in customer.open_alerts.values() if a.type == "waiting_sla"}
    if rules.alerts.waiting_sla.enabled:
        times += [
            w.since + timedelta(seconds=sla[w.channel])
            for w in customer.waiting.values()
            if w.channel in sla
            and conversation_entity(customer.customer_key, w.conversation) not in alerted
        ]
    expire = timedelta(seconds=rules.lifecycle.expire_after_s)
    times += [
        a.updated_at + expire
        for a in customer.open_alerts.values()
        if not (a.type == "waiting_sla" and a.entity.split("/", 1)[-1] in customer.waiting)
    ]
    times += [
        last + CONVERSATION_IDLE
        for name, last in customer.conversations.items()
        if name not in customer.waiting
    ]
    return min(times) if times else None
