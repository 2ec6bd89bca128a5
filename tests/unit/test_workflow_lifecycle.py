"""Alert lifecycle: deterministic ids, redelivery, cooldown, rate limit, expiry, human control,
bounded state and replay, driven through ``Workflow`` like the Faust agent drives it."""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any

import pytest

from pipeline.contracts.records import Enriched
from pipeline.contracts.workflow import Alert, AlertType, Evidence, Routing, Severity
from pipeline.workflow import lifecycle
from pipeline.workflow.config import WorkflowRules
from pipeline.workflow.rules import Clear, Signal
from pipeline.workflow.state import (
    MAX_CONTACTS,
    MAX_CONVERSATIONS,
    MAX_OPEN_ALERTS,
    MAX_SEEN,
    MAX_SENTIMENT,
    MAX_WAITING,
    ConversationState,
    CustomerState,
)
from tests.unit.test_workflow_rules import RULES, Journey, identify, with_alerts
from tests.unit.workflow_factory import T0, at, enriched


# urgent_message at severity medium: human control is decided by confidence, not by severity.
def _no_priority_rule(rules: WorkflowRules) -> WorkflowRules:
    """Rules whose human control ignores the routed priority (to isolate the other checks)."""
    control = rules.human_control.model_copy(update={"human_priorities": []})
    return rules.model_copy(update={"human_control": control})


MEDIUM_URGENT = _no_priority_rule(with_alerts(urgent_message={"severity": "medium"}))


def urgent(
    text: str = "please help, it's urgent",
    *,
    minutes: float = 0.0,
    confidence: float = 1.0,
    conversation: str = "conv-1",
    channel: str = "chat",
) -> Enriched:
    """A critical customer message whose urgency probability (the alert's confidence) is set."""
    event = enriched(
        text, urgency="critical", minutes=minutes, conversation=conversation, channel=channel
    )
    assert event.scores is not None and event.scores.urgency is not None
    level = event.scores.urgency.model_copy(update={"probabilities": {"critical": confidence}})
    scores = event.scores.model_copy(update={"urgency": level})
    return event.model_copy(update={"scores": scores})


def reply(minutes: float, conversation: str = "conv-1", channel: str = "chat") -> Enriched:
    return enriched(
        "sorry, sorting it now",
        author="agent",
        minutes=minutes,
        conversation=conversation,
        channel=channel,
    )


def scripted_customer() -> list[Enriched]:
    """A VIP whose delivery goes wrong over chat, email and a call: five alert types open."""
    return [
        identify(tier="vip"),
        enriched(
            "My order still hasn't arrived",
            intent="delivery",
            negative=0.6,
            positive=0.05,
            conversation="conv-a",
        ),
        enriched(
            "Nobody is answering me",
            intent="delivery",
            negative=0.7,
            positive=0.0,
            conversation="conv-a",
            minutes=1,
        ),
        enriched(
            "This is ridiculous, I need it today",
            intent="delivery",
            negative=0.85,
            positive=0.0,
            urgency="critical",
            conversation="conv-a",
            minutes=2,
        ),
        reply(3, conversation="conv-a"),
        enriched(
            "Still nothing, see my chat",
            channel="email",
            conversation="thread-b",
            intent="delivery",
            negative=0.6,
            positive=0.0,
            minutes=90,
        ),
        enriched(
            "I want to cancel my subscription",
            channel="voice",
            conversation="call-c",
            intent="cancellation",
            intent_confidence=0.8,
            negative=0.7,
            positive=0.0,
            minutes=120,
        ),
        enriched(
            "It came, thanks",
            intent="delivery",
            positive=0.8,
            negative=0.0,
            conversation="conv-a",
            minutes=180,
        ),
    ]


def changes(alerts: list[Alert]) -> list[tuple[str, str, str, int]]:
    return [(a.alert_id, a.type, a.status, a.revision) for a in alerts]


# ids, redelivery, replay -------------------------------------------------------------------


def test_the_script_exercises_the_lifecycle() -> None:
    alerts = Journey().send_all(scripted_customer())
    opened = sorted(a.type for a in alerts if a.status == "opened")
    assert opened == [
        "churn_signal",
        "negative_streak",
        "repeat_contact",
        "urgent_message",
        "vip_at_risk",
    ]
    assert {(a.type, a.status) for a in alerts if a.status != "opened"} >= {
        ("urgent_message", "resolved"),
        ("negative_streak", "resolved"),
        ("vip_at_risk", "updated"),
    }


