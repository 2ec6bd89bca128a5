"""Languages the model cannot read: not scored, routed to a person by language, never automatic.

The issue's examples: a German "my order has not arrived for two weeks" and an Arabic "the
order has not arrived yet" come out of the committed model as ``positive`` / ``neutral``,
intent ``other``, urgency ``low``: confident and wrong. Here the real standardise detector, the
real model card, the real scorer and the default rules file decide what happens instead.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from prometheus_client import CollectorRegistry

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE, is_iso639_1, language_label
from pipeline.contracts.records import Enriched
from pipeline.metrics import Metrics
from pipeline.scoring.agent import BatchScorer
from pipeline.scoring.card import ModelCard, load_card
from pipeline.scoring.enrich import enrich
from pipeline.scoring.scorer import Scorer
from pipeline.settings import Settings
from pipeline.standardise.normalise.language import detect_language
from pipeline.streaming.delivery import Source
from pipeline.workflow.config import RulesFileError, WorkflowRules, load_rules
from pipeline.workflow.routing import route
from tests.unit.interactions import chat_interaction
from tests.unit.test_workflow_rules import HOUR, Journey, of_type
from tests.unit.workflow_factory import T0, enriched

MODEL_DIR = Settings().model_dir
RULES = load_rules()
GERMAN = "Meine Bestellung ist seit zwei Wochen nicht angekommen"
ARABIC = "الطلب لم يصل بعد"  # the order has not arrived yet
ENGLISH = "My order has not arrived for two weeks"


@cache
def scorer() -> Scorer:
    return Scorer(MODEL_DIR)


def unreadable(
    text: str = GERMAN, language: str | None = "de", **kwargs: Any
) -> Enriched:  # an event as the score stage leaves a text it cannot read
    return enriched(text, **kwargs).model_copy(
        update={
            "scored": False,
            "scores": None,
            "ai": None,
            "unscored_reason": UNSUPPORTED_LANGUAGE,
            "language": language,
        }
    )


# -- detection and the model card ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"), [(GERMAN, "de"), (ARABIC, "ar"), (ENGLISH, "en"), ("refund pls", None)]
)
def test_the_issues_examples_are_detected_at_standardise(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_the_committed_card_reads_english_only() -> None:
    card = load_card(MODEL_DIR)
    assert card.languages == ["en"]
    assert (card.reads("en"), card.reads(None), card.reads("de"), card.reads("ar")) == (
        True,
        True,
        False,
        False,
    )


def test_a_card_written_before_languages_reads_english(tmp_path: Path) -> None:
    data = json.loads((MODEL_DIR / "model_card.json").read_text())
    data.pop("languages", None)
    assert ModelCard.model_validate(data).languages == ["en"]


@pytest.mark.parametrize("bad", [["ge"], ["EN"], ["eng"], []])
def test_a_card_lists_iso_639_1_codes_only(bad: list[str]) -> None:
    data = json.loads((MODEL_DIR / "model_card.json").read_text())
    with pytest.raises(ValueError, match="languages"):
        ModelCard.model_validate({**data, "languages": bad})


def test_metric_labels_are_iso_codes_or_other() -> None:
    assert [language_label(x) for x in ("de", "ar", None, "zxx", "x" * 300, "DE")] == [
        "de",
        "ar",
        "other",
        "other",
        "other",
        "other",
    ]
    assert is_iso639_1("he") and not is_iso639_1("iw")  # withdrawn codes are not codes


# -- the score stage -----------------------------------------------------------------------------
def test_a_text_the_model_cannot_read_is_not_scored() -> None:
    batch = [
        chat_interaction(0, GERMAN, "de"),
        chat_interaction(1, ARABIC, "ar"),
        chat_interaction(2, ENGLISH, "en"),
        chat_interaction(3, "refund pls", None),
        chat_interaction(4, None, None),
    ]
    out = enrich(batch, scorer())
    assert [(e.scored, e.unscored_reason) for e in out] == [
        (False, UNSUPPORTED_LANGUAGE),
        (False, UNSUPPORTED_LANGUAGE),
        (True, None),
        (True, None),  # too short to tell: scored as before
        (False, "no text to score"),
    ]
    assert out[0].scores is None and out[0].ai is None and out[0].text == GERMAN
    assert out[2].scores is not None and out[2].ai is not None


def test_a_batch_error_does_not_hide_the_language_reason() -> None:
    broken = mock.Mock(spec_set=scorer())
    broken.card = scorer().card
    broken.score.side_effect = RuntimeError("onnxruntime fell over")
    out = enrich([chat_interaction(0, GERMAN, "de"), chat_interaction(1, ENGLISH, "en")], broken)
    assert out[0].unscored_reason == UNSUPPORTED_LANGUAGE
    assert out[1].unscored_reason == "scoring failed: RuntimeError: onnxruntime fell over"


def test_the_score_stage_counts_unsupported_languages_by_code(tmp_path: Path) -> None:
    metrics = Metrics(CollectorRegistry())
    settings = Settings(state_dir=tmp_path)
    texts = [(GERMAN, "de"), (GERMAN, "de"), (ARABIC, "ar"), (ENGLISH, "en")]
    sources = [
        Source(
            "cx.interactions",
            0,
            i,
            b"cus_1",
            chat_interaction(i, t, lang).model_dump_json().encode(),
        )
        for i, (t, lang) in enumerate(texts)
    ]
    keyed, errors = BatchScorer(scorer(), settings, metrics, None)(sources)
    assert errors == [None] * 4 and len(keyed) == 4
    value = metrics.registry.get_sample_value
    assert value("cxstream_unsupported_language_total", {"language": "de"}) == 2
    assert value("cxstream_unsupported_language_total", {"language": "ar"}) == 1
    assert value("cxstream_unsupported_language_total", {"language": "en"}) is None


# -- routing -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "queue", "why"),
    [
        ("de", "support_de", "language de is not one the model reads (unscored) → support_de"),
        ("ar", "support_ar", "language ar is not one the model reads (unscored) → support_ar"),
        ("it", "multilingual", "→ multilingual (default language queue)"),
    ],
)
def test_an_unreadable_message_goes_to_its_language_queue(
    language: str, queue: str, why: str
) -> None:
    decision = route(unreadable(language=language), None, RULES)
    assert decision is not None
    assert (decision.queue, decision.priority, decision.human_only) == (queue, "P3", True)
    assert why in decision.reason
    assert decision.reason.endswith("urgency unknown → P3 (default); human only")


def test_a_raised_tier_and_a_high_stakes_word_raise_the_priority_but_keep_the_queue() -> None:
    vip = route(unreadable(), "vip", RULES)
    assert vip is not None and (vip.queue, vip.priority) == ("support_de", "P2")
    lawyer = route(unreadable("Mein lawyer sagt, ich soll klagen", "de"), None, RULES)
    assert lawyer is not None
    assert (lawyer.queue, lawyer.priority, lawyer.high_stakes) == (
        "support_de",
        "P2",
        ["legal_threat"],
    )


def test_an_agent_reply_in_another_language_is_not_routed_to_a_person() -> None:
    decision = route(unreadable(author="agent"), None, RULES)
    assert decision is not None
    assert (decision.queue, decision.human_only) == (RULES.routing.agent_queue, False)


def test_other_unscored_events_are_still_not_routed() -> None:
    failed = unreadable().model_copy(update={"unscored_reason": "scoring disabled"})
    assert route(failed, None, RULES) is None


def test_the_language_queues_come_from_the_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("routing:\n  language_queues: {de: team_dach}\n  default_language_queue: mlq\n")
    rules = load_rules(path)
    decisions = [route(unreadable(language=x), None, rules) for x in ("de", "ar")]
    assert [d.queue if d else None for d in decisions] == ["team_dach", "mlq"]
    path.write_text("routing:\n  language_queues: {ge: team_dach}\n")
    with pytest.raises(RulesFileError, match=r"routing\.language_queues\.ge.*'ge' is not an ISO"):
        load_rules(path)


# -- no automatic action -------------------------------------------------------------------------
def _three_contacts(message: Any) -> list[Enriched]:
    """Chat, email, chat within 24 h: a repeat_contact alert (confidence 1.0, medium)."""
    return [
        message(channel="chat", conversation="conv-a", minutes=0),
        message(channel="email", conversation="thread-b", minutes=3 * HOUR),
        message(channel="chat", conversation="conv-c", minutes=6 * HOUR),
    ]


def test_an_alert_on_an_unreadable_message_never_allows_an_automatic_action() -> None:
    english = Journey().send_all(_three_contacts(lambda **kw: enriched(ENGLISH, **kw)))
    [control] = of_type(english, "repeat_contact")
    assert (control.requires_human, control.auto_action_allowed) == (False, True)

    german = Journey().send_all(_three_contacts(lambda **kw: unreadable(**kw)))
    [alert] = of_type(german, "repeat_contact")
    assert (alert.requires_human, alert.auto_action_allowed) == (True, False)
    assert alert.route.queue == "support_de" and alert.route.human_only
    assert alert.control_reason == "routed human only to support_de: a person decides"


def test_an_open_alert_updated_by_an_unreadable_message_moves_to_a_person() -> None:
    journey = Journey()
    events = _three_contacts(lambda **kw: enriched(ENGLISH, **kw))
    [opened] = of_type(journey.send_all(events), "repeat_contact")
    assert opened.auto_action_allowed
    later = unreadable(channel="voice", conversation="call-d", minutes=7 * HOUR)
    [updated] = of_type(journey.send(later).alerts, "repeat_contact")
    assert (updated.status, updated.route.queue, updated.auto_action_allowed) == (
        "updated",
        "support_de",
        False,
    )


def test_a_waiting_unreadable_message_breaches_its_sla_for_a_person() -> None:
    # A rules file that lets P2 cases act alone: only the language keeps this one for a person.
    rules = RULES.model_copy(
        update={"human_control": RULES.human_control.model_copy(update={"human_priorities": []})}
    )
    for message, human in ((unreadable(), True), (enriched(ENGLISH), False)):
        journey = Journey(rules=rules)
        journey.send(message)
        [alert] = journey.tick(T0 + timedelta(minutes=10)).alerts
        assert alert.type == "waiting_sla" and alert.route.human_only is human
        assert alert.requires_human is human


def test_an_unreadable_web_message_is_a_contact() -> None:
    journey = Journey()
    outcome = journey.send(unreadable(channel="web", conversation=None))
    assert outcome.conversation is not None
    assert [c.channel for c in journey.state.contacts] == ["web"]


def test_rules_without_language_queues_use_the_default_queue() -> None:
    bare = WorkflowRules()
    decision = route(unreadable(), None, bare)
    assert decision is not None and (decision.queue, decision.human_only) == ("multilingual", True)
