"""``cxstream forget`` end to end on the real broker.

Dana is first seen on a call (phone only), then in a chat (email only: a second key), then
identifies herself on the web with user id, anonymous id, email and phone (the two keys merge),
then complains in three angry chats (a negative-streak alert opens). Sam is a bystander.
After ``cxstream forget --email`` (run as a user runs it), nothing of Dana is left in any table
(read from the worker's changelog topics on the broker), her keys have tombstones on the
compacted topics, ``GET /customers/{key}`` answers 404, the audit records on ``cx.erasures``
say what went without naming her, Sam is untouched, and a new message from Dana's address
starts a fresh profile.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from pipeline.settings import Settings
from pipeline.tools.output_accounting import read_all
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess, settings_env
from tests.waiting import wait_until

NOW = datetime.now(UTC).replace(microsecond=0)
EMAIL, PHONE, PHONE_E164 = "dana.forget@example.com", "+44 20 7946 0958", "+442079460958"
USER_ID, ANON_ID = "u-dana-4711", "anon-dana-0815"
SAM_EMAIL = "sam.stays@example.com"
DANA_MARKERS = (EMAIL, PHONE_E164, USER_ID, ANON_ID)
TABLES = ("customers", "conversations", "identity-links", "identity-members")
TABLES += ("dedupe-ids", "dedupe-texts")
ANGRY = (
    "My order still hasn't arrived and it is a week late now. I'm disappointed, can you "
    "check what is going on?",
    "This is the third time I'm asking about the late order. Nobody tells me anything and "
    "I'm really annoyed.",
    "This is absolutely ridiculous. Terrible service, I am furious and I want my order "
    "delivered today!",
)


def _iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def _chat(conv: str, n: int, customer: dict[str, str], text: str, ago: float, role: str) -> Any:
    return {
        "message_id": f"{conv}-m{n}",
        "conversation_id": conv,
        "sent_at": _iso(ago),
        "author_role": role,
        "customer": customer,
        "text": text,
    }


def _send(settings: Settings, channel: str, *bodies: dict[str, Any]) -> None:
    topic = settings.topics.raw(channel)
    produce(settings, [Outgoing(topic, b"dana", json.dumps(b).encode()) for b in bodies])


def _latest(settings: Settings, topic: str) -> tuple[dict[bytes, bytes | None], list[Any]]:
    """The latest value of every key of ``topic`` (None: a tombstone), and every record."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        consumer_timeout_ms=1500,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records = list(consumer)
    finally:
        consumer.close()
    return {r.key: r.value for r in records}, records


def _interactions(settings: Settings) -> list[dict[str, Any]]:
    return read_all(settings, settings.topics.interactions)


def _key_of(settings: Settings, interaction: str) -> str:
    """The customer key the interaction with this source message id was emitted with."""
    found: list[str] = []

    def emitted() -> bool:
        found[:] = [
            ix["customer_key"]
            for ix in _interactions(settings)
            if ix["source"]["source_message_id"] == interaction
        ]
        return bool(found)

    wait_until(f"interaction {interaction} on cx.interactions", emitted, 90, every_s=1.0)
    return found[0]


def _get(settings: Settings, key: str) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{settings.web_port}/customers/{key}"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _left_in_tables(settings: Settings, markers: tuple[str, ...]) -> list[str]:
    """``table: key`` of every live table entry (latest changelog value not a tombstone)
    whose key or value holds one of ``markers``."""
    found = []
    for table in TABLES:
        latest, _ = _latest(settings, f"{settings.app_id}-{table}-changelog")
        for key, value in latest.items():
            if value is None:
                continue
            text = (key or b"").decode(errors="replace") + value.decode(errors="replace")
            found += [f"{table}: {key!r}" for m in markers if m in text]
    return found


