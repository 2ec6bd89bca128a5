"""Every alert rule of ``pipeline.workflow.rules``, at and around its thresholds.

The rules are driven the way the Faust agent drives them: ``Workflow.on_event`` for each
interaction with the customer's and the conversation's state from the previous call, and
``Workflow.on_tick`` for the timer. No Kafka, no model: scores come from ``enriched(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from pipeline.contracts.records import Enriched
from pipeline.contracts.workflow import Alert, Evidence, Waiting
from pipeline.workflow.config import (
    AlertRules,
    WorkflowRules,
    load_rules,
)
from pipeline.workflow.engine import EventOutcome, TickOutcome, Workflow
from pipeline.workflow.lifecycle import alert_id
from pipeline.workflow.rules import Signal, next_deadline, waiting_sla
from pipeline.workflow.state import (
    CONVERSATION_IDLE,
    ConversationState,
    CustomerState,
    conversation_of,
)
from tests.unit.workflow_factory import T0, at, enriched

RULES = load_rules()
HOUR = 60.0  # minutes
DAY = 24 * HOUR


def with_alerts(rules: WorkflowRules = RULES, **changes: dict[str, Any]) -> WorkflowRules:
    """A copy of ``rules`` with some fields of some alert rules changed (nested copies)."""
    alerts = rules.alerts
    updated = {
        name: getattr(alerts, name).model_copy(update=values) for name, values in changes.items()
    }
    return rules.model_copy(update={"alerts": alerts.model_copy(update=updated)})


@dataclass
class Journey:
    """One customer as the workflow agent sees them: state carried from call to call.

    Like the agent's tables, the customer state is kept by customer key and each
    conversation's state by conversation; both go through JSON between calls, as they would
    through a changelog topic, so nothing depends on sharing Python objects.
    """

    rules: WorkflowRules = RULES
    customer: CustomerState | None = None
    conversations: dict[str, ConversationState] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def workflow(self) -> Workflow:
        return Workflow(self.rules)

    def send(self, event: Enriched) -> EventOutcome:
        """One interaction through ``on_event``; its alerts are also kept in ``alerts``."""
        outcome = self.workflow.on_event(
            event, self.customer, self.conversations.get(conversation_of(event))
        )
        self.customer = CustomerState.model_validate_json(outcome.customer.model_dump_json())
        if outcome.duplicate:  # the agent writes nothing back for a redelivery
            return outcome
        if outcome.conversation is not None:
            conv = ConversationState.model_validate_json(outcome.conversation.model_dump_json())
            self.conversations[conv.conversation] = conv
        for name in outcome.dropped_conversations:
            self.conversations.pop(name, None)
        self.alerts += outcome.alerts
        return outcome

    def send_all(self, events: list[Enriched]) -> list[Alert]:
        """Several interactions; the alerts they produced, in order."""
        return [alert for event in events for alert in self.send(event).alerts]

    def tick(self, now: datetime) -> TickOutcome:
        """One timer tick at ``now``; idle conversations are dropped like the agent would."""
        assert self.customer is not None
        # The agent loads only the conversations that wait for a reply.
        waiting = {k: c for k, c in self.conversations.items() if k in self.customer.waiting}
        outcome = self.workflow.on_tick(self.customer, waiting, now)
        self.customer = CustomerState.model_validate_json(outcome.customer.model_dump_json())
        for name in outcome.idle_conversations:
            self.conversations.pop(name, None)
        self.alerts += outcome.alerts
        return outcome

    @property
    def state(self) -> CustomerState:
        assert self.customer is not None
        return self.customer

    def open_of(self, alert_type: str) -> list[Alert]:
        """The customer's open alerts of one type."""
        return [a for a in self.state.open_alerts.values() if a.type == alert_type]


def of_type(alerts: list[Alert], alert_type: str) -> list[Alert]:
    return [a for a in alerts if a.type == alert_type]


def statuses(alerts: list[Alert], alert_type: str) -> list[tuple[str, int]]:
    """``(status, revision)`` of each change of one alert type."""
    return [(a.status, a.revision) for a in of_type(alerts, alert_type)]


def identify(minutes: float = -1.0, **traits: Any) -> Enriched:
    """A Segment ``identify`` with traits (no text, outside any conversation)."""
    return enriched(
        None,
        channel="web",
        event_type="identify",
        conversation=None,
        minutes=minutes,
        attributes={"traits": traits},
    )


def test_default_rules_file_matches_the_thresholds_these_tests_assume() -> None:
    # The numbers below are the default file's; a changed default should fail here, not as
    # thirty puzzling boundary failures.
    assert RULES.alerts == AlertRules()
    assert (RULES.lifecycle.cooldown_s, RULES.lifecycle.max_opened_per_window) == (3600, 4)


