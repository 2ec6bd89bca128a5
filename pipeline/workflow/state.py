"""Per-customer and per-conversation state, and how one interaction updates it (pure).

State lives in two Faust tables keyed by customer key (``customers``) and by
``<customer key>/<conversation>`` (``conversations``), both written by the workflow agent for
events of one customer-keyed partition, so they are co-partitioned with ``cx.interactions``.
Every list is bounded in length and in event time; conversations idle for a week are removed.

**Byte bound.** Both tables write one changelog record per key, so each value is bounded by
construction (pydantic's JSON: UTF-8, ≤ 4 bytes a character). Producer-supplied strings are
capped here: a conversation name is at most ``MAX_CONVERSATION_CHARS`` characters (longer ones
become a prefix + a hash, :func:`conversation_of`), a tier at most ``MAX_TIER_CHARS`` (a longer
one is ignored); ids are hashes and customer keys ≤ 27 characters. Counts: ``MAX_CONTACTS``
contacts, ``MAX_SENTIMENT`` points, ``MAX_SEEN`` ids, ``MAX_WAITING`` waits,
``MAX_CONVERSATIONS`` conversations, ``MAX_OPEN_ALERTS`` open alerts of ≤ ``max_evidence``
evidence items each, and the cooldown entries of the alerts closed within ``cooldown_s``.
With the bundled rules (``max_evidence`` 10, ``max_opened_per_window`` 4 per hour, cooldown
1 h), every field at its cap, every capped string at its longest in 4-byte characters and
generous lengths for the rule-made texts (reasons, routing reason, next action), a
``customers`` record is at most ``WORST_CUSTOMER_BYTES`` (measured 566,097: 32 alerts of
~10.5 KB make most of it, a risk assessment with every feature a driver ~4.4 KB) and a
``conversations`` record at most ``WORST_CONVERSATION_BYTES``
(measured 4,530); ``tests/unit/test_table_values.py`` builds both states and keeps these numbers
true. Both are under ``MAX_TABLE_VALUE_BYTES`` (900,000;
:mod:`pipeline.contracts.table_values`), which the agent also checks before each write (a
rules file with a large ``max_evidence`` could pass it: the state is then not written and the
previous state kept).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import RETENTION_EVENTS, RiskAssessment
from pipeline.contracts.workflow import (
    Alert,
    ContactCount,
    Evidence,
    OpenAlertRef,
    Profile,
    SentimentPoint,
    Waiting,
)
from pipeline.workflow.config import WorkflowRules

MAX_CONTACTS = 50
MAX_SENTIMENT = 20
MAX_SEEN = 64
MAX_WAITING = 20
MAX_CONVERSATIONS = 50
MAX_OPEN_ALERTS = 32
MAX_CONVERSATION_CHARS = 128
MAX_TIER_CHARS = 64
WORST_CUSTOMER_BYTES = 570_000
WORST_CONVERSATION_BYTES = 5_000
CONTACT_HORIZON = timedelta(days=7)
CONVERSATION_IDLE = timedelta(days=7)
PROFILE_TREND = 10
WAITING_CHANNELS = ("chat", "email")


class Contact(BaseModel):
    """One inbound customer contact: a conversation, call, email thread or survey."""

    at: datetime
    channel: str
    conversation: str
    interaction_id: str


class ConversationState(BaseModel):
    """One conversation of one customer."""

    customer_key: str
    conversation: str
    channel: str
    started_at: datetime
    last_at: datetime
    negative_run: list[Evidence] = Field(
        default_factory=list, description="Consecutive negative customer messages, latest last."
    )
    waiting: Waiting | None = Field(None, description="Oldest customer message with no reply.")
    last_reply_at: datetime | None = Field(None, description="Latest agent message (event time).")
    last_queue: str | None = None
    last_human_only: bool = Field(
        False,
        description="The last customer message was routed to a person only (high-stakes, or a "
        "language the model does not read): an SLA alert on it is for a person too.",
    )


class CustomerState(BaseModel):
    """Everything the rules need to know about one customer."""

    customer_key: str
    first_seen: datetime
    watermark: datetime = Field(description="Latest event time seen: windows prune against it.")
    last_contact_at: datetime | None = None
    last_channel: str | None = None
    interactions: int = 0
    contacts: list[Contact] = Field(default_factory=list)
    sentiment: list[SentimentPoint] = Field(default_factory=list)
    last_intent: str | None = None
    tier: str | None = None
    vip: bool = False
    opted_out: bool = False
    profiling: bool = Field(
        True, description="False: the customer refused profiling (traits consent.profiling)."
    )
    open_alerts: dict[str, Alert] = Field(default_factory=dict, description="alert_id → alert")
    closed: dict[str, datetime] = Field(
        default_factory=dict, description="'type|entity' → when its last alert closed (cooldown)"
    )
    opened_times: list[datetime] = Field(default_factory=list, description="Rate-limit window.")
    alerts_opened: int = 0
    alerts_suppressed: int = 0
    waiting: dict[str, Waiting] = Field(default_factory=dict, description="conversation → wait")
    seen: list[str] = Field(default_factory=list, description="Recent interaction ids.")
    conversations: dict[str, datetime] = Field(
        default_factory=dict, description="conversation → last activity (most recent kept)"
    )
    last_purchase_at: datetime | None = None
    last_offer_at: datetime | None = Field(None, description="Offer cooldown (event time).")
    risk: RiskAssessment | None = Field(None, description="As of the latest customer message.")
    updated_at: datetime

    @classmethod
    def new(cls, customer_key: str, at: datetime) -> CustomerState:
        """An empty state first seen at ``at``."""
        return cls(customer_key=customer_key, first_seen=at, watermark=at, updated_at=at)


def conversation_of(event: Enriched) -> str:
    """The conversation an interaction belongs to: chat conversation, email thread, call, …

    A name longer than ``MAX_CONVERSATION_CHARS`` becomes its first 100 characters, ``#`` and
    24 hex digits of its sha256: still one name per conversation, and a bounded state key.
    """
    if event.conversation_id:
        name = event.conversation_id
    elif event.thread_id:
        name = event.thread_id
    else:
        name = f"{event.channel}:{event.source.source_message_id or event.interaction_id}"
    return bounded_name(name)


def bounded_name(name: str) -> str:
    """``name`` itself, or a prefix and a hash of it when longer than MAX_CONVERSATION_CHARS."""
    if len(name) <= MAX_CONVERSATION_CHARS:
        return name
    digest = hashlib.sha256(name.encode(errors="surrogatepass")).hexdigest()[:24]
    return f"{name[:100]}#{digest}"


def conversation_entity(customer_key: str, conversation: str) -> str:
    return f"conversation:{customer_key}/{conversation}"


def customer_entity(customer_key: str) -> str:
    return f"customer:{customer_key}"


def sentiment_value(event: Enriched) -> float | None:
    """P(positive) - P(negative) of a scored interaction, or None."""
    if event.scores is None or event.scores.sentiment is None:
        return None
    p = event.scores.sentiment.probabilities
    return round(p.get("positive", 0.0) - p.get("negative", 0.0), 4)


def negative_probability(event: Enriched) -> float:
    if event.scores is None or event.scores.sentiment is None:
        return 0.0
    return event.scores.sentiment.probabilities.get("negative", 0.0)


def evidence_of(event: Enriched, note: str = "") -> Evidence:
    """The evidence item for one interaction."""
    s = event.scores
    return Evidence(
        interaction_id=event.interaction_id,
        channel=event.channel,
        occurred_at=event.occurred_at,
        conversation=conversation_of(event),
        sentiment=s.sentiment.label if s and s.sentiment else None,
        sentiment_value=sentiment_value(event),
        urgency=s.urgency.score if s and s.urgency else None,
        urgency_level=s.urgency.level if s and s.urgency else None,
        intent=s.intent.label if s and s.intent else None,
        note=note,
    )


def apply_traits(state: CustomerState, event: Enriched, rules: WorkflowRules) -> bool:
    """Tier, VIP, opt-out and profiling consent from ``identify`` traits; True if anything
    changed.

    Read: ``traits.tier`` (or ``traits.plan``), ``traits.vip`` (bool), an opt-out of
    automated decisions as ``traits.opt_out``/``traits.automated_decisions_opt_out`` true or
    ``traits.consent.automated_decisions`` false, and ``traits.consent.profiling`` (bool; false
    stops profiles and alerts, :func:`unprofiled`).
    """
    traits = event.attributes.get("traits")
    if not isinstance(traits, dict) or not traits:
        return False
    before = (state.tier, state.vip, state.opted_out, state.profiling)
    tier = traits.get("tier", traits.get("plan"))
    if isinstance(tier, str) and tier.strip() and len(tier.strip()) <= MAX_TIER_CHARS:
        state.tier = tier.strip().lower()
    vip_tiers = {t.lower() for t in rules.alerts.vip_at_risk.tiers}
    if isinstance(traits.get("vip"), bool):
        state.vip = traits["vip"]
    if state.tier in vip_tiers:
        state.vip = True
    consent = traits.get("consent")
    for flag in ("opt_out", "automated_decisions_opt_out"):
        if isinstance(traits.get(flag), bool):
            state.opted_out = traits[flag]
    if isinstance(consent, dict) and isinstance(consent.get("automated_decisions"), bool):
        state.opted_out = not consent["automated_decisions"]
    if isinstance(consent, dict) and isinstance(consent.get("profiling"), bool):
        state.profiling = consent["profiling"]
    return before != (state.tier, state.vip, state.opted_out, state.profiling)


def unprofiled(state: CustomerState, event: Enriched) -> CustomerState:
    """What is kept of a customer who refused profiling: routing traits (tier, VIP), consent
    flags and the recent interaction ids that keep a redelivery from counting twice; no
    contacts, sentiment, intents, conversations or alerts."""
    return CustomerState(
        customer_key=state.customer_key,
        first_seen=state.first_seen,
        watermark=max(state.watermark, event.occurred_at),
        updated_at=max(state.updated_at, event.occurred_at),
        tier=state.tier,
        vip=state.vip,
        opted_out=state.opted_out,
        profiling=False,
        seen=[*state.seen, event.interaction_id][-MAX_SEEN:],
    )


def record_event(
    state: CustomerState,
    conv: ConversationState | None,
    event: Enriched,
    rules: WorkflowRules,
) -> ConversationState | None:
    """Fold one interaction into the customer's and its conversation's state.

    Returns the conversation state (created for customer/agent messages with text), or None
    for events outside any conversation (page views, identify).
    """
    at = event.occurred_at
    state.watermark = max(state.watermark, at)
    state.updated_at = max(state.updated_at, at)
    state.interactions += 1
    state.seen = [*state.seen, event.interaction_id][-MAX_SEEN:]
    apply_traits(state, event, rules)
    if event.event_name in RETENTION_EVENTS:
        state.last_purchase_at = max(state.last_purchase_at or at, at)
    # A text the model cannot read is still a customer talking: contact, waiting and SLA count.
    unreadable = event.unscored_reason == UNSUPPORTED_LANGUAGE
    talks = event.scored or unreadable or event.channel in ("chat", "email", "voice", "survey")
    if not talks:
        return conv
    conversation = conversation_of(event)
    conv = _touch_conversation(state, conv, event, conversation)
    if event.author_role == "customer":
        _record_customer_message(state, conv, event, conversation, rules)
    elif event.author_role == "agent":
        conv.last_reply_at = max(conv.last_reply_at or at, at)
        if conv.waiting is not None and at >= conv.waiting.asked_at:
            conv.waiting = None
    _track_waiting(state, conv, conversation)
    prune(state, rules)
    return conv


def _touch_conversation(
    state: CustomerState, conv: ConversationState | None, event: Enriched, conversation: str
) -> ConversationState:
    """The event's conversation (created if new), recorded as the customer's latest; only the
    newest ``MAX_CONVERSATIONS`` are kept."""
    at = event.occurred_at
    if conv is None:
        conv = ConversationState(
            customer_key=state.customer_key,
            conversation=conversation,
            channel=event.channel,
            started_at=at,
            last_at=at,
        )
    conv.last_at = max(conv.last_at, at)
    state.conversations[conversation] = conv.last_at
    if len(state.conversations) > MAX_CONVERSATIONS:
        newest = sorted(state.conversations, key=state.conversations.__getitem__)
        state.conversations = {k: state.conversations[k] for k in newest[-MAX_CONVERSATIONS:]}
    return conv


def _record_customer_message(
    state: CustomerState,
    conv: ConversationState,
    event: Enriched,
    conversation: str,
    rules: WorkflowRules,
) -> None:
    """A customer message: contact, sentiment, intent, the negative run and whether the
    customer now waits for a reply."""
    at = event.occurred_at
    state.last_contact_at = max(state.last_contact_at or at, at)
    state.last_channel = event.channel
    if not any(c.conversation == conversation for c in state.contacts):
        contact = Contact(
            at=at,
            channel=event.channel,
            conversation=conversation,
            interaction_id=event.interaction_id,
        )
        state.contacts = [*state.contacts, contact][-MAX_CONTACTS:]
    _record_sentiment(state, event)
    if event.scores is not None and event.scores.intent is not None:
        state.last_intent = event.scores.intent.label
    if event.scored:
        negative = negative_probability(event) >= rules.alerts.negative_streak.min_negative
        conv.negative_run = (
            [*conv.negative_run, evidence_of(event)][-rules.alerts.negative_streak.length :]
            if negative
            else []
        )
    # Chat and email expect a written reply; a call is live and a survey expects none.
    # Event time decides, so a reply that overtook the question on another partition
    # still counts as its answer.
    answered = conv.last_reply_at is not None and conv.last_reply_at >= at
    if conv.waiting is None and event.channel in WAITING_CHANNELS and not answered:
        conv.waiting = Waiting(
            conversation=conversation,
            channel=event.channel,
            since=event.received_at,
            asked_at=at,
            interaction_id=event.interaction_id,
        )


def _record_sentiment(state: CustomerState, event: Enriched) -> None:
    """One point of the customer's sentiment trend (the newest ``MAX_SENTIMENT`` are kept)."""
    value = sentiment_value(event)
    if value is not None and event.scores is not None and event.scores.sentiment is not None:
        point = SentimentPoint(
            at=event.occurred_at,
            interaction_id=event.interaction_id,
            channel=event.channel,
            label=event.scores.sentiment.label,
            value=value,
        )
        state.sentiment = [*state.sentiment, point][-MAX_SENTIMENT:]


