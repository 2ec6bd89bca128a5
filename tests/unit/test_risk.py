"""Risk scores: the transparent model, its features and how the workflow attaches them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipeline.risk.features import FEATURE_NAMES, features_of
from pipeline.risk.model import PRIOR, Coefficients, load_model
from pipeline.workflow.config import load_rules
from pipeline.workflow.engine import Workflow
from pipeline.workflow.state import CustomerState, profile_of
from tests.unit.workflow_factory import enriched

RULES = load_rules()


def _features(**values: float) -> dict[str, float]:
    return {name: values.get(name, 0.0) for name in FEATURE_NAMES}


def test_the_probability_is_the_logistic_of_intercept_plus_the_drivers() -> None:
    model = Coefficients(intercept=-2.0, weights={"intent_cancellation": 1.5, "vip": -0.5})
    score = model.score(_features(intent_cancellation=1.0, vip=1.0))
    assert [d.feature for d in score.drivers] == ["intent_cancellation", "vip"]
    assert [d.contribution for d in score.drivers] == [1.5, -0.5]
    assert score.probability == round(1 / (1 + math.exp(-(-2.0 + 1.5 - 0.5))), 4)
    assert score.band == "low"
    assert "asks to cancel (+1.50)" in score.drivers[0].text


def test_a_feature_at_zero_is_not_a_driver_and_bands_follow_the_cut_points() -> None:
    model = Coefficients(intercept=-2.0, weights={"urgency": 4.0, "vip": 1.0})
    high = model.score(_features(urgency=1.0))  # logit 2: p 0.88
    assert [d.feature for d in high.drivers] == ["urgency"]
    assert high.band == "high"
    assert model.score(_features(urgency=0.3)).band == "medium"  # logit -0.8: p 0.31
    assert model.score(_features()).band == "low"  # logit -2: p 0.12


def test_a_coefficients_file_with_an_unknown_feature_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "risk_model.json"
    path.write_text(PRIOR.model_dump_json(), "utf-8")
    assert load_model(path) == PRIOR
    bad = PRIOR.model_dump(mode="json")
    bad["churn"]["weights"]["shoe_size"] = 1.0
    path.write_text(json.dumps(bad), "utf-8")
    with pytest.raises(ValueError, match=r"risk_model\.json: churn: .*'shoe_size'"):
        load_model(path)
    assert load_model(None) is PRIOR


def test_a_negative_cancellation_scores_higher_churn_than_praise_with_its_drivers() -> None:
    angry = Workflow(RULES).on_event(
        enriched("cancel it", negative=0.9, intent="cancellation"), None, None
    )
    happy = Workflow(RULES).on_event(
        enriched("thanks", positive=0.9, negative=0.0, intent="praise"), None, None
    )
    assert angry.profile is not None and happy.profile is not None
    risk, calm = angry.profile.risk, happy.profile.risk
    assert risk is not None and calm is not None
    assert risk.churn_risk.probability > calm.churn_risk.probability
    assert risk.model_version == "prior-1"
    assert "intent_cancellation" in [d.feature for d in risk.churn_risk.drivers]
    assert angry.enriched.ai is not None and angry.enriched.ai.risk_model == "prior-1"


def test_alerts_carry_the_risk_and_an_agent_message_does_not_reassess() -> None:
    workflow = Workflow(RULES)
    first = workflow.on_event(
        enriched("cancel now", negative=0.95, intent="cancellation", urgency="critical"),
        None,
        None,
    )
    assert first.alerts, "a critical negative cancellation opens alerts"
    assert all(a.risk == first.customer.risk for a in first.alerts)
    stored = next(iter(first.customer.open_alerts.values()))
    assert stored.risk is None  # the state keeps alerts without it (byte bound)
    reply = workflow.on_event(
        enriched("sorry", author="agent", minutes=1), first.customer, first.conversation
    )
    assert reply.customer.risk == first.customer.risk


def test_a_purchase_event_sets_recent_purchase() -> None:
    workflow = Workflow(RULES)
    order = enriched(
        None,
        channel="web",
        conversation=None,
        event_type="track",
        minutes=0,
        interaction_id="order-1",
    ).model_copy(update={"event_name": "Order Completed"})
    state: CustomerState | None = workflow.on_event(order, None, None).customer
    message = enriched("where is it", minutes=60)
    outcome = workflow.on_event(message, state, None)
    assert outcome.profile is not None
    assert outcome.profile.last_purchase_at == order.occurred_at
    assert features_of(profile_of(outcome.customer), message)["recent_purchase"] == 1.0
    later = enriched("still nothing", minutes=31 * 24 * 60, conversation="conv-2")
    again = workflow.on_event(later, outcome.customer, None)
    assert again.profile is not None
    assert features_of(again.profile, later)["recent_purchase"] == 0.0
