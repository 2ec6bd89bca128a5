"""Choose the best eligible offer for one customer under the day's budget and the cooldown.

Pure, over plain values: the workflow stage keeps the customer's last offer in its state and
each partition's spend of the day in the ``offer_budget`` table, and passes both in. The daily
budget is split equally between the partitions of ``cx.internal.scored`` (each partition is
decided by one worker at a time, so each share is exact without coordination; the cost: one
partition's share may run out while another's is unused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from pipeline.contracts.offers import OfferSuggestion
from pipeline.contracts.risk import RiskScore
from pipeline.offers.policy import BANDS, Offer, OfferPolicy


class OfferBudget(BaseModel):
    """What one partition spent on one UTC day (event time): the ``offer_budget`` value."""

    day: date
    spent: float = 0.0
    offers: int = 0


@dataclass(frozen=True)
class OfferFacts:
    """What eligibility reads about the customer, as of the message."""

    churn: RiskScore
    tier: str | None
    intent: str | None
    recent_purchase: bool
    high_stakes: tuple[str, ...]
    opted_out: bool
    last_offer_at: datetime | None


@dataclass(frozen=True)
class OfferChoice:
    """The suggestion (or None) and the budget after it; ``why_not`` when there is none."""

    suggestion: OfferSuggestion | None
    budget: OfferBudget
    why_not: str = ""


def _ineligible(offer: Offer, facts: OfferFacts) -> str | None:
    """Why ``offer`` does not apply, or None."""
    band = facts.churn.band
    if BANDS.index(band) < BANDS.index(offer.min_churn_band):
        return f"churn risk {band} < {offer.min_churn_band}"
    if offer.tiers and (facts.tier or "") not in offer.tiers:
        return f"tier {facts.tier or 'none'} not in {offer.tiers}"
    if offer.intents and (facts.intent or "") not in offer.intents:
        return f"intent {facts.intent or 'none'} not in {offer.intents}"
    if offer.requires_recent_purchase and not facts.recent_purchase:
        return "no purchase in the last 30 days"
    return None


def choose_offer(
    policy: OfferPolicy,
    partitions: int,
    facts: OfferFacts,
    budget: OfferBudget | None,
    at: datetime,
) -> OfferChoice:
    """The first offer of the policy that is eligible and fits this partition's share of
    today's budget, unless the customer had an offer within the cooldown."""
    today = at.date()
    spent = budget if budget is not None and budget.day == today else OfferBudget(day=today)
    cooldown = timedelta(days=policy.cooldown_days)
    if facts.last_offer_at is not None and at - facts.last_offer_at < cooldown:
        days = (at - facts.last_offer_at).total_seconds() / 86400
        recent = f"an offer {days:.1f} days ago (one per {policy.cooldown_days:g} days)"
        return OfferChoice(None, spent, recent)
    share = policy.daily_budget / max(1, partitions)
    reasons: list[str] = []
    for offer in policy.offers:
        if (why := _ineligible(offer, facts)) is not None:
            reasons.append(f"{offer.name}: {why}")
            continue
        if spent.spent + offer.cost > share:
            reasons.append(
                f"{offer.name}: budget {spent.spent:.2f} + {offer.cost:.2f} > {share:.2f} "
                "(this partition's share today)"
            )
            continue
        return OfferChoice(_suggest(policy, offer, facts, spent, share), _spend(spent, offer))
    return OfferChoice(None, spent, "; ".join(reasons))


def _spend(budget: OfferBudget, offer: Offer) -> OfferBudget:
    return OfferBudget(
        day=budget.day, spent=round(budget.spent + offer.cost, 4), offers=budget.offers + 1
    )


def _suggest(
    policy: OfferPolicy, offer: Offer, facts: OfferFacts, spent: OfferBudget, share: float
) -> OfferSuggestion:
    human = []
    if offer.requires_human:
        human.append("the policy wants a person for this offer")
    if facts.high_stakes:
        human.append(f"high-stakes ({', '.join(facts.high_stakes)})")
    if facts.opted_out:
        human.append("the customer opted out of automated decisions")
    reason = (
        f"{offer.name}: churn risk {facts.churn.band} ({facts.churn.probability:.2f}) ≥ "
        f"{offer.min_churn_band}, tier {facts.tier or 'none'}, intent {facts.intent or 'none'}; "
        f"budget {spent.spent + offer.cost:.2f} of {share:.2f} today on this partition; "
        f"no offer in the last {policy.cooldown_days:g} days"
    )
    if human:
        reason += "; a person decides: " + ", ".join(human)
    return OfferSuggestion(
        offer=offer.name,
        text=offer.text,
        cost=offer.cost,
        requires_human=bool(human),
        reason=reason,
        policy_version=policy.label,
    )