# urgent_message ----------------------------------------------------------------------------

URGENCY_CASES = [
    ("critical", "low", False),
    ("critical", "normal", False),
    ("critical", "high", False),
    ("critical", "critical", True),
    ("high", "low", False),
    ("high", "normal", False),
    ("high", "high", True),
    ("high", "critical", True),
]


@pytest.mark.parametrize(("min_level", "level", "fires"), URGENCY_CASES)
def test_urgent_message_fires_at_or_above_min_level(
    min_level: str, level: str, fires: bool
) -> None:
    journey = Journey(with_alerts(urgent_message={"min_level": min_level}))
    event = enriched("it's urgent", urgency=level)
    alerts = of_type(journey.send(event).alerts, "urgent_message")
    if not fires:
        assert alerts == []
        return
    [alert] = alerts
    assert (alert.status, alert.revision, alert.severity) == ("opened", 1, "high")
    assert alert.entity == "conversation:cus_test/conv-1"
    assert [e.interaction_id for e in alert.evidence] == [event.interaction_id]
    assert alert.reasons == [f"urgency {alert.evidence[0].urgency:.2f} ({level}) ≥ {min_level}"]


def test_urgent_message_resolves_when_an_agent_replies_in_the_conversation() -> None:
    journey = Journey()
    [opened] = of_type(
        journey.send(enriched("help now", urgency="critical")).alerts, "urgent_message"
    )
    assert opened.status == "opened"
    [resolved] = journey.send(enriched("on it", author="agent", minutes=2)).alerts
    assert resolved.alert_id == opened.alert_id
    assert (resolved.status, resolved.revision) == ("resolved", 2)
    assert (resolved.closed_at, resolved.close_reason) == (
        at(2),
        "an agent replied in the conversation",
    )
    assert journey.open_of("urgent_message") == []


def test_urgent_message_is_not_resolved_by_an_agent_in_another_conversation() -> None:
    journey = Journey()
    journey.send(enriched("help now", urgency="critical"))
    assert (
        journey.send(enriched("hi", author="agent", conversation="conv-2", minutes=1)).alerts == []
    )
    assert len(journey.open_of("urgent_message")) == 1


# negative_streak ---------------------------------------------------------------------------


def negative(minutes: float, conversation: str = "conv-1", p: float = 0.8) -> Enriched:
    return enriched(
        "this is awful", negative=p, positive=0.05, minutes=minutes, conversation=conversation
    )


def test_negative_streak_opens_on_the_third_updates_on_the_fourth_and_resolves() -> None:
    journey = Journey()
    events = [negative(m) for m in range(4)]
    assert journey.send_all(events[:2]) == []
    [opened] = journey.send(events[2]).alerts
    assert (opened.type, opened.status, opened.revision) == ("negative_streak", "opened", 1)
    assert opened.entity == "conversation:cus_test/conv-1"
    assert [e.interaction_id for e in opened.evidence] == [e.interaction_id for e in events[:3]]
    [updated] = journey.send(events[3]).alerts
    assert (updated.alert_id, updated.status, updated.revision) == (opened.alert_id, "updated", 2)
    assert [e.interaction_id for e in updated.evidence] == [e.interaction_id for e in events]
    [resolved] = journey.send(enriched("thanks, that helps", minutes=5)).alerts
    assert (resolved.alert_id, resolved.status, resolved.revision) == (
        opened.alert_id,
        "resolved",
        3,
    )
    assert journey.open_of("negative_streak") == []


@pytest.mark.parametrize(("p_negative", "fires"), [(0.5, True), (0.49, False)])
def test_negative_streak_min_negative_boundary(p_negative: float, fires: bool) -> None:
    alerts = Journey().send_all([negative(m, p=p_negative) for m in range(3)])
    assert statuses(alerts, "negative_streak") == ([("opened", 1)] if fires else [])


@pytest.mark.parametrize(
    ("length", "messages", "fires"), [(2, 2, True), (4, 3, False), (4, 4, True)]
)
def test_negative_streak_length_from_the_rules(length: int, messages: int, fires: bool) -> None:
    journey = Journey(with_alerts(negative_streak={"length": length}))
    alerts = journey.send_all([negative(m) for m in range(messages)])
    assert statuses(alerts, "negative_streak") == ([("opened", 1)] if fires else [])
    if fires:
        assert len(alerts[0].evidence) == length


