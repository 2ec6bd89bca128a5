"""What the workflow stage writes: routing on ``cx.enriched``, ``cx.alerts``, ``cx.profiles``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.contracts.offers import OfferSuggestion
from pipeline.contracts.risk import RiskAssessment

Severity = Literal["low", "medium", "high", "critical"]
Priority = Literal["P1", "P2", "P3", "P4"]
UrgencyLevel = Literal["low", "normal", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3", "P4")

AlertType = Literal[
    "urgent_message",
    "negative_streak",
    "sentiment_drop",
    "repeat_contact",
    "churn_signal",
    "vip_at_risk",
    "waiting_sla",
    "emerging_issue",
]
AlertStatus = Literal["opened", "updated", "resolved", "expired"]


class Routing(BaseModel):
    """Where a case goes and how fast: from intent, urgency, sentiment and tier."""

    queue: str
    priority: Priority
    reason: str = Field(description="Which rows of the routing table decided, in words.")
    high_stakes: list[str] = Field(
        default_factory=list,
        description="legal_threat, financial_hardship, vulnerability, safety, account_closure",
    )
    human_only: bool = Field(description="True: a person must handle it; no automatic action.")
    rules_version: str = Field(description="Rules file version label and sha256 fingerprint.")


class Evidence(BaseModel):
    """One interaction behind an alert, with the scores that mattered."""

    interaction_id: str
    channel: str
    occurred_at: datetime
    conversation: str | None = None
    sentiment: str | None = None
    sentiment_value: float | None = Field(None, description="P(positive) - P(negative).")
    urgency: float | None = None
    urgency_level: str | None = None
    intent: str | None = None
    note: str = ""


class Action(BaseModel):
    """One next-best-action: what to do, why, how sure, and whether a person must decide."""

    action: str
    reason: str = Field(description="Where it comes from, with its numbers.")
    confidence: float = Field(ge=0, le=1)
    requires_human: bool


class Alert(BaseModel):
    """One situation; the payload of ``cx.alerts`` (keyed by customer key).

    ``alert_id`` is derived from the type, the entity and the interaction that opened it, so a
    replay or a redelivery updates the same alert and never opens a second one.
    """

    alert_id: str
    type: AlertType
    status: AlertStatus
    revision: int = Field(ge=1, description="1 when opened, +1 on every later change.")
    customer_key: str
    entity: str = Field(description="customer:<key> or conversation:<key>/<conversation>")
    severity: Severity
    confidence: float = Field(ge=0, le=1, description="How sure the scores behind it are.")
    reasons: list[str]
    evidence: list[Evidence]
    next_action: str = Field(description="The playbook's recommendation (intent x sentiment).")
    risk: RiskAssessment | None = Field(
        None,
        description="The customer's churn and escalation risk with their drivers, as of the "
        "latest scored customer message (docs/risk.md).",
    )
    offer: OfferSuggestion | None = Field(
        None,
        description="A retention offer suggested when a churn_signal or vip_at_risk alert "
        "opens (CXSTREAM_OFFER_POLICY; docs/risk.md).",
    )
    actions: list[Action] = Field(
        default_factory=list,
        description="Ranked next-best-actions (playbook, risk, offer, custom intent, approved "
        "reply template), highest confidence first; next_action stays the playbook's step.",
    )
    route: Routing
    requires_human: bool
    auto_action_allowed: bool
    control_reason: str = Field(description="Why a human is (or is not) required.")
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    close_reason: str | None = None
    rules_version: str


class ContactCount(BaseModel):
    channel: str
    last_24h: int
    last_7d: int


class SentimentPoint(BaseModel):
    at: datetime
    interaction_id: str
    channel: str
    label: str
    value: float = Field(description="P(positive) - P(negative), -1…1.")


class OpenAlertRef(BaseModel):
    alert_id: str
    type: AlertType
    severity: Severity
    opened_at: datetime


class Waiting(BaseModel):
    conversation: str
    channel: str
    since: datetime = Field(description="When the message reached the pipeline (SLA clock).")
    asked_at: datetime = Field(description="When the customer wrote it (event time).")
    interaction_id: str


class Profile(BaseModel):
    """The live customer profile; the payload of compacted ``cx.profiles``."""

    customer_key: str
    first_seen: datetime
    last_contact_at: datetime | None = None
    last_channel: str | None = None
    interactions: int = 0
    contacts: list[ContactCount] = Field(default_factory=list)
    sentiment_trend: list[SentimentPoint] = Field(
        default_factory=list, description="Latest scored customer messages, oldest first."
    )
    sentiment_mean: float | None = None
    last_intent: str | None = None
    tier: str | None = None
    vip: bool = False
    opted_out: bool = Field(False, description="Opted out of automated decisions (traits).")
    open_alerts: list[OpenAlertRef] = Field(default_factory=list)
    waiting: list[Waiting] = Field(default_factory=list)
    alerts_opened: int = 0
    alerts_suppressed: int = 0
    last_purchase_at: datetime | None = Field(
        None, description="Latest Order Completed / Subscription Renewed track event."
    )
    risk: RiskAssessment | None = Field(
        None, description="Churn and escalation risk with drivers (docs/risk.md)."
    )
    updated_at: datetime