def test_alert_ids_are_deterministic() -> None:
    first = Journey().send_all(scripted_customer())
    second = Journey().send_all(scripted_customer())
    assert changes(first) == changes(second)
    assert [a.model_dump() for a in first] == [a.model_dump() for a in second]
    urgent_alert = next(a for a in first if a.type == "urgent_message")
    trigger = scripted_customer()[3].interaction_id
    assert urgent_alert.alert_id == lifecycle.alert_id(
        "urgent_message", "conversation:cus_test/conv-a", trigger
    )


def test_alert_ids_differ_per_customer() -> None:
    ids = {
        a.alert_id
        for key in ("cus_a", "cus_b")
        for a in Journey().send_all(
            [e.model_copy(update={"customer_key": key}) for e in scripted_customer()]
        )
    }
    assert len(ids) == 2 * 5  # five alerts each, none shared


def test_a_redelivered_event_changes_nothing() -> None:
    journey = Journey()
    for event in scripted_customer():
        journey.send(event)
        customer = journey.state.model_dump_json()
        conversations = {k: c.model_dump_json() for k, c in journey.conversations.items()}
        again = journey.send(event)
        assert again.duplicate
        assert again.alerts == []
        assert journey.state.model_dump_json() == customer
        assert {k: c.model_dump_json() for k, c in journey.conversations.items()} == conversations


def test_replaying_the_whole_script_opens_nothing() -> None:
    journey = Journey()
    first = journey.send_all(scripted_customer())
    opened = journey.state.alerts_opened
    assert opened == len([a for a in first if a.status == "opened"])
    replay = [journey.send(event) for event in scripted_customer()]
    assert all(outcome.duplicate for outcome in replay)
    assert [a for outcome in replay for a in outcome.alerts if a.status == "opened"] == []
    assert journey.state.alerts_opened == opened


def test_an_update_needs_evidence_the_alert_never_held() -> None:
    # repeat_contact's evidence is every contact in its window, more than the alert keeps:
    # a contact trimmed from the alert is not new evidence.
    rules = RULES.model_copy(
        update={"lifecycle": RULES.lifecycle.model_copy(update={"max_evidence": 3})}
    )
    journey = Journey(rules)
    contacts = [
        enriched("still waiting", channel=channel, conversation=name, minutes=10 * i)
        for i, (channel, name) in enumerate(
            [("chat", "a"), ("email", "b"), ("chat", "c"), ("email", "d"), ("chat", "e")]
        )
    ]
    alerts = journey.send_all(contacts[:4])
    assert [(a.status, [e.conversation for e in a.evidence]) for a in alerts] == [
        ("opened", ["a", "b", "c"]),
        ("updated", ["b", "c", "d"]),
    ]
    # More messages in known conversations: no new contact, so no update.
    for minutes, name in [(50, "d"), (51, "a"), (52, "b")]:
        again = enriched("hello?", channel="email", conversation=name, minutes=minutes)
        assert journey.send(again).alerts == []
    [updated] = journey.send(contacts[4]).alerts
    assert (updated.revision, [e.conversation for e in updated.evidence]) == (3, ["c", "d", "e"])


# cooldown, rate limit, expiry --------------------------------------------------------------


@pytest.mark.parametrize(("after_close_s", "reopens"), [(60, False), (3599, False), (3600, True)])
def test_cooldown_after_resolve(after_close_s: float, reopens: bool) -> None:
    journey = Journey()
    [first] = journey.send(urgent()).alerts
    [resolved] = journey.send(reply(1)).alerts
    assert (resolved.alert_id, resolved.status, resolved.closed_at) == (
        first.alert_id,
        "resolved",
        at(1),
    )
    again = journey.send(urgent(minutes=1 + after_close_s / 60)).alerts
    if not reopens:
        assert again == []
        assert journey.state.alerts_suppressed == 1
        assert journey.open_of("urgent_message") == []
        return
    [second] = again
    assert second.status == "opened"
    assert second.alert_id != first.alert_id
    assert journey.state.alerts_suppressed == 0


