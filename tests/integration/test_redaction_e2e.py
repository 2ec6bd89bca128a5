"""Redaction end to end on the real broker: personal data in customer messages never leaves the
raw topics.

A customer writes three angry chats and a cancellation email (enough for alerts and a profile)
that carry a Luhn-valid card number, an IBAN, an email address and a phone number. With a
pseudonymisation key set, every record of every topic after the raw ones (cx.interactions,
cx.enriched, cx.alerts, cx.profiles, and also the internal topics, cx.identity and the tables'
changelogs) is scanned as raw bytes for the original strings, their compact and digits-only
forms: none may appear. Without a key, the text is still redacted and only ``identifiers``
carry the contact data identity needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from pydantic import SecretStr

from pipeline.settings import Settings
from pipeline.tools.output_accounting import read_all
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from tests.waiting import wait_until

NOW = datetime.now(UTC).replace(microsecond=0)
CARD, IBAN = "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"
EMAIL, PHONE, NAME = "dana.angry@example.com", "+44 20 7946 0958", "Dana Angry"
CUSTOMER = {"id": "cus-pii-1", "email": EMAIL, "phone": PHONE, "name": NAME}
SECRETS = [
    CARD,
    CARD.replace(" ", ""),
    IBAN,
    IBAN.replace(" ", ""),
    EMAIL,
    EMAIL.upper(),
    PHONE,
    "+442079460958",
    "442079460958",
    "2079460958",
    "7946 0958",
    NAME,
    CUSTOMER["id"],
]
"""Every form the values could travel in (the customer id too: it is an identifier)."""
KEY = "a-test-key-of-thirty-two-chars!!"


def _chat(n: int, text: str, minutes_ago: float) -> tuple[str, dict[str, Any]]:
    return "chat", {
        "message_id": f"conv-pii-1-m{n}",
        "conversation_id": "conv-pii-1",
        "sent_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
        "author_role": "customer",
        "customer": CUSTOMER,
        "text": text,
    }


SCRIPT: list[tuple[tuple[str, dict[str, Any]], dict[str, int]]] = [
    (
        _chat(
            1,
            "My order still hasn't arrived and it is a week late now. I'm disappointed, and "
            f"you charged my card {CARD} twice!",
            50,
        ),
        {"card": 1},
    ),
    (
        _chat(
            3,
            "This is the third time I'm asking about the late order. Nobody tells me anything "
            f"and I'm really annoyed. Refund it to my IBAN {IBAN}.",
            45,
        ),
        {"iban": 1},
    ),
    (
        _chat(
            5,
            "This is absolutely ridiculous. Terrible service, I am furious! "
            f"Call me on {PHONE} or write to {EMAIL} today!",
            40,
        ),
        {"phone": 1, "email": 1},
    ),
    (
        (
            "email",
            {
                "message_id": "<cancel-pii-1@mail.example>",
                "received_at": (NOW - timedelta(minutes=10)).isoformat(),
                "from": f"{NAME} <{EMAIL}>",
                "to": "support@shop.example",
                "subject": f"Cancel, and stop charging {CARD.replace(' ', '')}",
                "text": "I want to cancel my subscription. I'm leaving for another provider, "
                "your service has been awful. "
                f"Send what you owe me to {IBAN.replace(' ', '')} and call +442079460958.",
            },
        ),
        {"card": 1, "iban": 1, "phone": 1},
    ),
]


def _send(settings: Settings) -> None:
    produce(
        settings,
        [
            Outgoing(
                settings.topics.raw(channel),
                str(body.get("conversation_id") or "mail").encode(),
                json.dumps(body).encode(),
            )
            for (channel, body), _ in SCRIPT
        ],
    )


def _downstream_topics(settings: Settings) -> list[str]:
    """Every topic of this test's pipeline except the raw ones and the dead letters (which
    keep the original bytes by design: docs/privacy.md)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        names = admin.list_topics()
    finally:
        admin.close()
    names = [n for n in names if n.startswith((settings.topic_prefix, settings.app_id))]
    excluded = {*settings.topics.raw_topics, settings.topics.deadletter}
    return sorted(set(names) - excluded)