def test_negative_streak_is_per_conversation() -> None:
    events = [negative(m, conversation=f"conv-{m % 2}") for m in range(4)]
    assert of_type(Journey().send_all(events), "negative_streak") == []


def test_a_neutral_message_restarts_the_streak() -> None:
    events = [negative(0), negative(1), enriched("ok", minutes=2), negative(3), negative(4)]
    assert of_type(Journey().send_all(events), "negative_streak") == []


def test_agent_messages_do_not_break_the_streak() -> None:
    events = [
        negative(0),
        enriched("sorry to hear that", author="agent", minutes=1),
        negative(2),
        enriched("let me check", author="agent", minutes=3),
        negative(4),
    ]
    [opened] = of_type(Journey().send_all(events), "negative_streak")
    assert [e.interaction_id for e in opened.evidence] == [
        events[0].interaction_id,
        events[2].interaction_id,
        events[4].interaction_id,
    ]


# sentiment_drop ----------------------------------------------------------------------------


def feeling(value_pos: float, value_neg: float, minutes: float) -> Enriched:
    """A customer message with sentiment value ``value_pos - value_neg``."""
    return enriched("about my order", positive=value_pos, negative=value_neg, minutes=minutes)


# (baseline (P(pos), P(neg)) per earlier message, last message, fires). Sentiment values are
# P(pos) - P(neg): the drop is the mean of the earlier values minus the last one.
DROP_CASES = [
    ([(0.5, 0.1), (0.5, 0.1)], (0.1, 0.5), True),  # 0.4 → -0.4: drop exactly 0.8
    ([(0.5, 0.1), (0.5, 0.1)], (0.1, 0.49), False),  # 0.4 → -0.39: drop 0.79
    ([(0.2, 0.1), (0.2, 0.1)], (0.0, 0.7), True),  # 0.1 → -0.7: exactly 0.8
    ([(0.2, 0.1), (0.2, 0.1)], (0.01, 0.7), False),  # 0.1 → -0.69: 0.79
    ([(0.8, 0.1), (0.2, 0.1)], (0.1, 0.5), True),  # mean of 0.7 and 0.1 → -0.4: exactly 0.8
    ([(0.8, 0.1), (0.2, 0.1)], (0.1, 0.49), False),  # → -0.39: 0.79
    ([(0.9, 0.0), (0.9, 0.0)], (0.0, 0.9), True),  # 0.9 → -0.9: 1.8
]


@pytest.mark.parametrize(("baseline", "last", "fires"), DROP_CASES)
def test_sentiment_drop_threshold(
    baseline: list[tuple[float, float]], last: tuple[float, float], fires: bool
) -> None:
    events = [feeling(pos, neg, m) for m, (pos, neg) in enumerate(baseline)]
    events.append(feeling(*last, minutes=len(baseline)))
    alerts = of_type(Journey().send_all(events), "sentiment_drop")
    if not fires:
        assert alerts == []
        return
    [alert] = alerts
    assert (alert.status, alert.entity, alert.severity) == ("opened", "customer:cus_test", "medium")
    assert [e.interaction_id for e in alert.evidence] == [events[-1].interaction_id]


@pytest.mark.parametrize(
    ("baseline_messages", "earlier", "fires"),
    [(2, 1, False), (2, 2, True), (3, 2, False), (3, 3, True)],
)
def test_sentiment_drop_needs_enough_earlier_messages(
    baseline_messages: int, earlier: int, fires: bool
) -> None:
    journey = Journey(with_alerts(sentiment_drop={"baseline_messages": baseline_messages}))
    events = [feeling(0.6, 0.0, m) for m in range(earlier)] + [feeling(0.0, 0.9, earlier)]
    assert len(of_type(journey.send_all(events), "sentiment_drop")) == int(fires)


@pytest.mark.parametrize(
    ("last_at", "fires"),
    [
        (168 * HOUR, True),  # the first earlier message is exactly baseline_window_h old
        (168 * HOUR + 1, False),  # it has left the window: one earlier message is not enough
    ],
)
def test_sentiment_drop_ignores_messages_older_than_the_window(last_at: float, fires: bool) -> None:
    events = [feeling(0.6, 0.0, 0), feeling(0.6, 0.0, 1), feeling(0.0, 0.9, last_at)]
    assert len(of_type(Journey().send_all(events), "sentiment_drop")) == int(fires)