def _track_waiting(state: CustomerState, conv: ConversationState, conversation: str) -> None:
    """Mirror the conversation's waiting question in the customer's state; only the newest
    ``MAX_WAITING`` are kept."""
    if conv.waiting is None:
        state.waiting.pop(conversation, None)
    else:
        state.waiting[conversation] = conv.waiting
        if len(state.waiting) > MAX_WAITING:
            oldest = sorted(state.waiting, key=lambda k: state.waiting[k].since)
            for key in oldest[: len(state.waiting) - MAX_WAITING]:
                state.waiting.pop(key)


def prune(state: CustomerState, rules: WorkflowRules) -> None:
    """Drop what has left every window (against the event-time watermark)."""
    now = state.watermark
    state.contacts = [c for c in state.contacts if now - c.at <= CONTACT_HORIZON]
    horizon = timedelta(hours=rules.alerts.sentiment_drop.baseline_window_h)
    state.sentiment = [p for p in state.sentiment if now - p.at <= horizon]
    window = timedelta(seconds=rules.lifecycle.rate_window_s)
    state.opened_times = [t for t in state.opened_times if now - t < window]
    cooldown = timedelta(seconds=rules.lifecycle.cooldown_s)
    state.closed = {k: t for k, t in state.closed.items() if now - t < cooldown}


