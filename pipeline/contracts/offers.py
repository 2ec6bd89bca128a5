"""A retention offer suggested on a churn alert (``offer`` on ``cx.alerts``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OfferSuggestion(BaseModel):
    """The best eligible offer of the policy for one customer, and why."""

    offer: str = Field(description="The offer's name in the policy file.")
    text: str = Field(description="What the agent offers, in words.")
    cost: float = Field(ge=0, description="What it costs against the daily budget.")
    requires_human: bool = Field(
        description="True: an agent decides whether to make it (the policy says so, or the "
        "customer is high-stakes or opted out of automated decisions)."
    )
    reason: str = Field(description="Why this offer: eligibility, budget and cooldown in words.")
    policy_version: str
