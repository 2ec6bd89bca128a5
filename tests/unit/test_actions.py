"""Next-best-actions: ranked, each with a reason, from playbook, risk, offer, intents, templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.contracts.scores import CustomIntentScore
from pipeline.offers.policy import Offer, OfferPolicy
from pipeline.replies.library import TemplatesFileError, load_templates
from pipeline.tools.tail import render_alert
from pipeline.workflow.config import load_rules
from pipeline.workflow.engine import Workflow
from tests.unit.workflow_factory import at, enriched

RULES = load_rules()
POLICY = OfferPolicy(
    version="t",
    daily_budget=100,
    cooldown_days=30,
    offers=[Offer(name="discount", text="20% off", cost=1, min_churn_band="medium")],
)


def test_a_churn_alert_ranks_playbook_offer_risk_and_template_with_reasons() -> None:
    workflow = Workflow(RULES, offers=POLICY, templates=load_templates())
    message = enriched("cancel it now", negative=0.9, intent="cancellation")
    churn = next(
        a for a in workflow.on_event(message, None, None).alerts if a.type == "churn_signal"
    )
    actions = churn.actions
    assert [a.confidence for a in actions] == sorted((a.confidence for a in actions), reverse=True)
    by_start = {a.action.split(" ")[0]: a for a in actions}
    assert churn.next_action in [a.action for a in actions]  # the playbook's step is kept
    assert by_start["offer"].reason == churn.offer.reason  # type: ignore[union-attr]
    template = by_start["reply"]
    assert "retention_ack" in template.action and "{offer}" in template.action
    assert template.requires_human and "intent cancellation" in template.reason
    assert all(a.reason for a in actions)
    shown = render_alert(churn.model_dump(mode="json"))
    assert f"action: {actions[0].action} (why: {actions[0].reason}" in shown
    assert "risk:   churn_risk" in shown


def test_a_custom_intent_with_a_queue_suggests_routing_there() -> None:
    message = enriched(
        "I am furious, cancel", negative=0.9, intent="cancellation", urgency="critical"
    )
    assert message.scores is not None and message.scores.intent is not None
    message.scores.intent.custom = CustomIntentScore(
        label="loyalty_points",
        confidence=0.9,
        reason="0.90 ≥ 0.60",
        pack="retail@1",
        queue="loyalty",
    )
    alerts = Workflow(RULES).on_event(message, None, None).alerts
    routed = [a for alert in alerts for a in alert.actions if a.action == "route to loyalty"]
    assert routed and "custom intent loyalty_points (retail@1)" in routed[0].reason


def test_a_timer_alert_has_the_playbook_action() -> None:
    workflow = Workflow(RULES)
    first = workflow.on_event(enriched("where is my parcel?", intent="delivery"), None, None)
    tick = workflow.on_tick(first.customer, {}, at(24 * 60))
    sla = [a for a in tick.alerts if a.type == "waiting_sla"]
    assert sla and sla[0].next_action in [a.action for a in sla[0].actions]


def test_a_bad_templates_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "version: '1'\ntemplates:\n  - name: x\n    intents: []\n    text: hi\n", "utf-8"
    )
    with pytest.raises(TemplatesFileError, match=r"templates\.yaml: templates\.0\.intents"):
        load_templates(path)