def test_cooldown_is_per_type_and_entity() -> None:
    journey = Journey()
    journey.send_all([urgent(), reply(1)])
    [other] = journey.send(urgent(minutes=2, conversation="conv-2")).alerts
    assert (other.status, other.entity) == ("opened", "conversation:cus_test/conv-2")


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_rate_limit_per_customer(limit: int) -> None:
    rules = RULES.model_copy(
        update={"lifecycle": RULES.lifecycle.model_copy(update={"max_opened_per_window": limit})}
    )
    journey = Journey(rules)
    # One urgent message in each of six chats, a minute apart: six different alerts.
    alerts = journey.send_all([urgent(minutes=m, conversation=f"conv-{m}") for m in range(6)])
    assert [a.status for a in alerts] == ["opened"] * limit
    assert journey.state.alerts_suppressed == 6 - limit
    assert journey.state.alerts_opened == limit
    # Just inside the window of the first: still full; at its end a new alert opens.
    assert journey.send(urgent(minutes=59, conversation="conv-59")).alerts == []
    [later] = journey.send(urgent(minutes=60 + limit - 1, conversation="conv-later")).alerts
    assert later.status == "opened"


def test_rate_limit_does_not_stop_updates_or_resolves() -> None:
    journey = Journey()
    journey.send_all([urgent(minutes=m, conversation=f"conv-{m}") for m in range(4)])
    [updated] = journey.send(urgent(minutes=5, conversation="conv-0")).alerts
    assert (updated.status, updated.revision) == ("updated", 2)
    [resolved] = journey.send(reply(6, conversation="conv-1")).alerts
    assert resolved.status == "resolved"
    assert journey.state.alerts_suppressed == 0


def test_open_alert_expires_after_expire_after_s_without_update() -> None:
    journey = Journey()
    # A call: nothing waits for a written reply, so the only timer work is expiry.
    [opened] = journey.send(urgent(channel="voice", conversation="call-1")).alerts
    assert journey.tick(T0 + timedelta(seconds=86399)).alerts == []
    [expired] = journey.tick(T0 + timedelta(seconds=86400)).alerts
    assert (expired.alert_id, expired.status, expired.revision) == (opened.alert_id, "expired", 2)
    assert expired.closed_at == T0 + timedelta(days=1)
    assert expired.close_reason == "no update for 86400 s"
    assert journey.state.open_alerts == {}


def test_an_update_postpones_expiry() -> None:
    journey = Journey()
    journey.send(urgent(channel="voice", conversation="call-1"))
    [updated] = journey.send(urgent(minutes=720, channel="voice", conversation="call-1")).alerts
    assert updated.status == "updated"
    assert journey.tick(T0 + timedelta(days=1)).alerts == []
    [expired] = journey.tick(at(720) + timedelta(days=1)).alerts
    assert expired.status == "expired"


def test_an_alert_id_is_opened_once_even_when_a_wait_outlives_its_alert() -> None:
    journey = Journey()
    journey.send(enriched("hello?"))
    for minutes in range(5, 26 * 60, 10):
        journey.tick(at(minutes))
    history: dict[str, list[int]] = {}
    for alert in journey.alerts:
        history.setdefault(alert.alert_id, []).append(alert.revision)
    # a wait that outlives expire_after_s keeps its one alert open (no expiry, no reopening)
    assert [a.status for a in journey.alerts] == ["opened"]
    assert all(revisions == sorted(set(revisions)) for revisions in history.values()), history
    journey.send(enriched("On it now.", author="agent", minutes=26 * 60))
    assert [a.status for a in journey.alerts] == ["opened", "resolved"]


def test_next_deadline_is_the_earliest_sla_or_expiry() -> None:
    journey = Journey()
    outcome = journey.send(urgent())
    assert outcome.deadline == T0 + timedelta(seconds=300)  # the chat SLA
    tick = journey.tick(T0 + timedelta(seconds=300))
    assert tick.deadline == T0 + timedelta(days=1)  # now the urgent alert's expiry


# human control -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "requires_human", "auto", "reason"),
    [
        (0.49, True, False, "confidence 0.49 < 0.50: a person decides"),
        (0.5, False, False, "confidence 0.50 in [0.50, 0.85): suggest to agent"),
        (0.84, False, False, "confidence 0.84 in [0.50, 0.85): suggest to agent"),
        (0.85, False, True, "confidence 0.85 ≥ 0.85: automatic action allowed"),
        (1.0, False, True, "confidence 1.00 ≥ 0.85: automatic action allowed"),
    ],
)
def test_human_control_by_confidence(
    confidence: float, requires_human: bool, auto: bool, reason: str
) -> None:
    [alert] = Journey(MEDIUM_URGENT).send(urgent(confidence=confidence)).alerts
    assert alert.confidence == confidence
    assert (alert.requires_human, alert.auto_action_allowed, alert.control_reason) == (
        requires_human,
        auto,
        reason,
    )