def test_sentiment_drop_resolves_when_sentiment_is_back_at_its_mean() -> None:
    journey = Journey()
    events = [feeling(0.6, 0.0, 0), feeling(0.6, 0.0, 1), feeling(0.0, 0.9, 2)]
    [opened] = of_type(journey.send_all(events), "sentiment_drop")
    assert of_type(journey.send(feeling(0.1, 0.1, 3)).alerts, "sentiment_drop") == []
    [resolved] = of_type(journey.send(feeling(0.6, 0.0, 4)).alerts, "sentiment_drop")
    assert (resolved.alert_id, resolved.status) == (opened.alert_id, "resolved")


# repeat_contact ----------------------------------------------------------------------------


def contact(channel: str, conversation: str, minutes: float) -> Enriched:
    return enriched("still waiting", channel=channel, conversation=conversation, minutes=minutes)


def test_repeat_contact_fires_on_three_conversations_over_two_channels() -> None:
    events = [
        contact("chat", "conv-a", 0),
        contact("email", "thread-b", 3 * HOUR),
        contact("chat", "conv-c", 6 * HOUR),
    ]
    journey = Journey()
    assert of_type(journey.send_all(events[:2]), "repeat_contact") == []
    [alert] = of_type(journey.send(events[2]).alerts, "repeat_contact")
    assert (alert.status, alert.entity, alert.confidence) == ("opened", "customer:cus_test", 1.0)
    assert [e.conversation for e in alert.evidence] == ["conv-a", "thread-b", "conv-c"]
    assert "3 contacts in 24 h over 2 channels (chat, email)" in alert.reasons[0]
    # A fourth message in a known conversation adds no contact: nothing to update.
    assert of_type(journey.send(contact("chat", "conv-c", 7 * HOUR)).alerts, "repeat_contact") == []


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([contact("chat", "conv-a", m) for m in (0, 1, 2)], id="one-conversation"),
        pytest.param(
            [contact("chat", c, m) for m, c in enumerate(("conv-a", "conv-b", "conv-c"))],
            id="one-channel",
        ),
        pytest.param(
            [
                contact("chat", "conv-a", 0),
                contact("email", "thread-b", 1),
                contact("chat", "conv-a", 2),
                contact("email", "thread-b", 3),
            ],
            id="two-conversations",
        ),
    ],
)
def test_repeat_contact_needs_distinct_conversations_and_channels(events: list[Enriched]) -> None:
    assert of_type(Journey().send_all(events), "repeat_contact") == []


@pytest.mark.parametrize(("last_at", "fires"), [(DAY, True), (DAY + 1, False)])
def test_repeat_contact_window(last_at: float, fires: bool) -> None:
    events = [
        contact("chat", "conv-a", 0),
        contact("email", "thread-b", 12 * HOUR),
        contact("voice", "call-c", last_at),
    ]
    assert len(of_type(Journey().send_all(events), "repeat_contact")) == int(fires)


# churn_signal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "confidence", "p_negative", "fires"),
    [
        ("cancellation", 0.4, 0.4, True),  # both exactly at their thresholds
        ("cancellation", 0.39, 0.9, False),
        ("cancellation", 0.9, 0.39, False),
        ("cancellation", 0.95, 0.9, True),
        ("billing", 0.99, 0.95, False),
        ("complaint", 0.99, 0.95, False),
        ("other", 0.99, 0.95, False),
    ],
)
def test_churn_signal(intent: str, confidence: float, p_negative: float, fires: bool) -> None:
    event = enriched(
        "I want to cancel my subscription",
        intent=intent,
        intent_confidence=confidence,
        negative=p_negative,
        positive=0.0,
    )
    alerts = of_type(Journey().send(event).alerts, "churn_signal")
    if not fires:
        assert alerts == []
        return
    [alert] = alerts
    assert (alert.status, alert.entity, alert.severity) == ("opened", "customer:cus_test", "high")
    assert alert.confidence == min(confidence, p_negative)
    assert alert.requires_human  # severity high


def test_churn_signal_intents_come_from_the_rules() -> None:
    journey = Journey(with_alerts(churn_signal={"intents": ["cancellation", "complaint"]}))
    event = enriched("you lost a customer", intent="complaint", negative=0.9, positive=0.0)
    assert len(of_type(journey.send(event).alerts, "churn_signal")) == 1


# vip_at_risk -------------------------------------------------------------------------------

VIP_TRAITS = [
    pytest.param({"tier": "vip"}, id="tier-vip"),
    pytest.param({"tier": "Platinum"}, id="tier-platinum"),
    pytest.param({"plan": "enterprise"}, id="plan-enterprise"),
    pytest.param({"vip": True}, id="vip-flag"),
    pytest.param({"tier": "gold", "vip": True}, id="vip-flag-other-tier"),
]
NOT_VIP_TRAITS = [
    pytest.param(None, id="no-identify"),
    pytest.param({"tier": "gold"}, id="tier-gold"),
    pytest.param({"vip": False}, id="vip-false"),
]
VIP_MESSAGES = [
    # (P(negative), urgency level, at risk)
    (0.5, "normal", True),
    (0.49, "normal", False),
    (0.1, "high", True),
    (0.1, "critical", True),
    (0.1, "normal", False),
    (0.1, "low", False),
]