def test_forget_removes_a_customer_everywhere_and_a_new_message_starts_afresh(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    settings = pipeline_settings
    # A call with the phone number only: Dana's first key.
    call = {
        "call_id": "call-dana-1",
        "started_at": _iso(60),
        "caller_number": PHONE,
        "utterances": [
            {"speaker": "customer", "text": "Hi, I am calling about my order.", "start_s": 0}
        ],
    }
    _send(settings, "voice", call)
    phone_key = _key_of(settings, "call-dana-1")
    # A chat with the email only: a second key, until identify proves they are one person.
    _send(settings, "chat", _chat("conv-d0", 1, {"email": EMAIL}, "Any news?", 55, "customer"))
    email_key = _key_of(settings, "conv-d0-m1")
    assert email_key != phone_key
    identify = {
        "messageId": "identify-dana-1",
        "type": "identify",
        "timestamp": _iso(52),
        "userId": USER_ID,
        "anonymousId": ANON_ID,
        "traits": {"email": EMAIL, "phone": PHONE},
    }
    _send(settings, "web", identify)
    dana = _key_of(settings, "identify-dana-1")
    assert dana == phone_key  # the older key survives the merge
    chats = []
    for n, text in enumerate(ANGRY):
        chats.append(_chat("conv-d1", 2 * n + 1, {"email": EMAIL}, text, 50 - 5 * n, "customer"))
        chats.append(_chat("conv-d1", 2 * n + 2, {"email": EMAIL}, "Sorry!", 49 - 5 * n, "agent"))
    chats.append(_chat("conv-s1", 1, {"email": SAM_EMAIL}, "Thanks, all good!", 30, "customer"))
    _send(settings, "chat", *chats)
    sam = _key_of(settings, "conv-s1-m1")

    profile: dict[str, Any] = {}

    def profiled_with_alert() -> bool:
        status, body = _get(settings, dana)
        profile.update(body)
        return status == 200 and body.get("interactions") == 8 and bool(body["open_alerts"])

    wait_until(
        "Dana's profile with an open alert", profiled_with_alert, 120, detail=lambda: profile
    )
    assert [a["type"] for a in profile["open_alerts"]] == ["negative_streak"]
    assert _get(settings, email_key)[0] == 200  # the email-only chat's state, under its old key
    wait_until("Sam's profile", lambda: _get(settings, sam)[0] == 200, 60)
    identity_before, _ = _latest(settings, settings.topics.identity)
    assert email_key.encode() in identity_before  # the merge is on cx.identity
    assert _left_in_tables(settings, (EMAIL,))  # the scan sees Dana before

    forgotten = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "forget", "--email", "Dana.Forget@Example.com"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert forgotten.returncode == 0, forgotten.stderr
    request_id = forgotten.stdout.split("erasure request ", 1)[1].split()[0]

    audits: list[dict[str, Any]] = []

    def audited() -> bool:
        audits[:] = [a for a in read_all(settings, settings.topics.erasures)]
        return len(audits) == 3  # resolve + one per key of Dana's

    wait_until("the audit records on cx.erasures", audited, 90, detail=lambda: audits)
    resolve = next(a for a in audits if a["stage"] == "resolve")
    assert all(a["request_id"] == request_id for a in audits)
    assert resolve["found"] and resolve["customer_keys"] == 2 and resolve["subject_kind"] == "email"
    assert resolve["removed"]["identity_links"] >= 4 and resolve["removed"]["merged_keys"] == 1
    workflow = [a for a in audits if a["stage"] == "workflow"]
    assert [a["found"] for a in workflow] == [True, True]
    assert sum(a["removed"]["conversations"] for a in workflow) == 3  # conv-d0, conv-d1, call
    audit_text = json.dumps(audits)
    for personal in (*DANA_MARKERS, dana, email_key):
        assert personal not in audit_text

    assert _get(settings, dana)[0] == 404
    assert _get(settings, email_key)[0] == 404
    assert _get(settings, sam)[0] == 200
    left: list[str] = []

    def tables_clean() -> bool:
        left[:] = _left_in_tables(settings, (*DANA_MARKERS, dana, email_key))
        return not left

    wait_until("no table holds anything of Dana", tables_clean, 30, detail=lambda: left)
    assert _left_in_tables(settings, (SAM_EMAIL, sam))  # the bystander is still there
    profiles, _ = _latest(settings, settings.topics.profiles)
    assert profiles[dana.encode()] is None and profiles[email_key.encode()] is None
    assert profiles[sam.encode()] is not None
    identity, _ = _latest(settings, settings.topics.identity)
    assert identity[dana.encode()] is None and identity[email_key.encode()] is None

    # Dana writes again: a fresh profile, none of the old history.
    _send(settings, "chat", _chat("conv-d2", 1, {"email": EMAIL}, "Hello again", 1, "customer"))
    fresh = _key_of(settings, "conv-d2-m1")
    again: dict[str, Any] = {}

    def fresh_profile() -> bool:
        status, body = _get(settings, fresh)
        again.clear()
        again.update(body)
        return status == 200

    wait_until("a fresh profile for Dana's address", fresh_profile, 90, detail=lambda: again)
    assert again["interactions"] == 1 and again["open_alerts"] == []
    assert [p["interaction_id"] for p in again["sentiment_trend"]] == [
        ix["interaction_id"]
        for ix in _interactions(settings)
        if ix["source"]["source_message_id"] == "conv-d2-m1"
    ]