@pytest.mark.parametrize(
    ("severity", "requires_human"),
    [("low", False), ("medium", False), ("high", True), ("critical", True)],
)
def test_human_control_by_severity(severity: str, requires_human: bool) -> None:
    rules = _no_priority_rule(with_alerts(urgent_message={"severity": severity}))
    [alert] = Journey(rules).send(urgent(confidence=1.0)).alerts
    assert (alert.requires_human, alert.auto_action_allowed) == (requires_human, not requires_human)
    if requires_human:
        assert alert.control_reason == f"severity {severity} ≥ high: a person decides"


def test_high_stakes_text_requires_a_human() -> None:
    [alert] = Journey(MEDIUM_URGENT).send(urgent("Fix it by Friday or I will sue")).alerts
    assert (alert.requires_human, alert.auto_action_allowed) == (True, False)
    assert alert.control_reason == "high-stakes (legal_threat): a person decides"
    assert (alert.route.queue, alert.route.human_only) == ("specialist_human", True)


@pytest.mark.parametrize(
    "traits",
    [
        pytest.param({"opt_out": True}, id="opt_out"),
        pytest.param({"automated_decisions_opt_out": True}, id="automated_decisions_opt_out"),
        pytest.param({"consent": {"automated_decisions": False}}, id="consent-false"),
    ],
)
def test_opted_out_customer_requires_a_human(traits: dict[str, Any]) -> None:
    journey = Journey(MEDIUM_URGENT)
    journey.send(identify(**traits))
    assert journey.state.opted_out
    [alert] = journey.send(urgent(confidence=1.0)).alerts
    assert (alert.requires_human, alert.auto_action_allowed) == (True, False)
    assert alert.control_reason == "the customer opted out of automated decisions"


def test_opting_back_in_allows_automatic_actions_again() -> None:
    journey = Journey(MEDIUM_URGENT)
    journey.send_all([identify(-2, opt_out=True), identify(-1, opt_out=False)])
    [alert] = journey.send(urgent(confidence=1.0)).alerts
    assert alert.auto_action_allowed


@pytest.mark.parametrize(
    ("urgency", "negative", "priority", "requires_human"),
    [
        ("critical", 0.1, "P1", True),
        ("high", 0.1, "P2", True),
        ("normal", 0.8, "P2", True),  # raised one step by P(negative) ≥ 0.70
        ("normal", 0.6, "P3", False),
        ("low", 0.6, "P4", False),
    ],
)
def test_cases_routed_p1_or_p2_always_need_a_human(
    urgency: str, negative: float, priority: str, requires_human: bool
) -> None:
    rules = with_alerts(urgent_message={"severity": "medium", "min_level": "low"})
    event = enriched("help", urgency=urgency, negative=negative, positive=0.0)
    [alert] = Journey(rules).send(event).alerts
    assert alert.route.priority == priority
    assert alert.requires_human is requires_human
    if requires_human:
        assert alert.control_reason == f"routed {priority}: a person decides"


def test_a_high_stakes_message_escalates_an_open_alert() -> None:
    journey = Journey(_no_priority_rule(RULES))
    streak = [enriched("this is awful", negative=0.9, positive=0.0, minutes=m) for m in range(3)]
    [opened] = journey.send_all(streak)
    assert (opened.type, opened.auto_action_allowed, opened.route.queue) == (
        "negative_streak",
        True,
        "general",
    )
    threat = enriched("my lawyer will hear about this", negative=0.9, positive=0.0, minutes=3)
    [updated] = journey.send(threat).alerts
    assert (updated.status, updated.requires_human, updated.auto_action_allowed) == (
        "updated",
        True,
        False,
    )
    assert updated.control_reason == "high-stakes (legal_threat): a person decides"
    assert (updated.route.queue, updated.route.high_stakes) == (
        "specialist_human",
        ["legal_threat"],
    )
    # A calmer message afterwards does not undo the escalation.
    [still] = journey.send(enriched("still awful", negative=0.9, positive=0.0, minutes=4)).alerts
    assert (still.route.queue, still.auto_action_allowed) == ("specialist_human", False)