def vip_journey(traits: dict[str, Any] | None) -> Journey:
    journey = Journey()
    if traits is not None:
        assert journey.send(identify(**traits)).alerts == []
    return journey


@pytest.mark.parametrize("traits", VIP_TRAITS)
@pytest.mark.parametrize(("p_negative", "urgency", "at_risk"), VIP_MESSAGES)
def test_vip_at_risk(
    traits: dict[str, Any], p_negative: float, urgency: str, at_risk: bool
) -> None:
    journey = vip_journey(traits)
    assert journey.state.vip
    event = enriched("where is it", negative=p_negative, positive=0.0, urgency=urgency)
    alerts = of_type(journey.send(event).alerts, "vip_at_risk")
    if not at_risk:
        assert alerts == []
        return
    [alert] = alerts
    assert (alert.status, alert.entity, alert.severity) == (
        "opened",
        "customer:cus_test",
        "critical",
    )
    assert alert.requires_human and not alert.auto_action_allowed


@pytest.mark.parametrize("traits", NOT_VIP_TRAITS)
@pytest.mark.parametrize(("p_negative", "urgency"), [(0.99, "critical"), (0.5, "high")])
def test_vip_at_risk_never_for_other_customers(
    traits: dict[str, Any] | None, p_negative: float, urgency: str
) -> None:
    journey = vip_journey(traits)
    event = enriched("where is it", negative=p_negative, positive=0.0, urgency=urgency)
    assert of_type(journey.send(event).alerts, "vip_at_risk") == []
    assert not journey.state.vip


# waiting_sla (timer) -----------------------------------------------------------------------


