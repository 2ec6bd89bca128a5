"""Table records stay under what a changelog topic accepts: the check, and the worst cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.contracts.risk import RiskAssessment
from pipeline.contracts.table_values import (
    MAX_TABLE_VALUE_BYTES,
    TableValueTooLarge,
    check_table_value,
)
from pipeline.contracts.workflow import Alert, Evidence, Routing, SentimentPoint, Waiting
from pipeline.risk.features import FEATURE_NAMES
from pipeline.risk.model import Coefficients
from pipeline.workflow.config import cached_rules
from pipeline.workflow.state import (
    MAX_CONTACTS,
    MAX_CONVERSATION_CHARS,
    MAX_CONVERSATIONS,
    MAX_OPEN_ALERTS,
    MAX_SEEN,
    MAX_SENTIMENT,
    MAX_TIER_CHARS,
    MAX_WAITING,
    WORST_CONVERSATION_BYTES,
    WORST_CUSTOMER_BYTES,
    Contact,
    ConversationState,
    CustomerState,
    apply_traits,
    bounded_name,
    conversation_entity,
)
from tests.unit.workflow_factory import enriched

WIDE = "\U0001f600"  # 4 bytes in UTF-8, 12 in escaped JSON
T = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
KEY = "ix_" + "0" * 24  # the longest customer key: an interaction id standing in for one
IX = "ix_" + "f" * 24
RULES = cached_rules(None)


@pytest.mark.parametrize(
    ("key", "value", "size"),
    [
        pytest.param("k", {"a": "é"}, 1 + len('{"a":"\\u00e9"}'), id="json-escaped"),
        pytest.param(b"k", b"\xc3\xa9", 3, id="bytes-as-they-are"),
        pytest.param("k", "x" * (MAX_TABLE_VALUE_BYTES - 3), MAX_TABLE_VALUE_BYTES, id="at-bound"),
    ],
)
def test_check_returns_the_record_size(key: str | bytes, value: object, size: int) -> None:
    assert check_table_value("t", key, value) == size


def test_check_refuses_a_record_over_the_bound_naming_table_and_size() -> None:
    with pytest.raises(TableValueTooLarge) as caught:
        check_table_value("identity-members", "cus_1", {"ids": ["x" * MAX_TABLE_VALUE_BYTES]})
    size = len("cus_1") + len(json.dumps({"ids": ["x" * MAX_TABLE_VALUE_BYTES]}).replace(" ", ""))
    assert (caught.value.table, caught.value.size) == ("identity-members", size)
    assert str(caught.value) == (
        f"identity-members[cus_1]: a {size:,}-byte record exceeds the 900,000-byte table value "
        "bound (its changelog topic would refuse it); not written"
    )


def test_the_bound_leaves_room_under_the_producer_limit() -> None:
    assert MAX_TABLE_VALUE_BYTES + 100_000 <= 1_000_000


# -- workflow state at every cap ---------------------------------------------------------------


def conv(i: int) -> str:
    return bounded_name(f"{i:03d}" + WIDE * 1000)


def evidence(i: int) -> Evidence:
    return Evidence(
        interaction_id=IX,
        channel="email",
        occurred_at=T,
        conversation=conv(i),
        sentiment="negative",
        sentiment_value=-0.9999,
        urgency=0.9999,
        urgency_level="critical",
        intent="x" * 64,
        note="n" * 200,
    )


ROUTE = Routing(
    queue="q" * 64,
    priority="P1",
    reason="r" * 600,
    high_stakes=["legal_threat", "financial_hardship", "vulnerability", "safety", "closure"],
    human_only=True,
    rules_version="v" * 64,
)


def alert(i: int) -> Alert:
    return Alert(
        alert_id="al_" + "a" * 24,
        type="negative_streak",
        status="updated",
        revision=10**9,
        customer_key=KEY,
        entity=conversation_entity(KEY, conv(i)),
        severity="critical",
        confidence=0.9999,
        reasons=["r" * 400 + conv(i)] * 3,
        evidence=[evidence(j) for j in range(RULES.lifecycle.max_evidence)],
        next_action="n" * 400,
        route=ROUTE,
        requires_human=True,
        auto_action_allowed=False,
        control_reason="c" * 300,
        opened_at=T,
        updated_at=T,
        closed_at=T,
        close_reason="c" * 300,
        rules_version="v" * 64,
    )


def worst_risk() -> RiskAssessment:
    """Every feature a driver, each value at an absurd width, the longest version allowed."""
    every = Coefficients(intercept=0.0, weights=dict.fromkeys(FEATURE_NAMES, -9.9999))
    score = every.score(dict.fromkeys(FEATURE_NAMES, -99_999.9999))
    return RiskAssessment(
        churn_risk=score,
        escalation_risk=score,
        model_version="v" * 64,
        assessed_at=T,
        interaction_id=IX,
    )


def waiting(i: int) -> Waiting:
    return Waiting(conversation=conv(i), channel="email", since=T, asked_at=T, interaction_id=IX)


def test_a_customer_state_at_every_cap_is_under_its_documented_bound() -> None:
    life = RULES.lifecycle
    state = CustomerState.new(KEY, T)
    state.last_contact_at = T
    state.last_channel = "survey"
    state.interactions = state.alerts_opened = state.alerts_suppressed = 10**12
    state.last_intent = "x" * 64
    state.tier = WIDE * MAX_TIER_CHARS
    state.contacts = [
        Contact(at=T, channel="survey", conversation=conv(i), interaction_id=IX)
        for i in range(MAX_CONTACTS)
    ]
    state.sentiment = [
        SentimentPoint(at=T, interaction_id=IX, channel="survey", label="negative", value=-0.99)
    ] * MAX_SENTIMENT
    state.open_alerts = {f"al_{i:024d}": alert(i) for i in range(MAX_OPEN_ALERTS)}
    # closed within the cooldown: the alerts open at its start plus those opened during it
    closing = MAX_OPEN_ALERTS + life.max_opened_per_window * int(
        -(-life.cooldown_s // life.rate_window_s)
    )
    state.closed = {
        f"negative_streak|{conversation_entity(KEY, conv(i))}": T for i in range(closing)
    }
    state.opened_times = [T] * life.max_opened_per_window
    state.waiting = {conv(i): waiting(i) for i in range(MAX_WAITING)}
    state.seen = [IX] * MAX_SEEN
    state.conversations = {conv(i): T for i in range(MAX_CONVERSATIONS)}
    state.last_purchase_at = T
    state.risk = worst_risk()
    size = check_table_value("customers", KEY.encode(), state.model_dump_json().encode())
    assert size <= WORST_CUSTOMER_BYTES < MAX_TABLE_VALUE_BYTES


def test_a_conversation_state_at_every_cap_is_under_its_documented_bound() -> None:
    state = ConversationState(
        customer_key=KEY,
        conversation=conv(0),
        channel="email",
        started_at=T,
        last_at=T,
        negative_run=[evidence(i) for i in range(RULES.alerts.negative_streak.length)],
        waiting=waiting(0),
        last_reply_at=T,
        last_queue="q" * 64,
    )
    key = f"{KEY}/{conv(0)}".encode()
    size = check_table_value("conversations", key, state.model_dump_json().encode())
    assert size <= WORST_CONVERSATION_BYTES < MAX_TABLE_VALUE_BYTES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("conv-1", "conv-1", id="short-kept"),
        pytest.param("c" * MAX_CONVERSATION_CHARS, "c" * MAX_CONVERSATION_CHARS, id="at-limit"),
        pytest.param(
            "c" * 200,
            "c" * 100 + "#5e39abe881f543e1215902fe",
            id="long-hashed",
        ),
    ],
)
def test_conversation_names_are_bounded(name: str, expected: str) -> None:
    bounded = bounded_name(name)
    assert bounded == expected
    assert len(bounded) <= MAX_CONVERSATION_CHARS
    assert bounded_name(name) == bounded  # deterministic


def test_a_tier_longer_than_the_limit_is_ignored() -> None:
    state = CustomerState.new(KEY, T)
    long_tier = enriched(attributes={"traits": {"tier": "g" * (MAX_TIER_CHARS + 1)}})
    assert apply_traits(state, long_tier, RULES) is False
    assert state.tier is None
    fits = enriched(attributes={"traits": {"tier": "G" * MAX_TIER_CHARS}})
    assert apply_traits(state, fits, RULES) is True
    assert state.tier == "g" * MAX_TIER_CHARS
