"""Languages the model cannot read, end to end on the real broker (issue 16).

A German customer writes the issue's "my order has not arrived for two weeks" by email, chat
and chat again; an Arabic customer writes "the order has not arrived yet"; an English customer
writes the same three messages in English. The last chats are sent once the first messages are
on ``cx.enriched``, so the workflow sees every customer's contacts in event-time order.

On ``cx.enriched`` the German and Arabic messages are unscored (``unsupported_language``) and
routed to their language queues for a person; on ``cx.alerts`` the German customer's
repeat-contact alert needs a person while the English control's identical alert is allowed to
act (this test's rules let P1/P2 cases act, so only the language keeps the German alert from
an automatic action); the worker's Prometheus counter counts the unsupported messages by
language.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.settings import Settings
from pipeline.tools.output_accounting import read_all
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.workflow.config import DEFAULT_RULES_FILE
from tests.waiting import wait_until

NOW = datetime.now(UTC).replace(microsecond=0)
GERMAN = {"id": "cus-lang-de", "email": "jonas.lang@example.com"}
ARABIC = {"id": "cus-lang-ar", "email": "amal.lang@example.com"}
ENGLISH = {"id": "cus-lang-en", "email": "jo.lang@example.com"}
TEXTS = {
    "de": (
        "Meine Bestellung ist seit zwei Wochen nicht angekommen",
        "Guten Tag, meine Bestellung 4711 ist seit zwei Wochen nicht angekommen. "
        "Bitte melden Sie sich.",
        "Hallo, ich warte immer noch auf meine Bestellung. Können Sie mir bitte helfen?",
    ),
    "en": (
        "My order has not arrived for two weeks",
        "Good morning, order 4711 has not arrived after two weeks. Please get back to me.",
        "Hello, I am still waiting for my order. Could you please help me?",
    ),
}
ARABIC_TEXT = "الطلب لم يصل بعد"  # the order has not arrived yet


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings, tmp_path: Path) -> Settings:
    """The default rules, except that P1/P2 cases may act alone (so the control can)."""
    rules = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    rules["human_control"]["human_priorities"] = []
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return pipeline_settings.model_copy(update={"rules_file": path})


def _iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def _chat(customer: dict[str, str], conv: str, text: str, ago: float) -> Outgoing:
    body = {
        "message_id": f"{conv}-m1",
        "conversation_id": conv,
        "sent_at": _iso(ago),
        "author_role": "customer",
        "customer": customer,
        "text": text,
    }
    return Outgoing("chat", conv.encode(), json.dumps(body, ensure_ascii=False).encode())


def _email(customer: dict[str, str], thread: str, text: str, ago: float) -> Outgoing:
    body = {
        "message_id": f"<{thread}@mail.example>",
        "received_at": _iso(ago),
        "from": customer["email"],
        "to": "support@shop.example",
        "subject": "Bestellung" if customer is GERMAN else "Order",
        "text": text,
    }
    return Outgoing("email", None, json.dumps(body, ensure_ascii=False).encode())


def _first_contacts(customer: dict[str, str], language: str) -> list[Outgoing]:
    """An email and a chat; with :func:`_last_contact` three contacts over two channels within
    the hour: a repeat_contact alert (confidence 1.0, severity medium)."""
    first, second, _ = TEXTS[language]
    return [
        _email(customer, f"thread-{language}-1", second, 50),
        _chat(customer, f"conv-{language}-1", first, 30),
    ]


def _last_contact(customer: dict[str, str], language: str) -> Outgoing:
    return _chat(customer, f"conv-{language}-2", TEXTS[language][2], 10)


def _on_topics(settings: Settings, script: list[Outgoing]) -> list[Outgoing]:
    return [Outgoing(settings.topics.raw(m.topic), m.key, m.value) for m in script]


def _wait_for(
    settings: Settings, topic: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []

    def arrived() -> bool:
        records[:] = read_all(settings, topic)
        return done(records)

    wait_until(f"records on {topic}", arrived, 120, every_s=1.0, detail=lambda: records)
    return records


def _unsupported_counts(settings: Settings) -> dict[str, float]:
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        sample.labels["language"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "cxstream_unsupported_language"
        for sample in family.samples
        if sample.name == "cxstream_unsupported_language_total"
    }


def test_messages_the_model_cannot_read_go_to_a_person_in_their_language(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    settings = pipeline_settings
    first = [
        *_first_contacts(GERMAN, "de"),
        _chat(ARABIC, "conv-ar-1", ARABIC_TEXT, 20),
        *_first_contacts(ENGLISH, "en"),
    ]
    produce(settings, _on_topics(settings, first))
    _wait_for(settings, settings.topics.enriched, lambda r: len(r) >= len(first))
    produce(
        settings, _on_topics(settings, [_last_contact(GERMAN, "de"), _last_contact(ENGLISH, "en")])
    )
    enriched = _wait_for(settings, settings.topics.enriched, lambda r: len(r) >= len(first) + 2)
    assert len(enriched) == len(first) + 2
    german = [e for e in enriched if e["language"] == "de"]
    arabic = [e for e in enriched if e["language"] == "ar"]
    english = [e for e in enriched if e["language"] == "en"]
    assert (len(german), len(arabic), len(english)) == (3, 1, 3), [
        (e["language"], e["text"]) for e in enriched
    ]

    # Not scored, not pretended: no scores, no provenance, the reason; a person who reads it.
    for e, queue in [*((e, "support_de") for e in german), (arabic[0], "support_ar")]:
        assert (e["scored"], e["unscored_reason"]) == (False, UNSUPPORTED_LANGUAGE)
        assert e["scores"] is None and e["ai"] is None
        routing = e["routing"]
        assert (routing["queue"], routing["priority"], routing["human_only"]) == (queue, "P3", True)
        lang = e["language"]
        assert routing["reason"].startswith(f"language {lang} is not one the model reads")
    assert arabic[0]["text"] == ARABIC_TEXT
    # The English control is scored and routed by its intent as before.
    for e in english:
        assert e["scored"] and e["scores"]["sentiment"] and e["ai"]["model"]
        assert e["routing"]["queue"] not in {"support_de", "support_ar", "multilingual"}

    # The same situation (three contacts over two channels in an hour) alerts for both
    # customers; only the English one may be acted on automatically.
    keys = {e["language"]: e["customer_key"] for e in german + english}
    alerts = _wait_for(
        settings,
        settings.topics.alerts,
        lambda r: (
            {a["customer_key"] for a in r if a["type"] == "repeat_contact"} >= set(keys.values())
        ),
    )
    repeat = {a["customer_key"]: a for a in alerts if a["type"] == "repeat_contact"}
    control, held = repeat[keys["en"]], repeat[keys["de"]]
    assert (control["requires_human"], control["auto_action_allowed"]) == (False, True)
    assert (held["requires_human"], held["auto_action_allowed"]) == (True, False)
    assert held["route"]["queue"] == "support_de" and held["route"]["human_only"]
    assert held["control_reason"] == "routed human only to support_de: a person decides"
    unreadable_keys = {keys["de"], arabic[0]["customer_key"]}
    assert [
        a for a in alerts if a["customer_key"] in unreadable_keys and a["auto_action_allowed"]
    ] == []

    wait_until(
        "cxstream_unsupported_language_total by language",
        lambda: _unsupported_counts(settings) == {"de": 3.0, "ar": 1.0},
        30,
        detail=lambda: _unsupported_counts(settings),
    )