def seconds(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@pytest.mark.parametrize(("channel", "sla_s"), [("chat", 300), ("email", 86400)])
def test_waiting_sla_opens_at_the_channel_sla(channel: str, sla_s: float) -> None:
    journey = Journey()
    outcome = journey.send(enriched("hello?", channel=channel))
    assert outcome.deadline == seconds(sla_s)
    assert journey.tick(seconds(sla_s - 1)).alerts == []
    [alert] = journey.tick(seconds(sla_s)).alerts
    assert (alert.type, alert.status, alert.entity) == (
        "waiting_sla",
        "opened",
        "conversation:cus_test/conv-1",
    )
    assert [e.interaction_id for e in alert.evidence] == [outcome.enriched.interaction_id]
    assert alert.route.queue == "general"  # the conversation's last queue (intent other)
    # Later ticks see the same wait: nothing new.
    assert journey.tick(seconds(sla_s + 60)).alerts == []


@pytest.mark.parametrize("thread", ["thread-1", "<CAF/x+1=2@mail.example.com>"])
def test_waiting_sla_alert_goes_to_the_conversations_queue(thread: str) -> None:
    journey = Journey()
    journey.send(
        enriched("the invoice is wrong", channel="email", intent="billing", conversation=thread)
    )
    [alert] = journey.tick(T0 + timedelta(days=1)).alerts
    assert alert.entity == f"conversation:cus_test/{thread}"
    assert (alert.route.queue, alert.route.priority) == ("billing", "P2")


def test_the_sla_clock_starts_when_the_message_was_received() -> None:
    event = enriched("hello?").model_copy(update={"received_at": seconds(120)})
    journey = Journey()
    journey.send(event)
    assert journey.tick(seconds(300)).alerts == []
    assert len(journey.tick(seconds(420)).alerts) == 1


def test_waiting_sla_no_alert_when_an_agent_replied_in_time() -> None:
    journey = Journey()
    journey.send(enriched("hello?"))
    journey.send(enriched("hi, how can I help?", author="agent", minutes=4))
    assert journey.state.waiting == {}
    assert journey.tick(seconds(3600)).alerts == []


def test_waiting_sla_resolves_when_an_agent_replies_late() -> None:
    journey = Journey()
    journey.send(enriched("hello?"))
    [opened] = journey.tick(seconds(300)).alerts
    [resolved] = of_type(
        journey.send(enriched("sorry for the wait", author="agent", minutes=9)).alerts,
        "waiting_sla",
    )
    assert (resolved.alert_id, resolved.status, resolved.close_reason) == (
        opened.alert_id,
        "resolved",
        "an agent replied",
    )
    assert journey.tick(seconds(3600)).alerts == []


def test_a_reply_that_overtook_the_question_answers_it() -> None:
    journey = Journey()
    journey.send(enriched("hi, how can I help?", author="agent", minutes=5))
    journey.send(enriched("hello?", minutes=4))
    assert journey.state.waiting == {}
    assert journey.tick(seconds(3600)).alerts == []


def test_the_wait_starts_at_the_first_unanswered_message() -> None:
    journey = Journey()
    journey.send_all([enriched("hello?"), enriched("anyone?", minutes=4)])
    assert len(journey.tick(seconds(300)).alerts) == 1


@pytest.mark.parametrize("channel", ["voice", "survey", "web"])
def test_channels_without_a_written_reply_never_wait(channel: str) -> None:
    journey = Journey()
    journey.send(enriched("it broke again", channel=channel))
    assert journey.state.waiting == {}
    assert journey.tick(seconds(30 * 86400)).alerts == []


# Exact signals: reasons, confidences, evidence and the trigger (what mutation testing found) --


def test_waiting_sla_signals_each_breached_wait_with_its_evidence() -> None:
    """Waits are read oldest first: one on a channel with no SLA (fax) and one not yet due
    (email, 86,400 s) come before the breached chat wait, and neither stops the loop."""
    waits = [
        Waiting(
            conversation="fax-1",
            channel="fax",
            since=seconds(-10),
            asked_at=T0,
            interaction_id="ix_fax",
        ),
        Waiting(
            conversation="thread-1",
            channel="email",
            since=seconds(-5),
            asked_at=T0,
            interaction_id="ix_mail",
        ),
        Waiting(
            conversation="conv-1",
            channel="chat",
            since=seconds(0),
            asked_at=seconds(-30),
            interaction_id="ix_chat",
        ),
    ]
    customer = CustomerState(
        customer_key="cus_w",
        first_seen=T0,
        watermark=T0,
        updated_at=T0,
        waiting={w.conversation: w for w in waits},
    )
    [signal] = waiting_sla(customer, seconds(450), RULES)
    reason = "chat message waiting 7.5 min with no agent reply (SLA 5 min)"
    evidence = Evidence(
        interaction_id="ix_chat",
        channel="chat",
        occurred_at=seconds(-30),
        conversation="conv-1",
        note=reason,
    )
    assert signal == Signal(
        "waiting_sla", "conversation:cus_w/conv-1", "medium", 1.0, [reason], [evidence]
    )
    assert signal.trigger == "ix_chat"


def test_urgent_message_signal_carries_its_reason_confidence_and_evidence() -> None:
    event = enriched("please help", urgency="critical")
    assert event.scores is not None and event.scores.urgency is not None
    level = event.scores.urgency.model_copy(update={"probabilities": {"critical": 0.912345}})
    event = event.model_copy(update={"scores": event.scores.model_copy(update={"urgency": level})})
    [alert] = of_type(Journey().send(event).alerts, "urgent_message")
    reason = "urgency 0.90 (critical) ≥ critical"  # the factory's score for critical is 0.9
    entity = "conversation:cus_test/conv-1"
    assert (alert.confidence, alert.reasons, alert.severity) == (0.9123, [reason], "high")
    assert [(e.interaction_id, e.note) for e in alert.evidence] == [(event.interaction_id, reason)]
    assert alert.alert_id == alert_id("urgent_message", entity, event.interaction_id)


def test_urgent_message_confidence_is_the_score_when_the_level_has_no_probability() -> None:
    event = enriched("please help", urgency="critical")
    assert event.scores is not None and event.scores.urgency is not None
    level = event.scores.urgency.model_copy(update={"probabilities": {"high": 0.1}})
    event = event.model_copy(update={"scores": event.scores.model_copy(update={"urgency": level})})
    [alert] = of_type(Journey().send(event).alerts, "urgent_message")
    assert alert.confidence == 0.9


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"urgency": None}, id="no-urgency-head"),
        pytest.param({"level": "extreme"}, id="unknown-level"),
    ],
)
def test_a_message_without_a_known_urgency_level_is_not_urgent(change: dict[str, Any]) -> None:
    event = enriched("please help", urgency="critical")
    assert event.scores is not None and event.scores.urgency is not None
    if "level" in change:
        scores = event.scores.model_copy(
            update={"urgency": event.scores.urgency.model_copy(update=change)}
        )
    else:
        scores = event.scores.model_copy(update=change)
    event = event.model_copy(update={"scores": scores})
    assert of_type(Journey().send(event).alerts, "urgent_message") == []