def test_an_update_recomputes_human_control() -> None:
    journey = Journey(MEDIUM_URGENT)
    [opened] = journey.send(urgent(confidence=0.6)).alerts
    assert not opened.auto_action_allowed
    [raised] = journey.send(urgent(minutes=1, confidence=0.9)).alerts
    assert (raised.status, raised.confidence, raised.auto_action_allowed) == ("updated", 0.9, True)
    journey.send(identify(2, opt_out=True))
    [held] = journey.send(urgent(minutes=3, confidence=0.9)).alerts
    assert (held.requires_human, held.auto_action_allowed) == (True, False)


# memory bounds -----------------------------------------------------------------------------


def busy_customer(messages: int) -> list[Enriched]:
    """A customer writing every ten minutes for days: a new conversation every two messages
    over three channels, often negative, sometimes critical, half the chats never answered."""
    events = []
    for i in range(messages):
        channel = ("chat", "email", "voice")[i % 3]
        conversation = f"{channel}-{i // 6}"
        events.append(
            enriched(
                f"message {i}",
                channel=channel,
                conversation=conversation,
                minutes=10 * i,
                negative=0.8 if i % 4 else 0.0,
                positive=0.0 if i % 4 else 0.9,
                urgency="critical" if i % 7 == 0 else "normal",
                intent="cancellation" if i % 11 == 0 else "delivery",
            )
        )
        if i % 12 == 0:
            events.append(reply(10 * i + 1, conversation=conversation, channel=channel))
    return events


def largest(items: list[Any]) -> int:
    return max((len(item.model_dump_json()) for item in items), default=0)


def test_state_stays_bounded_after_500_messages() -> None:
    journey = Journey()
    for event in busy_customer(500):
        outcome = journey.send(event)
        # The agent's timer: look at the customer when its next deadline has come.
        if outcome.deadline is not None and outcome.deadline <= event.occurred_at:
            journey.tick(event.occurred_at)
        journey.tick(event.occurred_at + timedelta(minutes=5))
    state = journey.state
    life = RULES.lifecycle
    assert state.interactions > 500
    assert len(state.contacts) == MAX_CONTACTS  # 250 conversations in 83 h: the cap holds
    assert len(state.seen) == MAX_SEEN
    assert len(state.sentiment) == MAX_SENTIMENT
    assert len(state.waiting) <= MAX_WAITING
    assert len(state.opened_times) <= life.max_opened_per_window
    assert all(len(a.evidence) <= life.max_evidence for a in state.open_alerts.values())
    assert state.alerts_opened > 0 and state.alerts_suppressed > 0
    # Open alerts: at most max_opened_per_window new ones per rate window, and each expires
    # expire_after_s after its last update, so no more than this many can be open at once.
    max_open = life.max_opened_per_window * math.ceil(life.expire_after_s / life.rate_window_s)
    assert len(state.open_alerts) <= max_open
    assert len(state.closed) <= max_open + life.max_opened_per_window
    assert len(state.conversations) == MAX_CONVERSATIONS
    assert set(journey.conversations) <= set(state.conversations)  # dropped rows are deleted
    for conv in journey.conversations.values():
        assert len(conv.negative_run) <= RULES.alerts.negative_streak.length

    # The JSON bound, from the caps alone: every list full of items the size of its largest
    # one here (200 contacts, 20 sentiment points, 200 ids, 20 waits, 50 conversations) and
    # every alert the rate limit and expiry let be open at once, each with full evidence: about
    # 440 KB with the default rules, under the 1 MiB default record limit the state's changelog
    # must respect. This busy customer sits near 95 KB: alerts expire, few fill their evidence.
    alerts = list(state.open_alerts.values())
    evidence = [e for a in alerts for e in a.evidence]
    alert_bytes = max(len(a.model_copy(update={"evidence": []}).model_dump_json()) for a in alerts)
    alert_bytes += life.max_evidence * (largest(evidence) + 1)
    entry_bytes = len(f'"waiting_sla|conversation:{state.customer_key}/{"x" * 40}":"{T0}",')
    bound = (
        MAX_CONTACTS * (largest(state.contacts) + 1)
        + MAX_SENTIMENT * (largest(state.sentiment) + 1)
        + MAX_SEEN * (max(len(s) for s in state.seen) + 3)
        + MAX_WAITING * (largest(list(state.waiting.values())) + 60)
        + MAX_CONVERSATIONS * (max(len(k) for k in state.conversations) + len(f'"":"{T0}",'))
        + (max_open + life.max_opened_per_window) * entry_bytes  # closed, opened_times
        + max_open * (alert_bytes + 30)
        + 1024  # the scalars
    )
    size = len(state.model_dump_json())
    assert size <= bound < 1024 * 1024, (size, bound)
    # A conversation's state is small and fixed: its streak is capped at ``length`` items.
    assert max(len(c.model_dump_json()) for c in journey.conversations.values()) < 4096


