"""Churn and escalation risk: the scores, their drivers and the model that made them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

RiskBand = Literal["low", "medium", "high"]


class RiskDriver(BaseModel):
    """One feature's share of a score: its value and what it added to the log-odds."""

    feature: str
    value: float
    contribution: float = Field(description="Weight * value, in log-odds (+ raises the risk).")
    text: str = Field(description="The driver in words, with its numbers.")


class RiskScore(BaseModel):
    """One risk: a probability, its band and every non-zero driver, largest first."""

    probability: float = Field(ge=0, le=1)
    band: RiskBand
    drivers: list[RiskDriver] = Field(default_factory=list)


class RiskAssessment(BaseModel):
    """Both risks of one customer as of one customer message (``risk`` on profiles, alerts)."""

    churn_risk: RiskScore = Field(description="The customer leaves within the model's horizon.")
    escalation_risk: RiskScore = Field(
        description="The customer's contact escalates (an urgent, streak or churn alert) soon."
    )
    model_version: str = Field(description="The risk model (coefficients file) that scored.")
    assessed_at: datetime = Field(description="Event time of the message assessed.")
    interaction_id: str


CHURN_EVENTS = frozenset({"Subscription Cancelled", "Account Closed"})
"""Segment ``track`` event names on ``cx.raw.web`` that mean the customer left."""
RETENTION_EVENTS = frozenset({"Order Completed", "Subscription Renewed"})
"""Segment ``track`` event names that mean the customer bought or stayed (a risk feature)."""
