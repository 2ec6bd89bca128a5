"""What the workflow stage writes: routing on ``cx.enriched``, ``cx.alerts``, ``cx.profiles``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
    updated_at: datetime