def _raw_records(settings: Settings, topic: str) -> list[bytes]:
    """Key and value bytes of every record of ``topic``, from the beginning."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        consumer_timeout_ms=1500,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        return [(m.key or b"") + b"\x00" + (m.value or b"") for m in consumer]
    finally:
        consumer.close()


def _leaks(records: list[bytes], secrets: list[str]) -> list[str]:
    return [s for s in secrets for r in records if s.encode() in r or s.lower().encode() in r]


def _wait(
    settings: Settings, topic: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []

    def arrived() -> bool:
        records[:] = read_all(settings, topic)
        return done(records)

    wait_until(f"records on {topic}", arrived, 120, every_s=1.0, detail=lambda: records)
    return records


def _run(settings: Settings, log: Path) -> WorkerProcess:
    worker = WorkerProcess(settings, log).start()
    worker.wait_ready(timeout_s=120)
    return worker


def _check_redacted_text(enriched: list[dict[str, Any]]) -> None:
    by_id = {e["source"]["source_message_id"]: e for e in enriched}
    for (_, body), counts in SCRIPT:
        event = by_id[body["message_id"]]
        assert event["redactions"] == counts, (body["message_id"], event["redactions"])
        shown = json.dumps([event["text"], event.get("subject")])
        for secret in (CARD, IBAN, EMAIL, PHONE, "4111111111111111", "442079460958"):
            assert secret not in shown
        for kind in counts:
            assert f"[{kind.upper()}]" in shown


def test_personal_data_never_leaves_the_raw_topics(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings.model_copy(update={"pseudonymise_key": SecretStr(KEY)})
    worker = _run(settings, tmp_path / "worker.log")
    try:
        _send(settings)
        enriched = _wait(settings, settings.topics.enriched, lambda r: len(r) >= len(SCRIPT))
        assert len(enriched) == len(SCRIPT)
        assert len({e["customer_key"] for e in enriched}) == 1  # pseudonyms still link
        key = enriched[0]["customer_key"]
        alerts = _wait(
            settings,
            settings.topics.alerts,
            lambda r: any(a["status"] == "opened" and a["customer_key"] == key for a in r),
        )
        profiles = _wait(
            settings,
            settings.topics.profiles,
            lambda r: any(p["customer_key"] == key and p["interactions"] == 4 for p in r),
        )
        assert alerts and profiles
        _check_redacted_text(enriched)
        for event in enriched:
            assert all(v.startswith("ps_") for v in event["identifiers"].values() if v)

        topics = _downstream_topics(settings)
        scanned = {t: _raw_records(settings, t) for t in topics}
        for topic in (
            settings.topics.interactions,
            settings.topics.enriched,
            settings.topics.alerts,
            settings.topics.profiles,
        ):
            assert scanned[topic], f"{topic} is empty: the scan would prove nothing"
        leaks = {t: _leaks(records, SECRETS) for t, records in scanned.items()}
        assert {t: found for t, found in leaks.items() if found} == {}
        # the scan can fail: the originals are on the raw topics it skips
        raw = [r for t in settings.topics.raw_topics for r in _raw_records(settings, t)]
        assert set(_leaks(raw, SECRETS)) >= {CARD, IBAN, EMAIL, PHONE, NAME}
        print(f"scanned {sum(map(len, scanned.values()))} records on {len(topics)} topics")
    finally:
        worker.stop()
        print(f"--- worker log ---\n{worker.log_tail(40)}")


def test_without_a_key_text_is_redacted_and_identifiers_stay(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    worker = _run(pipeline_settings, tmp_path / "worker.log")
    try:
        _send(pipeline_settings)
        enriched = _wait(
            pipeline_settings, pipeline_settings.topics.enriched, lambda r: len(r) >= len(SCRIPT)
        )
        _check_redacted_text(enriched)
        assert {e["identifiers"]["email"] for e in enriched} == {EMAIL}
        interactions = _raw_records(pipeline_settings, pipeline_settings.topics.interactions)
        # identifiers (and contact attributes) keep the contact data; no card or IBAN anywhere
        leaked = set(_leaks(interactions, SECRETS))
        assert {EMAIL, NAME} <= leaked
        assert not leaked & {CARD, CARD.replace(" ", ""), IBAN, IBAN.replace(" ", ""), PHONE}
    finally:
        worker.stop()
        print(f"--- worker log ---\n{worker.log_tail(40)}")