def test_bot_messages_raise_no_customer_alert() -> None:
    """A bot's words are not the customer's: however urgent, negative or churn-like."""
    journey = vip_journey({"tier": "vip"})
    journey.send_all([feeling(0.6, 0.0, 0), feeling(0.6, 0.0, 1)])
    bot = [
        enriched(
            "cancel it all now",
            author="bot",
            negative=0.95,
            positive=0.0,
            urgency="critical",
            intent="cancellation",
            intent_confidence=0.95,
            minutes=m,
        )
        for m in (2, 3, 4)
    ]
    assert journey.send_all(bot) == []


def test_negative_streak_confidence_is_the_mean_of_how_negative_each_message_is() -> None:
    """P(pos) - P(neg) of -0.8, -0.8, -0.9 map to 0.9, 0.9, 0.95: a mean of 0.91666…, kept to
    4 decimals."""
    events = [negative(m, p=p) for m, p in enumerate((0.8, 0.8, 0.9))]
    events = [
        e.model_copy(
            update={"scores": e.scores.model_copy(update={"sentiment": _only_negative(e)})}
        )
        for e in events
        if e.scores is not None
    ]
    [alert] = of_type(Journey().send_all(events), "negative_streak")
    assert alert.confidence == 0.9167
    entity = "conversation:cus_test/conv-1"
    assert alert.alert_id == alert_id("negative_streak", entity, events[0].interaction_id)


def _only_negative(event: Enriched) -> Any:
    """The event's sentiment with P(positive) = 0 (the factory's ``negative`` gives 0.05)."""
    assert event.scores is not None and event.scores.sentiment is not None
    p = event.scores.sentiment.probabilities["negative"]
    probabilities = {"negative": p, "neutral": round(1 - p, 4), "positive": 0.0}
    return event.scores.sentiment.model_copy(update={"probabilities": probabilities})


def test_sentiment_drop_signal_carries_its_reason_confidence_and_trigger() -> None:
    """Mean +0.40, last +0.05: a gap of 0.35 against a drop of 0.30 gives 0.35 / 0.375."""
    journey = Journey(with_alerts(sentiment_drop={"drop": 0.3}))
    events = [feeling(0.5, 0.1, 0), feeling(0.5, 0.1, 1), feeling(0.15, 0.1, 2)]
    [alert] = of_type(journey.send_all(events), "sentiment_drop")
    reason = "sentiment +0.05 is 0.35 below the mean +0.40 of the 2 earlier messages (drop ≥ 0.30)"
    assert (alert.confidence, alert.reasons) == (0.9333, [reason])
    assert [(e.interaction_id, e.note) for e in alert.evidence] == [
        (events[-1].interaction_id, reason)
    ]
    assert alert.alert_id == alert_id(
        "sentiment_drop", "customer:cus_test", events[-1].interaction_id
    )


def test_a_message_at_the_same_instant_counts_in_the_baseline() -> None:
    first = enriched("about my order", positive=0.6, negative=0.0, minutes=0)
    same_time = enriched(
        "and another thing", positive=0.6, negative=0.0, minutes=1, interaction_id="ix_same"
    )
    last = enriched("awful", positive=0.0, negative=0.9, minutes=1)
    assert len(of_type(Journey().send_all([first, same_time, last]), "sentiment_drop")) == 1


def test_sentiment_drop_resolves_when_sentiment_is_exactly_at_its_mean() -> None:
    """Earlier values 0.5, 0.5, 0.5 and -0.5 have the mean 0.25; a value of 0.25 clears."""
    journey = Journey()
    events = [feeling(0.5, 0.0, m) for m in range(3)] + [feeling(0.0, 0.5, 3)]
    [opened] = of_type(journey.send_all(events), "sentiment_drop")
    [resolved] = of_type(journey.send(feeling(0.25, 0.0, 4)).alerts, "sentiment_drop")
    assert (resolved.alert_id, resolved.status, resolved.close_reason) == (
        opened.alert_id,
        "resolved",
        "sentiment +0.25 back at its mean",
    )


def test_repeat_contact_evidence_is_each_contact_and_the_first_one_triggers() -> None:
    events = [
        contact("chat", "conv-a", 0),
        contact("email", "thread-b", 3 * HOUR),
        contact("chat", "conv-c", 6 * HOUR),
    ]
    [alert] = of_type(Journey().send_all(events), "repeat_contact")
    assert [(e.interaction_id, e.note) for e in alert.evidence] == [
        (e.interaction_id, "contact") for e in events
    ]
    assert alert.alert_id == alert_id(
        "repeat_contact", "customer:cus_test", events[0].interaction_id
    )