def test_state_round_trips_through_json() -> None:
    journey = Journey()
    journey.send_all(scripted_customer())
    state = journey.state
    assert CustomerState.model_validate_json(state.model_dump_json()) == state
    for conv in journey.conversations.values():
        assert ConversationState.model_validate_json(conv.model_dump_json()) == conv


def test_rules_copies_do_not_touch_the_defaults() -> None:
    assert MEDIUM_URGENT.alerts.urgent_message.severity == "medium"
    assert RULES.alerts.urgent_message.severity == "high"
    assert MEDIUM_URGENT.alerts.negative_streak is RULES.alerts.negative_streak


# lifecycle.apply on its own, with hand-made signals (what mutation testing found) -----------

ROUTE = Routing(
    queue="care", priority="P3", reason="default row", human_only=False, rules_version="t"
)


def lifecycle_rules(**changes: Any) -> WorkflowRules:
    return RULES.model_copy(update={"lifecycle": RULES.lifecycle.model_copy(update=changes)})


def fresh_customer() -> CustomerState:
    return CustomerState(customer_key="cus_1", first_seen=T0, watermark=T0, updated_at=T0)


def signal(
    *interactions: str,
    entity: str = "cus_1",
    severity: Severity = "medium",
    reasons: tuple[str, ...] = ("it is urgent",),
    alert_type: AlertType = "urgent_message",
) -> Signal:
    evidence = [Evidence(interaction_id=ix, channel="chat", occurred_at=T0) for ix in interactions]
    return Signal(
        type=alert_type,
        entity=entity,
        severity=severity,
        confidence=0.9,
        reasons=list(reasons),
        evidence=evidence,
        trigger=interactions[-1],
    )


def step(
    state: CustomerState,
    *outcomes: Signal | Clear,
    minutes: float,
    route: Routing = ROUTE,
    rules: WorkflowRules = RULES,
) -> list[Alert]:
    return lifecycle.apply(
        state, list(outcomes), at=at(minutes), route=route, next_action="reply", rules=rules
    )


def test_an_alert_id_is_al_and_24_hex_digits_of_the_sha256_of_type_entity_trigger() -> None:
    digest = hashlib.sha256(b"urgent_message|cus_1|ix_1").hexdigest()
    assert lifecycle.alert_id("urgent_message", "cus_1", "ix_1") == f"al_{digest[:24]}"


def test_close_all_resolves_every_open_alert_no_earlier_than_its_last_update() -> None:
    state = fresh_customer()
    step(state, signal("ix_1", entity="conv-1"), minutes=10)
    step(state, signal("ix_2", entity="conv-2"), minutes=20)
    closed = lifecycle.close_all(state, "consent withdrawn", at(15))
    assert [(a.entity, a.status, a.revision, a.close_reason) for a in closed] == [
        ("conv-1", "resolved", 2, "consent withdrawn"),
        ("conv-2", "resolved", 2, "consent withdrawn"),
    ]
    assert [(a.updated_at, a.closed_at) for a in closed] == [(at(15), at(15)), (at(20), at(20))]
    assert state.open_alerts == {}
    assert state.closed == {"urgent_message|conv-1": at(15), "urgent_message|conv-2": at(20)}


def test_the_cooldown_ends_exactly_cooldown_s_after_the_close() -> None:
    state = fresh_customer()
    step(state, signal("ix_1"), minutes=0)
    step(state, Clear(type="urgent_message", entity="cus_1", reason="answered"), minutes=0)
    assert step(state, signal("ix_2"), minutes=30) == []
    assert step(state, signal("ix_3"), minutes=59.9) == []
    assert state.alerts_suppressed == 2
    assert [a.status for a in step(state, signal("ix_4"), minutes=60)] == ["opened"]