def profile_of(state: CustomerState) -> Profile:
    """The public profile (``cx.profiles``, ``GET /customers/{key}``) of one state."""
    now = state.watermark
    day, week = Counter[str](), Counter[str]()
    for contact in state.contacts:
        age = now - contact.at
        if age <= timedelta(days=1):
            day[contact.channel] += 1
        if age <= CONTACT_HORIZON:
            week[contact.channel] += 1
    values = [p.value for p in state.sentiment]
    return Profile(
        customer_key=state.customer_key,
        first_seen=state.first_seen,
        last_contact_at=state.last_contact_at,
        last_channel=state.last_channel,
        interactions=state.interactions,
        contacts=[
            ContactCount(channel=ch, last_24h=day[ch], last_7d=week[ch]) for ch in sorted(week)
        ],
        sentiment_trend=state.sentiment[-PROFILE_TREND:],
        sentiment_mean=round(sum(values) / len(values), 4) if values else None,
        last_intent=state.last_intent,
        tier=state.tier,
        vip=state.vip,
        opted_out=state.opted_out,
        open_alerts=[
            OpenAlertRef(
                alert_id=a.alert_id, type=a.type, severity=a.severity, opened_at=a.opened_at
            )
            for a in state.open_alerts.values()
        ],
        waiting=sorted(state.waiting.values(), key=lambda w: w.since),
        alerts_opened=state.alerts_opened,
        alerts_suppressed=state.alerts_suppressed,
        last_purchase_at=state.last_purchase_at,
        risk=state.risk,
        updated_at=state.updated_at,
    )