def test_a_neutral_message_ends_the_streak_and_says_so() -> None:
    journey = Journey()
    journey.send_all([negative(m) for m in range(3)])
    [resolved] = of_type(journey.send(enriched("ok", minutes=3)).alerts, "negative_streak")
    assert (resolved.status, resolved.close_reason) == (
        "resolved",
        "a message that is not negative ended the streak",
    )


def test_churn_signal_carries_its_reason_confidence_and_trigger() -> None:
    event = enriched(
        "cancel my subscription",
        intent="cancellation",
        intent_confidence=0.912345,
        negative=0.95,
        positive=0.0,
    )
    [alert] = of_type(Journey().send(event).alerts, "churn_signal")
    reason = "intent cancellation 0.91 ≥ 0.40 with P(negative) 0.95 ≥ 0.40"
    assert (alert.confidence, alert.reasons) == (0.9123, [reason])
    assert [(e.interaction_id, e.note) for e in alert.evidence] == [(event.interaction_id, reason)]
    assert alert.alert_id == alert_id("churn_signal", "customer:cus_test", event.interaction_id)


def _urgency(event: Enriched, **changes: Any) -> Enriched:
    assert event.scores is not None and event.scores.urgency is not None
    level = event.scores.urgency.model_copy(update=changes)
    return event.model_copy(update={"scores": event.scores.model_copy(update={"urgency": level})})


@pytest.mark.parametrize(
    ("traits", "event", "reason", "confidence"),
    [
        pytest.param(
            {"tier": "platinum"},
            _urgency(
                enriched("where is it", negative=0.5, positive=0.0, urgency="critical"),
                score=0.912345,
            ),
            "tier platinum customer: P(negative) 0.50 ≥ 0.50 and urgency critical ≥ high",
            0.9123,
            id="negative-at-the-threshold-and-urgent",
        ),
        pytest.param(
            {"vip": True},
            _urgency(
                enriched("where is it", negative=0.55, positive=0.0, urgency="normal"), score=0.6
            ),
            "tier vip customer: P(negative) 0.55 ≥ 0.50",
            0.55,
            id="negative-only-the-urgency-score-does-not-count",
        ),
    ],
)
def test_vip_at_risk_signal_carries_its_reason_confidence_and_trigger(
    traits: dict[str, Any], event: Enriched, reason: str, confidence: float
) -> None:
    [alert] = of_type(vip_journey(traits).send(event).alerts, "vip_at_risk")
    assert (alert.reasons, alert.confidence) == ([reason], confidence)
    assert [(e.interaction_id, e.note) for e in alert.evidence] == [(event.interaction_id, reason)]
    assert alert.alert_id == alert_id("vip_at_risk", "customer:cus_test", event.interaction_id)


def test_a_customer_s_second_message_does_not_end_the_wait_alert() -> None:
    journey = Journey()
    journey.send(enriched("hello?"))
    [opened] = journey.tick(seconds(300)).alerts
    assert of_type(journey.send(enriched("hello??", minutes=6)).alerts, "waiting_sla") == []
    assert [a.alert_id for a in journey.open_of("waiting_sla")] == [opened.alert_id]


def _waiting_customer(**fields: Any) -> CustomerState:
    return CustomerState(customer_key="cus_d", first_seen=T0, watermark=T0, updated_at=T0, **fields)


def test_next_deadline_ignores_an_alerted_wait_and_its_alert_while_it_waits() -> None:
    """A breached wait already alerted needs no SLA look and its alert does not expire while
    the customer waits; the conversation name holds a ``/`` (the entity is split at the first)."""
    conv = "mail/thread-1"
    wait = Waiting(conversation=conv, channel="chat", since=T0, asked_at=T0, interaction_id="ix_1")
    [alert] = Journey().send(enriched("please help", urgency="critical")).alerts
    alerted = alert.model_copy(
        update={"type": "waiting_sla", "entity": f"conversation:cus_d/{conv}", "updated_at": T0}
    )
    customer = _waiting_customer(
        waiting={conv: wait}, open_alerts={alerted.alert_id: alerted}, conversations={conv: T0}
    )
    assert next_deadline(customer, RULES) is None


def test_next_deadline_of_an_idle_conversation_is_a_week_after_its_last_message() -> None:
    customer = _waiting_customer(conversations={"conv-1": T0})
    assert next_deadline(customer, RULES) == T0 + CONVERSATION_IDLE == T0 + timedelta(days=7)