def test_the_rate_window_forgets_an_opening_exactly_rate_window_s_later() -> None:
    state = fresh_customer()
    for n in range(4):  # max_opened_per_window
        step(state, signal(f"ix_{n}", entity=f"conv-{n}"), minutes=0)
    assert step(state, signal("ix_5", entity="conv-5"), minutes=59.9) == []
    assert [a.entity for a in step(state, signal("ix_6", entity="conv-6"), minutes=60)] == [
        "conv-6"
    ]


def test_a_customer_holds_at_most_max_open_alerts() -> None:
    state = fresh_customer()
    rules = lifecycle_rules(max_opened_per_window=1_000)
    for n in range(MAX_OPEN_ALERTS):
        assert len(step(state, signal(f"ix_{n}", entity=f"c-{n}"), minutes=0, rules=rules)) == 1
    assert step(state, signal("ix_x", entity="c-x"), minutes=0, rules=rules) == []
    assert len(state.open_alerts) == MAX_OPEN_ALERTS
    assert state.alerts_suppressed == 1


def test_the_playbook_s_action_for_an_alert_type_beats_the_message_s_action() -> None:
    state = fresh_customer()
    repeat = step(state, signal("ix_1", alert_type="repeat_contact"), minutes=0)
    urgent_alert = step(state, signal("ix_2"), minutes=0)
    assert repeat[0].next_action == RULES.playbook.by_alert["repeat_contact"]
    assert urgent_alert[0].next_action == "reply"


def test_an_update_keeps_the_higher_severity_and_takes_the_new_reasons() -> None:
    """By rank (low < medium < high < critical), not by spelling: "medium" > "high" in ASCII."""
    state = fresh_customer()
    step(state, signal("ix_1", severity="high"), minutes=0)
    lower = step(state, signal("ix_1", "ix_2", severity="medium", reasons=("again",)), minutes=1)
    assert [(a.status, a.severity, a.reasons) for a in lower] == [("updated", "high", ["again"])]
    higher = step(state, signal("ix_2", "ix_3", severity="critical"), minutes=2)
    assert [(a.severity, a.reasons) for a in higher] == [("critical", ["it is urgent"])]


def test_an_update_the_model_cannot_read_moves_the_alert_to_its_human_only_route() -> None:
    state = fresh_customer()
    step(state, signal("ix_1"), minutes=0)
    unreadable = ROUTE.model_copy(update={"queue": "language_desk", "human_only": True})
    updated = step(state, signal("ix_1", "ix_2"), minutes=1, route=unreadable)
    assert [(a.route.queue, a.requires_human, a.auto_action_allowed) for a in updated] == [
        ("language_desk", True, False)
    ]


def test_evidence_trimmed_from_the_alert_is_not_new_when_it_comes_again() -> None:
    """With one evidence item kept, a repeat of [ix_1, ix_2] holds ix_2; ix_1 was trimmed."""
    state = fresh_customer()
    rules = lifecycle_rules(max_evidence=1)
    step(state, signal("ix_1"), minutes=0, rules=rules)
    updated = step(state, signal("ix_1", "ix_2"), minutes=1, rules=rules)
    assert [[e.interaction_id for e in a.evidence] for a in updated] == [["ix_2"]]
    assert step(state, signal("ix_1", "ix_2"), minutes=2, rules=rules) == []


@pytest.mark.parametrize(
    ("route", "decision"),
    [
        pytest.param(
            ROUTE.model_copy(
                update={"high_stakes": ["legal_threat", "safety"], "human_only": True}
            ),
            (True, False, "high-stakes (legal_threat, safety): a person decides"),
            id="high-stakes",
        ),
        pytest.param(
            ROUTE.model_copy(update={"human_only": True}),
            (True, False, "routed human only to care: a person decides"),
            id="human-only",
        ),
        pytest.param(
            ROUTE.model_copy(update={"priority": "P1"}),
            (True, False, "routed P1: a person decides"),
            id="priority",
        ),
    ],
)
def test_human_control_takes_the_decision_from_a_person_and_says_why(
    route: Routing, decision: tuple[bool, bool, str]
) -> None:
    assert lifecycle.human_control("low", 1.0, route, False, RULES) == decision
