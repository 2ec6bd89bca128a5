"""Retention offers: the policy file, the choice under budget and cooldown, the workflow wiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import RiskBand, RiskScore
from pipeline.metrics import Metrics
from pipeline.offers.decide import OfferBudget, OfferFacts, choose_offer
from pipeline.offers.policy import Offer, OfferPolicy, OfferPolicyError, load_policy
from pipeline.workflow.config import load_rules
from pipeline.workflow.engine import Workflow
from pipeline.workflow.tables import Deadlines, WorkflowTables
from tests.unit.workflow_factory import enriched

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RULES = load_rules()
POLICY = OfferPolicy(
    version="t",
    daily_budget=8.0,
    cooldown_days=30,
    offers=[
        Offer(name="vip_call", text="a call", cost=5, min_churn_band="medium", tiers=["vip"]),
        Offer(
            name="discount", text="20% off", cost=2, min_churn_band="high", intents=["cancellation"]
        ),
        Offer(name="small", text="a voucher", cost=1, min_churn_band="medium"),
    ],
)


def facts(band: RiskBand = "high", **changes: object) -> OfferFacts:
    base: dict[str, object] = {
        "churn": RiskScore(probability={"low": 0.1, "medium": 0.4, "high": 0.8}[band], band=band),
        "tier": None,
        "intent": "cancellation",
        "recent_purchase": False,
        "high_stakes": (),
        "opted_out": False,
        "last_offer_at": None,
    }
    return OfferFacts(**{**base, **changes})  # type: ignore[arg-type]  # test-only overrides


def test_the_bundled_policy_loads_and_a_bad_field_is_named_with_the_file(tmp_path: Path) -> None:
    assert load_policy().offers
    path = tmp_path / "offers.yaml"
    path.write_text("version: '1'\ndaily_budget: -1\ncooldown_days: 30\noffers: []\n", "utf-8")
    with pytest.raises(OfferPolicyError, match=r"offers\.yaml: daily_budget: .*; offers: "):
        load_policy(path)


def test_the_first_eligible_offer_in_policy_order_is_chosen_with_its_reason() -> None:
    choice = choose_offer(POLICY, 1, facts(), None, AT)
    assert choice.suggestion is not None and choice.suggestion.offer == "discount"
    assert "churn risk high (0.80) ≥ high" in choice.suggestion.reason
    assert choice.budget == OfferBudget(day=AT.date(), spent=2.0, offers=1)
    vip = choose_offer(POLICY, 1, facts(tier="vip"), None, AT).suggestion
    assert vip is not None and vip.offer == "vip_call"
    low = choose_offer(POLICY, 1, facts("low"), None, AT)
    assert low.suggestion is None and "small: churn risk low < medium" in low.why_not


def test_each_partition_spends_its_share_of_the_day_and_the_next_day_starts_afresh() -> None:
    # 8 a day over 4 partitions: 2 each, one discount (cost 2) per partition per day
    first = choose_offer(POLICY, 4, facts(), None, AT)
    assert first.suggestion is not None
    second = choose_offer(POLICY, 4, facts(), first.budget, AT + timedelta(hours=1))
    assert (
        second.suggestion is None
        and "discount: budget 2.00 + 2.00 > 2.00 (this partition's share today)" in second.why_not
    )
    assert second.budget == first.budget
    tomorrow = choose_offer(POLICY, 4, facts(), first.budget, AT + timedelta(days=1))
    assert tomorrow.suggestion is not None and tomorrow.budget.spent == 2.0


def test_one_offer_per_customer_within_the_cooldown() -> None:
    recent = facts(last_offer_at=AT - timedelta(days=29))
    blocked = choose_offer(POLICY, 1, recent, None, AT)
    assert blocked.suggestion is None and "one per 30 days" in blocked.why_not
    assert choose_offer(
        POLICY, 1, facts(last_offer_at=AT - timedelta(days=30)), None, AT
    ).suggestion


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"high_stakes": ("legal_threat",)}, "high-stakes (legal_threat)"),
        ({"opted_out": True}, "opted out of automated decisions"),
    ],
)
def test_high_stakes_and_opted_out_customers_never_get_an_automatic_offer(
    changes: dict[str, object], words: str
) -> None:
    offer = choose_offer(POLICY, 1, facts(**changes), None, AT).suggestion
    assert offer is not None and offer.requires_human and words in offer.reason
    plain = choose_offer(POLICY, 1, facts(), None, AT).suggestion
    assert plain is not None and not plain.requires_human


def cancel(customer: str, minutes: float) -> Enriched:
    return enriched(
        "I want to cancel, this is awful",
        negative=0.9,
        intent="cancellation",
        customer_key=customer,
        minutes=minutes,
        conversation=f"{customer}-c",
    )


def test_budget_and_cooldown_survive_a_restart_through_the_tables() -> None:
    """The agent's tables as plain dicts: each call builds a new Workflow and WorkflowTables over
    the same mappings (what a restarted worker recovers from the changelogs)."""
    customers: dict[bytes, bytes] = {}
    conversations: dict[bytes, bytes] = {}
    budgets: dict[bytes, bytes] = {}

    def fresh() -> tuple[Workflow, WorkflowTables]:
        tables = WorkflowTables(customers, conversations, Deadlines(), Metrics(), budgets)
        return Workflow(RULES, offers=POLICY, partitions=4), tables

    def send(customer: str, minutes: float) -> tuple[list[str], list[str]]:
        workflow, tables = fresh()
        outcome = workflow.on_event(
            cancel(customer, minutes), tables.customer(customer), None, tables.budget(0)
        )
        tables.write_event_state(customer, f"{customer}/{customer}-c", outcome, 0)
        opened = [a.type for a in outcome.alerts if a.status == "opened"]
        return opened, [a.offer.offer for a in outcome.alerts if a.offer]

    def expire_alerts(customer: str, now: datetime) -> None:
        workflow, tables = fresh()
        state = tables.customer(customer)
        assert state is not None
        tables.write_tick_state(customer, workflow.on_tick(state, {}, now))

    day = 24 * 60
    assert send("cus_a", 0) == (["churn_signal"], ["discount"])
    assert send("cus_b", 1) == (["churn_signal"], [])  # partition 0's share (2) is spent today
    assert OfferBudget.model_validate_json(budgets[b"0"]).offers == 1
    expire_alerts("cus_a", AT + timedelta(days=2))
    # day 3: cus_a opens a new churn alert but had an offer 3 days ago; the budget is fresh
    assert send("cus_a", 3 * day) == (["churn_signal"], [])
    assert send("cus_c", 3 * day + 1) == (["churn_signal"], ["discount"])
