"""``route`` and ``high_stakes`` against the default rules file: queues, priorities, humans."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.contracts.records import Enriched
from pipeline.workflow import routing
from pipeline.workflow.config import HighStakes, load_rules
from pipeline.workflow.routing import high_stakes, route
from tests.unit.workflow_factory import enriched

RULES = load_rules()
# The routing table rows are checked with no intent high-stakes by itself, so they hold whatever
# a rules file lists under ``high_stakes.intents`` (the default file lists none: "cancel my
# subscription" goes to retention, "close/cancel my account" is caught by the account_closure
# regex instead).
TABLE_ONLY = RULES.model_copy(
    update={"high_stakes": RULES.high_stakes.model_copy(update={"intents": {}})}
)
# A rules file that does make an intent high-stakes by itself.
INTENT_AWARE = RULES.model_copy(
    update={
        "high_stakes": RULES.high_stakes.model_copy(
            update={"intents": {"account_closure": ["cancellation"]}}
        )
    }
)

INTENT_QUEUES = [
    ("billing", "billing"),
    ("refunds", "billing"),
    ("delivery", "logistics"),
    ("account_access", "account_support"),
    ("fraud_security", "fraud"),
    ("cancellation", "retention"),
    ("technical_problem", "tech_support"),
    ("complaint", "complaints"),
    ("praise", "feedback"),
    ("other", "general"),
]

MATCHES = [
    ("legal_threat", "If this isn't fixed by Friday I will sue."),
    ("legal_threat", "My lawyers will be in touch about the overcharge."),
    ("legal_threat", "I've already complained to the ombudsman."),
    ("legal_threat", "See you in small claims court."),
    ("financial_hardship", "I can't afford this on top of everything else."),
    ("financial_hardship", "I can\u2019t afford the new price (curly apostrophe)."),
    ("financial_hardship", "I lost my job last month and cannot pay the bill."),
    ("financial_hardship", "We're facing eviction and a debt collector keeps calling."),
    ("vulnerability", "My husband passed away and the account is in his name."),
    ("vulnerability", "I'm registered disabled and can't get to the branch."),
    ("vulnerability", "My mother has dementia and signed up by mistake."),
    ("vulnerability", "I was hospitalised for two weeks and missed the deadline."),
    ("safety", "The charger caught fire and burnt the carpet."),
    ("safety", "I can smell a gas leak next to your meter."),
    ("safety", "The heater gave my son an electric shock."),
    ("safety", "Honestly I feel suicidal about this debt."),
    ("account_closure", "Please close my account today."),
    ("account_closure", "Delete my profile and everything you hold on me."),
    ("account_closure", "please cancel my account"),
]

NEAR_MISSES = [
    ("legal_threat", "The suede jacket arrived scuffed."),
    ("legal_threat", "Thanks for the courteous reply yesterday."),
    ("financial_hardship", "Is there a more affordable plan?"),
    ("financial_hardship", "I can pay by card if that is easier."),
    ("vulnerability", "My account was disabled after the update."),
    ("vulnerability", "Your hospitality team were lovely."),
    ("safety", "Your app is blocked by our firewall."),
    ("safety", "The smoked salmon was missing from the box."),
    ("account_closure", "Please close the ticket, it's sorted now."),
    ("account_closure", "How do I update my account details?"),
    ("account_closure", "I want to cancel my subscription."),
]


@pytest.mark.parametrize(("intent", "queue"), INTENT_QUEUES)
def test_each_intent_goes_to_its_queue(intent: str, queue: str) -> None:
    decision = route(enriched("hello there", intent=intent), None, TABLE_ONLY)
    assert decision is not None
    assert decision.queue == queue
    assert decision.reason.startswith(f"intent {intent} → {queue}")
    assert not decision.human_only


def test_the_table_above_covers_every_default_row() -> None:
    assert dict(INTENT_QUEUES) == RULES.routing.queues


def test_unknown_intent_goes_to_the_default_queue() -> None:
    decision = route(enriched("hello", intent="astrology"), None, RULES)
    assert decision is not None
    assert decision.queue == RULES.routing.default_queue == "general"
    assert "(default)" in decision.reason


@pytest.mark.parametrize(
    ("urgency", "priority"), [("low", "P4"), ("normal", "P3"), ("high", "P2"), ("critical", "P1")]
)
def test_urgency_level_sets_priority(urgency: str, priority: str) -> None:
    decision = route(enriched("hello", urgency=urgency), None, RULES)
    assert decision is not None
    assert decision.priority == priority
    assert f"urgency {urgency} → {priority}" in decision.reason


@pytest.mark.parametrize(
    ("urgency", "negative", "priority"),
    [
        ("normal", 0.70, "P2"),  # at the threshold: raised
        ("normal", 0.69, "P3"),  # just below: not raised
        ("low", 0.70, "P3"),
        ("high", 0.95, "P1"),
        ("critical", 0.95, "P1"),  # already the highest
    ],
)
def test_negative_sentiment_raises_one_step(urgency: str, negative: float, priority: str) -> None:
    decision = route(enriched("hello", urgency=urgency, negative=negative), None, RULES)
    assert decision is not None
    assert decision.priority == priority
    assert ("≥ 0.70" in decision.reason) == (negative >= 0.70)


@pytest.mark.parametrize(
    ("tier", "priority"),
    [
        ("vip", "P2"),
        ("VIP", "P2"),
        ("Platinum", "P2"),
        ("enterprise", "P2"),
        ("gold", "P3"),
        (None, "P3"),
    ],
)
def test_vip_tier_raises_one_step(tier: str | None, priority: str) -> None:
    decision = route(enriched("hello", urgency="normal"), tier, RULES)
    assert decision is not None
    assert decision.priority == priority


@pytest.mark.parametrize("urgency", ["high", "critical"])
def test_priority_is_capped_at_p1(urgency: str) -> None:
    decision = route(enriched("hello", urgency=urgency, negative=0.9), "vip", RULES)
    assert decision is not None
    assert decision.priority == "P1"
    assert "tier vip → P1" in decision.reason


@pytest.mark.parametrize(("category", "text"), MATCHES)
def test_high_stakes_sentence_matches(category: str, text: str) -> None:
    assert high_stakes(text, "other", RULES.high_stakes) == [category]


@pytest.mark.parametrize(("category", "text"), NEAR_MISSES)
def test_high_stakes_near_miss_does_not_match(category: str, text: str) -> None:
    assert high_stakes(text, "other", RULES.high_stakes) == [], category


def test_high_stakes_is_case_insensitive_sorted_and_intent_aware() -> None:
    text = "I LOST MY JOB and my LAWYER says you overcharged me"
    assert high_stakes(text, None, RULES.high_stakes) == ["financial_hardship", "legal_threat"]
    assert high_stakes(None, None, RULES.high_stakes) == []
    # Intent-aware only where the rules file lists the intent: the default file lists none.
    assert RULES.high_stakes.intents == {}
    assert high_stakes(None, "cancellation", RULES.high_stakes) == []
    assert high_stakes(None, "cancellation", INTENT_AWARE.high_stakes) == ["account_closure"]
    assert high_stakes(None, "billing", INTENT_AWARE.high_stakes) == []
    assert high_stakes("I will sue", "cancellation", INTENT_AWARE.high_stakes) == [
        "account_closure",
        "legal_threat",
    ]


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    # With backtracking, (a+)+$ on "a" * 36 + "!" froze the worker (issue 20); on 100,000 a's
    # this would never return. RE2 answers in one pass (no timing assertion needed: it returns).
    nested = HighStakes(patterns={"legal_threat": ["(a+)+$"]})
    assert high_stakes("a" * 100_000 + "!", None, nested) == []
    assert high_stakes("A" * 100_000, None, nested) == ["legal_threat"]


def test_high_stakes_compiles_each_rules_object_once() -> None:
    high_stakes("first", None, RULES.high_stakes)
    before = routing._compiled.cache_info()
    high_stakes("second", None, RULES.high_stakes)
    after = routing._compiled.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


@pytest.mark.parametrize(("category", "text"), MATCHES)
def test_high_stakes_forces_human_queue_and_p2_at_low_urgency(category: str, text: str) -> None:
    decision = route(enriched(text, urgency="low", intent="billing"), None, RULES)
    assert decision is not None
    assert decision.queue == RULES.high_stakes.queue == "specialist_human"
    assert decision.priority == "P2"
    assert decision.human_only
    assert decision.high_stakes == [category]
    assert decision.reason.endswith(f"high-stakes {category} → specialist_human, P2 (human only)")


def test_high_stakes_keeps_a_higher_priority() -> None:
    decision = route(enriched("I will sue", urgency="critical"), None, RULES)
    assert decision is not None
    assert (decision.queue, decision.priority, decision.human_only) == (
        "specialist_human",
        "P1",
        True,
    )


def test_cancelling_a_subscription_goes_to_retention_not_a_human() -> None:
    event = enriched(
        "I want to cancel my subscription", intent="cancellation", urgency="high", negative=0.82
    )
    decision = route(event, None, RULES)
    assert decision is not None
    assert decision.reason == (
        "intent cancellation → retention; urgency high → P2; negative 0.82 ≥ 0.70 → P1"
    )
    assert (decision.queue, decision.priority, decision.high_stakes) == ("retention", "P1", [])
    assert not decision.human_only


def test_cancelling_the_account_goes_to_a_human_by_the_account_closure_pattern() -> None:
    event = enriched("please cancel my account", intent="cancellation", urgency="normal")
    decision = route(event, None, RULES)
    assert decision is not None
    assert decision.reason == (
        "intent cancellation → retention; urgency normal → P3; "
        "high-stakes account_closure → specialist_human, P2 (human only)"
    )
    assert (decision.queue, decision.priority, decision.high_stakes) == (
        "specialist_human",
        "P2",
        ["account_closure"],
    )
    assert decision.human_only


def test_an_intent_listed_as_high_stakes_overrides_the_queue() -> None:
    event = enriched("I want to cancel my subscription", intent="cancellation", urgency="high")
    decision = route(event, None, INTENT_AWARE)
    assert decision is not None
    assert (decision.queue, decision.priority, decision.high_stakes, decision.human_only) == (
        "specialist_human",
        "P2",
        ["account_closure"],
        True,
    )


@pytest.mark.parametrize("author", ["agent", "bot", "system"])
def test_agent_messages_are_not_routed(author: str) -> None:
    event = enriched("I will sue if the charger catches fire", author=author, urgency="critical")
    decision = route(event, "vip", RULES)
    assert decision is not None
    assert decision.queue == RULES.routing.agent_queue == "none"
    assert decision.priority == "P4"
    assert not decision.human_only
    assert decision.high_stakes == []
    assert "not routed" in decision.reason
    assert author in decision.reason


def test_unscored_events_are_not_routed() -> None:
    assert route(enriched(None, event_type="page"), "vip", RULES) is None
    no_scores = enriched("hello").model_copy(update={"scores": None})
    assert route(no_scores, None, RULES) is None


def test_rules_version_names_the_version_and_fingerprint() -> None:
    decision = route(enriched("hello"), None, RULES)
    assert decision is not None
    assert decision.rules_version == f"{RULES.version}@{RULES.fingerprint}"
    assert re.fullmatch(r"2026-11-29@[0-9a-f]{16}", decision.rules_version)


def _without(event: Enriched, **changes: Any) -> Enriched:
    """The event with some of its scores replaced or absent (a model head that gave nothing)."""
    assert event.scores is not None
    return event.model_copy(update={"scores": event.scores.model_copy(update=changes)})


def _no_negative(event: Enriched) -> Enriched:
    """The event with a sentiment that has no ``negative`` probability at all."""
    assert event.scores is not None and event.scores.sentiment is not None
    sentiment = event.scores.sentiment.model_copy(update={"probabilities": {"positive": 1.0}})
    return _without(event, sentiment=sentiment)


@pytest.mark.parametrize(
    ("event", "tier", "reason", "priority"),
    [
        pytest.param(
            enriched("hello", intent="astrology"),
            None,
            "intent astrology → general (default); urgency normal → P3",
            "P3",
            id="unknown-intent",
        ),
        pytest.param(
            enriched("hello", intent="delivery", urgency="high", negative=0.8),
            "vip",
            "intent delivery → logistics; urgency high → P2; negative 0.80 ≥ 0.70 → P1; "
            "tier vip → P1",
            "P1",
            id="every-raise",
        ),
        pytest.param(
            enriched("I will sue you", intent="billing", urgency="low"),
            None,
            "intent billing → billing; urgency low → P4; "
            "high-stakes legal_threat → specialist_human, P2 (human only)",
            "P2",
            id="high-stakes-raises",
        ),
        pytest.param(
            enriched("I will sue you", intent="billing", urgency="high"),
            None,
            "intent billing → billing; urgency high → P2; "
            "high-stakes legal_threat → specialist_human (human only)",
            "P2",
            id="high-stakes-already-at-p2",
        ),
        pytest.param(
            enriched("My lawyers saw the fire", intent="complaint", urgency="critical"),
            None,
            "intent complaint → complaints; urgency critical → P1; "
            "high-stakes legal_threat, safety → specialist_human (human only)",
            "P1",
            id="high-stakes-keeps-p1",
        ),
        pytest.param(
            _without(enriched("hello", negative=0.9), urgency=None, intent=None, sentiment=None),
            None,
            "intent other → general; urgency unknown → P3 (default)",
            "P3",
            id="no-urgency-intent-or-sentiment",
        ),
        pytest.param(
            _no_negative(enriched("hello")),
            None,
            "intent other → general; urgency normal → P3",
            "P3",
            id="sentiment-without-negative",
        ),
    ],
)
def test_the_reason_names_every_step_that_decided(
    event: Enriched, tier: str | None, reason: str, priority: str
) -> None:
    decision = route(event, tier, RULES)
    assert decision is not None
    assert (decision.reason, decision.priority) == (reason, priority)


def _unreadable(text: str, language: str | None) -> Enriched:
    """A text in a language the model does not read, as the score stage leaves it."""
    return enriched(text).model_copy(
        update={
            "scored": False,
            "scores": None,
            "ai": None,
            "unscored_reason": UNSUPPORTED_LANGUAGE,
            "language": language,
        }
    )


@pytest.mark.parametrize(
    ("event", "reason", "priority"),
    [
        pytest.param(
            _unreadable("Wo ist mein Paket?", "de"),
            "language de is not one the model reads (unscored) → support_de; "
            "urgency unknown → P3 (default); human only",
            "P3",
            id="listed-language",
        ),
        pytest.param(
            _unreadable("Dov'è il mio pacco?", "it"),
            "language it is not one the model reads (unscored) → multilingual "
            "(default language queue); urgency unknown → P3 (default); human only",
            "P3",
            id="unlisted-language",
        ),
        pytest.param(
            _unreadable("?!", None),
            "language unknown is not one the model reads (unscored) → multilingual "
            "(default language queue); urgency unknown → P3 (default); human only",
            "P3",
            id="no-language",
        ),
        pytest.param(
            _unreadable("Mein lawyer sagt, das ist fire", "de"),
            "language de is not one the model reads (unscored) → support_de; "
            "urgency unknown → P3 (default); high-stakes legal_threat, safety → P2; human only",
            "P2",
            id="high-stakes-words",
        ),
    ],
)
def test_an_unreadable_message_s_reason_names_its_language_and_every_step(
    event: Enriched, reason: str, priority: str
) -> None:
    decision = route(event, None, RULES)
    assert decision is not None
    assert (decision.reason, decision.priority, decision.human_only) == (reason, priority, True)
