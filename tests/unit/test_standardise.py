"""``Standardiser``: raw bytes of every channel → one Interaction, or an InputError reason code."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from pipeline.contracts.records import (
    Identifiers,
    Interaction,
    ReasonCode,
    Standardised,
    SurveyAnswer,
)
from pipeline.settings import Settings
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.standardiser import RawMessage, Standardiser, interaction_id

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BROKER_MS = 1_795_000_000_000
BROKER_TIME = datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)
T10 = "2026-11-29T10:00:00Z"
AT10 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)

BASE_SETTINGS: dict[str, Any] = {
    "topic_prefix": "cx.",
    "default_region": "US",
    "max_payload_bytes": 262_144,
    "max_text_chars": 10_000,
    "max_future_skew_s": 86_400.0,
}


def settings(**overrides: Any) -> Settings:
    """Explicit settings (independent of CXSTREAM_* in the environment), with overrides."""
    return Settings(**(BASE_SETTINGS | overrides))


SETTINGS = settings()
STD = Standardiser(SETTINGS)
SurveyKind = Literal["nps", "csat", "ces"]


def encode(payload: dict[str, Any] | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def message(
    channel: str,
    payload: dict[str, Any] | bytes,
    *,
    offset: int = 0,
    timestamp_ms: int | None = BROKER_MS,
) -> RawMessage:
    return RawMessage(
        topic=f"cx.raw.{channel}",
        partition=0,
        offset=offset,
        key=None,
        value=encode(payload),
        timestamp_ms=timestamp_ms,
    )


def run(
    channel: str,
    payload: dict[str, Any] | bytes,
    *,
    std: Standardiser = STD,
    offset: int = 0,
    timestamp_ms: int | None = BROKER_MS,
) -> Interaction:
    return std.standardise(message(channel, payload, offset=offset, timestamp_ms=timestamp_ms), NOW)


def fields(ix: Interaction, expected: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(ix, name) for name in expected}


# -- web (Segment spec) ------------------------------------------------------------------------

WEB_CASES = [
    pytest.param(
        {
            "messageId": "w-identify",
            "type": "identify",
            "timestamp": T10,
            "userId": "u-42",
            "anonymousId": "anon-1",
            "traits": {"email": "Ana@Example.com", "phone": "+1 415-555-0132", "name": "Ana"},
            "context": {"locale": "en-US"},
            "integrations": {"All": True},
        },
        {
            "event_type": "identify",
            "event_name": None,
            "identifiers": Identifiers(
                user_id="u-42",
                anonymous_id="anon-1",
                email="ana@example.com",
                phone="+14155550132",
            ),
            "occurred_at": AT10,
            "text": None,
            "attributes": {
                "integrations": {"All": True},
                "context": {"locale": "en-US"},
                "traits": {"email": "Ana@Example.com", "phone": "+1 415-555-0132", "name": "Ana"},
            },
            "warnings": [],
        },
        id="identify-traits-become-identifiers",
    ),
    pytest.param(
        {
            "messageId": "w-search",
            "type": "track",
            "event": "Search",
            "sentAt": "2026-11-29T10:00:00+01:00",
            "anonymousId": "anon-1",
            "properties": {"query": "refund policy for damaged items"},
        },
        {
            "event_type": "track",
            "event_name": "Search",
            "identifiers": Identifiers(anonymous_id="anon-1"),
            "occurred_at": datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
            "text": "refund policy for damaged items",
            "language": "en",
            "attributes": {"properties": {"query": "refund policy for damaged items"}},
        },
        id="track-query-is-text",
    ),
    pytest.param(
        {
            "messageId": "w-feedback",
            "type": "track",
            "event": "Feedback Submitted",
            "timestamp": T10,
            "userId": "u-42",
            "properties": {"comment": "The <b>checkout</b> page keeps timing out", "rating": 2},
        },
        {
            "event_type": "track",
            "event_name": "Feedback Submitted",
            "identifiers": Identifiers(user_id="u-42"),
            "text": "The checkout page keeps timing out",
            "language": "en",
        },
        id="track-comment-is-clean-text",
    ),
    pytest.param(
        {
            "messageId": "w-page",
            "type": "page",
            "receivedAt": 1_795_000_000,
            "userId": 42,
            "properties": {"url": "/help", "text": "How do I return an item?"},
        },
        {
            "event_type": "page",
            "identifiers": Identifiers(user_id="42"),
            "occurred_at": BROKER_TIME,
            "text": "How do I return an item?",
        },
        id="page-int-userid-epoch-received-at",
    ),
    pytest.param(
        {
            "messageId": "w-screen",
            "type": "screen",
            "timestamp": T10,
            "anonymousId": "anon-2",
            "name": "Basket",
            "properties": {"text": "first", "comment": "second", "query": "third"},
        },
        {
            "event_type": "screen",
            "identifiers": Identifiers(anonymous_id="anon-2"),
            "text": "first",
            "attributes": {
                "name": "Basket",
                "properties": {"text": "first", "comment": "second", "query": "third"},
            },
        },
        id="screen-unknown-field-kept-text-wins-over-comment-and-query",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), WEB_CASES)
def test_web(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    ix = run("web", payload)
    assert fields(ix, expected) == expected
    assert ix.channel == "web"
    assert ix.author_role == "customer"
    assert ix.received_at == BROKER_TIME
    assert ix.source.source_message_id == payload["messageId"]
    assert ix.customer_key is None


# -- chat --------------------------------------------------------------------------------------

CHAT_CASES = [
    pytest.param(
        {
            "message_id": "c-1",
            "conversation_id": "conv-1",
            "sent_at": T10,
            "author_role": "customer",
            "customer": {
                "id": "cust-7",
                "email": "Ana.Lopez@Example.COM",
                "phone": "(415) 555-0132",
                "name": "Ana",
            },
            "text": "<p>Hello &amp; <b>world</b><br>my parcel is missing</p>",
            "platform": "whatsapp",
            "locale": "es-ES",
        },
        {
            "event_type": "message",
            "author_role": "customer",
            "identifiers": Identifiers(
                customer_id="cust-7", email="ana.lopez@example.com", phone="+14155550132"
            ),
            "text": "Hello & world\nmy parcel is missing",
            "text_truncated": False,
            "text_original_chars": 34,
            "conversation_id": "conv-1",
            "occurred_at": AT10,
            "attributes": {"locale": "es-ES", "platform": "whatsapp", "customer_name": "Ana"},
            "warnings": [],
        },
        id="html-text-and-full-customer",
    ),
    pytest.param(
        {"message_id": "c-2", "conversation_id": "conv-9", "sent_at": T10, "text": "hi"},
        {
            "identifiers": Identifiers(anonymous_id="chat:conv-9"),
            "author_role": "customer",
            "text": "hi",
            "language": None,
            "attributes": {},
            "warnings": ["anonymous chat: identified by its conversation"],
        },
        id="anonymous-chat",
    ),
    pytest.param(
        {
            "message_id": "c-3",
            "conversation_id": "conv-1",
            "sent_at": T10,
            "author_role": "agent",
            "customer": {"id": 77},
            "text": "**Sorry** about that, I have opened a ticket for you.",
        },
        {
            "identifiers": Identifiers(customer_id="77"),
            "author_role": "agent",
            "text": "**Sorry** about that, I have opened a ticket for you.",
        },
        id="agent-markdown-int-customer-id",
    ),
    pytest.param(
        {
            "message_id": "c-4",
            "conversation_id": "conv-4",
            "sent_at": T10,
            "customer": {"email": "not an address", "phone": "12"},
            "text": "   ",
        },
        {
            "identifiers": Identifiers(anonymous_id="chat:conv-4"),
            "text": None,
            "warnings": [
                "customer.email 'not an address' is not an address: ignored",
                "customer.phone '12' is not a valid number: ignored",
                "anonymous chat: identified by its conversation",
            ],
        },
        id="invalid-contact-details-fall-back-to-conversation",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), CHAT_CASES)
def test_chat(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    ix = run("chat", payload)
    assert fields(ix, expected) == expected
    assert ix.channel == "chat"
    assert ix.source.source_message_id == payload["message_id"]


# -- email -------------------------------------------------------------------------------------

QUOTED_BODY = (
    "My order has not arrived yet.\n\n"
    "On Mon, 23 Nov 2026 at 10:00, Support <support@shop.example> wrote:\n"
    "> Thanks for contacting us.\n"
)

EMAIL_CASES = [
    pytest.param(
        {
            "message_id": "<abc@mail.example>",
            "received_at": T10,
            "from": "Ana Lopez <Ana.Lopez+vip@Example.COM>",
            "to": "support@shop.example",
            "subject": "  Where is\tmy order? ",
            "text": QUOTED_BODY,
            "in_reply_to": "<r2@mail.example>",
            "references": "<r1@mail.example> <r2@mail.example>",
        },
        {
            "event_type": "email",
            "identifiers": Identifiers(email="ana.lopez+vip@example.com"),
            "text": "My order has not arrived yet.",
            "language": "en",
            "subject": "Where is my order?",
            "thread_id": "<r1@mail.example>",
            "occurred_at": AT10,
            "attributes": {
                "from_name": "Ana Lopez",
                "to": "support@shop.example",
                "in_reply_to": "<r2@mail.example>",
                "references": ["<r1@mail.example>", "<r2@mail.example>"],
            },
        },
        id="name-address-quote-removed-references-thread",
    ),
    pytest.param(
        {
            "message_id": "<h@mail.example>",
            "received_at": T10,
            "from": "bob@example.org",
            "html": "<p>Please <b>cancel</b> my subscription.</p>",
        },
        {
            "identifiers": Identifiers(email="bob@example.org"),
            "text": "Please cancel my subscription.",
            "subject": None,
            "thread_id": "<h@mail.example>",
            "attributes": {},
        },
        id="html-only-body-no-thread-headers",
    ),
    pytest.param(
        {
            "message_id": "<w@mail.example>",
            "received_at": T10,
            "from": "bob@example.org",
            "text": "  \n ",
            "html": "<div>The invoice total is wrong.</div>",
            "in_reply_to": "<first@mail.example>",
        },
        {
            "text": "The invoice total is wrong.",
            "thread_id": "<first@mail.example>",
        },
        id="blank-text-falls-back-to-html-in-reply-to-thread",
    ),
    pytest.param(
        {
            "message_id": "<l@mail.example>",
            "received_at": T10,
            "from": "bob@example.org",
            "text": "Thanks, that fixed it.\n\n-- \nBob\nExample Corp",
            "references": ["<root@mail.example>", "<mid@mail.example>"],
        },
        {
            "text": "Thanks, that fixed it.",
            "thread_id": "<root@mail.example>",
        },
        id="signature-removed-references-list",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), EMAIL_CASES)
def test_email(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    ix = run("email", payload)
    assert fields(ix, expected) == expected
    assert ix.channel == "email"
    assert ix.author_role == "customer"
    assert ix.source.source_message_id == payload["message_id"]


# -- voice -------------------------------------------------------------------------------------

UTTERANCES = [
    {"speaker": "agent", "text": "How can I help?", "start_s": 0, "end_s": 1.5},
    {"speaker": "customer", "text": "My internet is down since Monday.", "start_s": 1.6},
    {"speaker": "agent", "text": "Sorry to hear that.", "start_s": 4, "end_s": 5},
    {"speaker": "customer", "text": "Please send a technician.", "start_s": 5, "end_s": 7},
]

VOICE_CASES = [
    pytest.param(
        {
            "call_id": "call-1",
            "started_at": T10,
            "duration_s": 62.5,
            "caller_number": "(415) 555-0132",
            "utterances": UTTERANCES,
            "asr_confidence": 0.93,
        },
        {
            "event_type": "call",
            "identifiers": Identifiers(phone="+14155550132"),
            "text": "My internet is down since Monday.\nPlease send a technician.",
            "language": "en",
            "conversation_id": "call-1",
            "occurred_at": AT10,
            "attributes": {"duration_s": 62.5, "asr_confidence": 0.93, "agent_turns": 2},
            "source.source_message_id": "call-1",
        },
        id="utterances-customer-speech-only",
    ),
    pytest.param(
        {
            "call_id": "call-2",
            "segment_id": 3,
            "started_at": T10,
            "caller_number": "004915112345678",
            "transcript": "I want to cancel my contract today.",
        },
        {
            "event_type": "call_segment",
            "identifiers": Identifiers(phone="+4915112345678"),
            "text": "I want to cancel my contract today.",
            "conversation_id": "call-2",
            "attributes": {"segment_id": 3, "agent_turns": 0},
            "source.source_message_id": "call-2#3",
        },
        id="transcript-string-segment",
    ),
    pytest.param(
        {
            "call_id": "call-3",
            "segment_id": "b",
            "started_at": T10,
            "customer_id": 123,
            "utterances": [{"speaker": "agent", "text": "Hello?"}],
        },
        {
            "event_type": "call_segment",
            "identifiers": Identifiers(customer_id="123"),
            "text": None,
            "attributes": {"segment_id": "b", "agent_turns": 1},
            "source.source_message_id": "call-3#b",
        },
        id="agent-only-call-has-no-text",
    ),
    pytest.param(
        {"call_id": "call-4", "started_at": T10, "caller_number": "unknown"},
        {
            "identifiers": Identifiers(anonymous_id="call:call-4"),
            "warnings": [
                "caller_number 'unknown' is not a valid number: ignored",
                "caller unknown: identified by the call id",
            ],
            "source.source_message_id": "call-4",
        },
        id="unknown-caller-identified-by-call",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), VOICE_CASES)
def test_voice(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    ix = run("voice", payload)
    expected = dict(expected)
    assert ix.source.source_message_id == expected.pop("source.source_message_id")
    assert fields(ix, expected) == expected
    assert ix.channel == "voice"
    assert ix.author_role == "customer"


@pytest.mark.parametrize(
    ("caller", "phone"),
    [
        pytest.param("+44 20 7946 0958", "+442079460958", id="uk-international"),
        pytest.param("(415) 555-0132", "+14155550132", id="us-national"),
        pytest.param("+1 415-555-0132", "+14155550132", id="us-international"),
        pytest.param("004915112345678", "+4915112345678", id="00-prefix"),
        pytest.param("415.555.0132", "+14155550132", id="dots"),
    ],
)
def test_voice_caller_formats(caller: str, phone: str) -> None:
    ix = run("voice", {"call_id": "c", "started_at": T10, "caller_number": caller})
    assert ix.identifiers == Identifiers(phone=phone)
    assert ix.warnings == []


def test_voice_caller_region_is_configurable() -> None:
    german = Standardiser(settings(default_region="DE"))
    payload = {"call_id": "c", "started_at": T10, "caller_number": "0151 12345678"}
    assert run("voice", payload, std=german).identifiers == Identifiers(phone="+4915112345678")


# -- survey ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "score", "low", "high"),
    [
        pytest.param("nps", 0, 0, 10, id="nps-min"),
        pytest.param("nps", 10, 0, 10, id="nps-max"),
        pytest.param("nps", 7, 0, 10, id="nps-mid"),
        pytest.param("csat", 1, 1, 5, id="csat-min"),
        pytest.param("csat", 5, 1, 5, id="csat-max"),
        pytest.param("csat", 4.5, 1, 5, id="csat-fraction"),
        pytest.param("ces", 1, 1, 7, id="ces-min"),
        pytest.param("ces", 7, 1, 7, id="ces-max"),
    ],
)
def test_survey_score_inside_scale(kind: SurveyKind, score: float, low: float, high: float) -> None:
    ix = run(
        "survey",
        {
            "response_id": f"r-{kind}-{score}",
            "submitted_at": T10,
            "customer": {"email": "Ana@Example.com"},
            "kind": kind,
            "score": score,
            "comment": "Great service, thank you very much!",
        },
    )
    assert ix.survey == SurveyAnswer(kind=kind, score=score, scale_min=low, scale_max=high)
    assert ix.event_type == "response"
    assert ix.identifiers == Identifiers(email="ana@example.com")
    assert ix.text == "Great service, thank you very much!"
    assert ix.language == "en"


@pytest.mark.parametrize(
    ("kind", "score"),
    [
        pytest.param("nps", -1, id="nps-below"),
        pytest.param("nps", 11, id="nps-above"),
        pytest.param("nps", 10.5, id="nps-fraction-above"),
        pytest.param("csat", 0, id="csat-below"),
        pytest.param("csat", 6, id="csat-above"),
        pytest.param("ces", 0, id="ces-below"),
        pytest.param("ces", 8, id="ces-above"),
    ],
)
def test_survey_score_outside_scale_is_rejected(kind: str, score: float) -> None:
    payload = {"response_id": "r", "submitted_at": T10, "kind": kind, "score": score}
    with pytest.raises(InputError) as caught:
        run("survey", payload)
    assert caught.value.code is ReasonCode.SCHEMA_VIOLATION


def test_anonymous_survey() -> None:
    ix = run("survey", {"response_id": "r-9", "submitted_at": T10, "kind": "csat", "score": 3})
    assert ix.identifiers == Identifiers(anonymous_id="survey:r-9")
    assert ix.text is None
    assert ix.warnings == ["anonymous survey: identified by its response id"]


# -- interaction ids ---------------------------------------------------------------------------


def expected_id(channel: str, source_id: str) -> str:
    return "ix_" + hashlib.sha256(f"{channel}\x1f{source_id}".encode()).hexdigest()[:24]


def test_interaction_id_is_stable() -> None:
    payload = {"message_id": "same-id", "conversation_id": "conv", "sent_at": T10, "text": "hi"}
    first = run("chat", payload, offset=1)
    again = run("chat", payload, offset=99, timestamp_ms=BROKER_MS + 5_000)
    assert first.interaction_id == again.interaction_id == expected_id("chat", "same-id")
    assert interaction_id("chat", "same-id") == expected_id("chat", "same-id")


def test_interaction_id_differs_across_channels() -> None:
    chat = run("chat", {"message_id": "same-id", "conversation_id": "conv", "sent_at": T10})
    email = run("email", {"message_id": "same-id", "from": "a@example.com", "received_at": T10})
    survey = run(
        "survey", {"response_id": "same-id", "submitted_at": T10, "kind": "nps", "score": 5}
    )
    ids = {chat.interaction_id, email.interaction_id, survey.interaction_id}
    assert len(ids) == 3
    assert email.interaction_id == expected_id("email", "same-id")


def test_voice_segments_have_distinct_ids() -> None:
    whole = run("voice", {"call_id": "call", "started_at": T10, "customer_id": "c"})
    seg1 = run("voice", {"call_id": "call", "segment_id": 1, "started_at": T10, "customer_id": "c"})
    seg2 = run("voice", {"call_id": "call", "segment_id": 2, "started_at": T10, "customer_id": "c"})
    assert seg1.interaction_id == expected_id("voice", "call#1")
    assert len({whole.interaction_id, seg1.interaction_id, seg2.interaction_id}) == 3


# -- rejections --------------------------------------------------------------------------------

NESTED_100K = b'{"message_id": "m", "conversation_id": "c", "a": ' + b"[" * 100_000
NESTED_100K += b"]" * 100_000 + b"}"


def chat_payload(**extra: Any) -> dict[str, Any]:
    return {"message_id": "m", "conversation_id": "c", "sent_at": T10, "text": "hi", **extra}


REJECTIONS = [
    pytest.param("chat", b"\xff\xfe{}", ReasonCode.INVALID_UTF8, id="invalid-utf8"),
    pytest.param(
        "chat", b'{"message_id": "m", "text": "caf\xe9"}', ReasonCode.INVALID_UTF8, id="latin1"
    ),
    pytest.param("chat", b'{"message_id": "m",', ReasonCode.INVALID_JSON, id="truncated-json"),
    pytest.param("chat", b"", ReasonCode.EMPTY_PAYLOAD, id="empty-payload"),
    pytest.param("chat", b"[1, 2]", ReasonCode.NOT_AN_OBJECT, id="json-array"),
    pytest.param("chat", b'"text"', ReasonCode.NOT_AN_OBJECT, id="json-string"),
    pytest.param("chat", b"null", ReasonCode.NOT_AN_OBJECT, id="json-null"),
    pytest.param("chat", b'{"message_id": NaN}', ReasonCode.INVALID_JSON, id="nan-literal"),
    pytest.param(
        "chat",
        b'{"message_id": "m", "conversation_id": "c", "sent_at": Infinity}',
        ReasonCode.INVALID_JSON,
        id="infinity-literal",
    ),
    pytest.param("chat", NESTED_100K, ReasonCode.INVALID_JSON, id="nested-100000-lists"),
    pytest.param("web", {"type": "track", "userId": "u"}, ReasonCode.MISSING_ID, id="web-no-id"),
    pytest.param("chat", {"conversation_id": "c"}, ReasonCode.MISSING_ID, id="chat-no-id"),
    pytest.param("email", {"from": "a@example.com"}, ReasonCode.MISSING_ID, id="email-no-id"),
    pytest.param("voice", {"customer_id": "c"}, ReasonCode.MISSING_ID, id="voice-no-id"),
    pytest.param("survey", {"kind": "nps", "score": 9}, ReasonCode.MISSING_ID, id="survey-no-id"),
    pytest.param("chat", chat_payload(message_id="  "), ReasonCode.MISSING_ID, id="blank-id"),
    pytest.param("chat", chat_payload(message_id=True), ReasonCode.MISSING_ID, id="bool-id"),
    pytest.param("chat", chat_payload(message_id=1.5), ReasonCode.MISSING_ID, id="float-id"),
    pytest.param("chat", chat_payload(text=12), ReasonCode.SCHEMA_VIOLATION, id="chat-text-int"),
    pytest.param(
        "chat", chat_payload(customer="ana"), ReasonCode.SCHEMA_VIOLATION, id="customer-string"
    ),
    pytest.param(
        "chat", chat_payload(author_role="robot"), ReasonCode.SCHEMA_VIOLATION, id="bad-role"
    ),
    pytest.param(
        "chat", chat_payload(schema_version=0), ReasonCode.SCHEMA_VIOLATION, id="schema-version-0"
    ),
    pytest.param(
        "survey",
        {"response_id": "r", "kind": "nps", "score": "ten"},
        ReasonCode.SCHEMA_VIOLATION,
        id="survey-score-word",
    ),
    pytest.param(
        "survey",
        {"response_id": "r", "kind": "nps", "score": False},
        ReasonCode.SCHEMA_VIOLATION,
        id="survey-score-boolean",
    ),
    pytest.param(
        "survey",
        {"response_id": "r", "kind": "nps"},
        ReasonCode.SCHEMA_VIOLATION,
        id="survey-score-missing",
    ),
    pytest.param(
        "survey",
        {"response_id": "r", "kind": "stars", "score": 4},
        ReasonCode.SCHEMA_VIOLATION,
        id="survey-unknown-kind",
    ),
    pytest.param(
        "voice",
        {"call_id": "v", "utterances": "hello"},
        ReasonCode.SCHEMA_VIOLATION,
        id="utterances-not-list",
    ),
    pytest.param(
        "voice",
        {"call_id": "v", "utterances": [{"speaker": "robot", "text": "x"}]},
        ReasonCode.SCHEMA_VIOLATION,
        id="utterance-bad-speaker",
    ),
    pytest.param(
        "voice",
        {"call_id": "v", "customer_id": "c", "asr_confidence": 1.5},
        ReasonCode.SCHEMA_VIOLATION,
        id="asr-confidence-above-1",
    ),
    pytest.param(
        "web",
        {"messageId": "w", "type": "bogus", "userId": "u"},
        ReasonCode.SCHEMA_VIOLATION,
        id="web-unknown-type",
    ),
    pytest.param(
        "web",
        {"messageId": "w", "type": "track", "userId": "u", "properties": [1]},
        ReasonCode.SCHEMA_VIOLATION,
        id="web-properties-not-object",
    ),
    pytest.param(
        "web",
        {"messageId": "w", "type": "track", "timestamp": T10},
        ReasonCode.MISSING_IDENTITY,
        id="web-no-user-or-anonymous-id",
    ),
    pytest.param(
        "web",
        {"messageId": "w", "type": "track", "userId": "", "anonymousId": ""},
        ReasonCode.MISSING_IDENTITY,
        id="web-empty-user-and-anonymous-id",
    ),
    pytest.param(
        "chat",
        {"message_id": "m", "sent_at": T10, "text": "hello"},
        ReasonCode.MISSING_IDENTITY,
        id="chat-no-customer-no-conversation",
    ),
    pytest.param(
        "email",
        {"message_id": "<e>", "from": "Support team", "received_at": T10},
        ReasonCode.MISSING_IDENTITY,
        id="email-from-without-address",
    ),
    pytest.param(
        "email", {"message_id": "<e>"}, ReasonCode.MISSING_IDENTITY, id="email-from-missing"
    ),
    pytest.param(
        "email", {"message_id": "<e>", "from": 12}, ReasonCode.SCHEMA_VIOLATION, id="email-from-int"
    ),
    pytest.param(
        "chat", chat_payload(sent_at="yesterday"), ReasonCode.INVALID_TIMESTAMP, id="chat-bad-ts"
    ),
    pytest.param(
        "chat", chat_payload(sent_at=True), ReasonCode.INVALID_TIMESTAMP, id="chat-bool-ts"
    ),
    pytest.param(
        "web",
        {"messageId": "w", "type": "page", "userId": "u", "timestamp": "2999-01-01T00:00:00Z"},
        ReasonCode.INVALID_TIMESTAMP,
        id="web-far-future-ts",
    ),
    pytest.param(
        "email",
        {"message_id": "<e>", "from": "a@example.com", "received_at": 0},
        ReasonCode.INVALID_TIMESTAMP,
        id="email-epoch-zero",
    ),
    pytest.param(
        "voice",
        {"call_id": "v", "customer_id": "c", "started_at": 1e30},
        ReasonCode.INVALID_TIMESTAMP,
        id="voice-huge-epoch",
    ),
    pytest.param(
        "chat",
        b'{"message_id": "m", "conversation_id": "c", "sent_at": 1' + b"0" * 400 + b"}",
        ReasonCode.INVALID_TIMESTAMP,
        id="chat-int-too-large-for-float-ts",
    ),
    pytest.param(
        "survey",
        {"response_id": "r", "kind": "nps", "score": 9, "submitted_at": "2026-13-40"},
        ReasonCode.INVALID_TIMESTAMP,
        id="survey-impossible-date",
    ),
]


@pytest.mark.parametrize(("channel", "payload", "code"), REJECTIONS)
def test_rejections(channel: str, payload: dict[str, Any] | bytes, code: ReasonCode) -> None:
    with pytest.raises(InputError) as caught:
        run(channel, payload)
    assert caught.value.code is code
    assert str(caught.value)


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("cx.raw.fax", id="unknown-channel"),
        pytest.param("other.raw.chat", id="other-prefix"),
        pytest.param("cx.interactions", id="output-topic"),
        pytest.param("cx.raw.", id="empty-channel"),
    ],
)
def test_unknown_topic(topic: str) -> None:
    msg = RawMessage(topic=topic, partition=0, offset=0, key=None, value=encode(chat_payload()))
    with pytest.raises(InputError) as caught:
        STD.standardise(msg, NOW)
    assert caught.value.code is ReasonCode.UNKNOWN_TOPIC


def test_topic_prefix_is_configurable() -> None:
    std = Standardiser(settings(topic_prefix="acme."))
    ok = std.standardise(
        RawMessage(
            topic="acme.raw.chat", partition=0, offset=0, key=None, value=encode(chat_payload())
        ),
        NOW,
    )
    assert ok.channel == "chat"
    with pytest.raises(InputError) as caught:
        run("chat", chat_payload(), std=std)
    assert caught.value.code is ReasonCode.UNKNOWN_TOPIC


def sized_payload(size: int) -> bytes:
    """A valid chat message of exactly ``size`` bytes."""
    base = encode(chat_payload(text=""))
    pad = size - len(base)
    assert pad >= 0
    return encode(chat_payload(text="x" * pad))


@pytest.mark.parametrize(
    ("size", "accepted"),
    [
        pytest.param(1024, True, id="at-limit"),
        pytest.param(1025, False, id="one-byte-over"),
        pytest.param(300_000, False, id="far-over"),
    ],
)
def test_oversize(size: int, accepted: bool) -> None:
    std = Standardiser(settings(max_payload_bytes=1024))
    payload = sized_payload(size)
    assert len(payload) == size
    if accepted:
        assert run("chat", payload, std=std).source.source_message_id == "m"
    else:
        with pytest.raises(InputError) as caught:
            run("chat", payload, std=std)
        assert caught.value.code is ReasonCode.OVERSIZE


def test_oversize_checked_before_decoding() -> None:
    std = Standardiser(settings(max_payload_bytes=1024))
    with pytest.raises(InputError) as caught:
        run("chat", b"\xff" * 2048, std=std)
    assert caught.value.code is ReasonCode.OVERSIZE


@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(50, id="depth-50"),
        pytest.param(200, id="depth-200"),
        pytest.param(300, id="depth-300"),
        pytest.param(900, id="depth-900"),
    ],
)
def test_nested_unknown_field_is_rejected_or_serialisable(depth: int) -> None:
    """Every accepted event must survive the resolve topic (dump + parse); else a dead letter."""
    nested = b"[" * depth + b"]" * depth
    payload = b'{"message_id": "m", "conversation_id": "c", "sent_at": 1795000000, "a": '
    try:
        ix = run("chat", payload + nested + b"}")
    except InputError as exc:
        assert exc.code is ReasonCode.INVALID_JSON
        return
    envelope = Standardised(interaction=ix, payload_digest="0" * 32)
    assert Standardised.model_validate_json(envelope.model_dump_json()) == envelope


def nested_chat(levels: int) -> bytes:
    """A chat message whose unknown field ``a`` nests ``levels`` lists inside the object."""
    head = json.dumps(chat_payload())[:-1].encode()
    return head + b', "a": ' + b"[" * levels + b"]" * levels + b"}"


def test_a_payload_at_the_nesting_limit_is_accepted() -> None:
    # The object is level 1, so 63 lists inside it reach MAX_JSON_DEPTH (64) exactly.
    ix = run("chat", nested_chat(63))
    inner: Any = ix.attributes["a"]
    for _ in range(62):
        (inner,) = inner
    assert inner == []


@pytest.mark.parametrize(
    ("payload", "code", "detail"),
    [
        pytest.param(
            b'\xef\xbb\xbf{"a": "\xff"}',
            ReasonCode.INVALID_UTF8,
            # The byte's offset counts the byte-order mark: 3 + len('{"a": "').
            "payload is not UTF-8: byte 10 (invalid start byte)",
            id="bad-byte-after-bom",
        ),
        pytest.param(
            b'{"a": NaN}',
            ReasonCode.INVALID_JSON,
            "payload is not valid JSON: NaN is not valid JSON",
            id="nan",
        ),
        pytest.param(
            b'{"a": }',
            ReasonCode.INVALID_JSON,
            "payload is not valid JSON: Expecting value: line 1 column 7 (char 6)",
            id="missing-value",
        ),
        pytest.param(
            b"[1]", ReasonCode.NOT_AN_OBJECT, "payload is a JSON list, not an object", id="list"
        ),
        pytest.param(
            nested_chat(64),
            ReasonCode.INVALID_JSON,
            "JSON is nested deeper than 64 levels",
            id="one-level-over-the-limit",
        ),
        pytest.param(
            nested_chat(100_000),
            ReasonCode.INVALID_JSON,
            "JSON is nested too deeply",
            id="past-the-parsers-recursion-limit",
        ),
        pytest.param(
            b'{"message_id": "\\ud800"}',
            ReasonCode.INVALID_UTF8,
            "payload escapes a lone UTF-16 surrogate (\\ud800-\\udfff)",
            id="lone-surrogate",
        ),
    ],
)
def test_a_refused_payload_says_why(payload: bytes, code: ReasonCode, detail: str) -> None:
    with pytest.raises(InputError) as caught:
        run("chat", payload)
    assert caught.value.code is code
    assert str(caught.value) == detail


# -- what a rejection or a warning says ---------------------------------------------------------

LONG_PLACEHOLDER = ("n/a " * 18).strip()  # 71 characters: quoted up to 64


@pytest.mark.parametrize(
    ("channel", "payload", "overrides", "code", "detail"),
    [
        pytest.param(
            "chat",
            b"",
            {},
            ReasonCode.EMPTY_PAYLOAD,
            "the record has no value (a null/tombstone or 0-byte value): raw topics carry one "
            "JSON object per record",
            id="empty",
        ),
        pytest.param(
            "chat",
            b"x" * 2000,
            {"max_payload_bytes": 1024},
            ReasonCode.OVERSIZE,
            "payload is 2000 bytes, over the 1024-byte limit",
            id="oversize",
        ),
        pytest.param(
            "chat",
            {"conversation_id": "c"},
            {},
            ReasonCode.MISSING_ID,
            "chat message has no 'message_id' (string) field",
            id="missing-id",
        ),
        pytest.param(
            "chat",
            chat_payload(text=5, platform=7, customer={"email": 5}),
            {},
            ReasonCode.SCHEMA_VIOLATION,
            "customer.email: Input should be a valid string; text: Input should be a valid "
            "string; platform: Input should be a valid string",
            id="three-schema-errors-all-named",
        ),
        pytest.param(
            "chat",
            chat_payload(text=5, platform=7, author_role=3, customer={"email": 5}),
            {},
            ReasonCode.SCHEMA_VIOLATION,
            "author_role: Input should be 'customer', 'agent' or 'bot'; customer.email: Input "
            "should be a valid string; text: Input should be a valid string (+1 more)",
            id="four-schema-errors-three-named",
        ),
        pytest.param(
            "web",
            {"messageId": "w", "type": "track", "event": "x"},
            {},
            ReasonCode.MISSING_IDENTITY,
            "web event has neither userId nor anonymousId",
            id="web-without-ids",
        ),
        pytest.param(
            "survey",
            {"response_id": "r", "submitted_at": T10, "kind": "nps", "score": 11},
            {},
            ReasonCode.SCHEMA_VIOLATION,
            "nps score 11 is outside its scale 0..10",
            id="survey-score-off-scale",
        ),
        pytest.param(
            "email",
            {"message_id": "e", "received_at": T10, "text": "hi"},
            {},
            ReasonCode.MISSING_IDENTITY,
            "email 'from' '' has no address (is not an address)",
            id="email-without-from",
        ),
        pytest.param(
            "email",
            {
                "message_id": "e",
                "received_at": T10,
                "from": "no address in this sender field, only a long display name of words",
                "text": "hi",
            },
            {},
            ReasonCode.MISSING_IDENTITY,
            "email 'from' 'no address in this sender field, only a long display name of wor' "
            "has no address (is not an address)",
            id="email-from-quoted-up-to-64",
        ),
        pytest.param(
            "chat",
            chat_payload(customer={"email": "a.very.long.mailbox.name@example.com"}),
            {"max_identifier_chars": 16},
            ReasonCode.SCHEMA_VIOLATION,
            "customer.email is 36 characters long, over the 16-character limit for identifiers",
            id="email-address-over-the-identifier-limit",
        ),
    ],
)
def test_a_rejection_says_why(
    channel: str,
    payload: dict[str, Any] | bytes,
    overrides: dict[str, Any],
    code: ReasonCode,
    detail: str,
) -> None:
    with pytest.raises(InputError) as caught:
        run(channel, payload, std=Standardiser(settings(**overrides)))
    assert caught.value.code is code
    assert str(caught.value) == detail


def test_an_unknown_topic_is_named() -> None:
    msg = RawMessage(topic="cx.raw.fax", partition=0, offset=0, key=None, value=b"{}")
    with pytest.raises(InputError) as caught:
        STD.standardise(msg, NOW)
    assert str(caught.value) == "'cx.raw.fax' is not a raw channel topic"


@pytest.mark.parametrize(
    ("customer", "overrides", "warning"),
    [
        pytest.param(
            {"id": "c1", "phone": "call me on the landline after six please"},
            {},
            "customer.phone 'call me on the landline after si' is not a valid number: ignored",
            id="phone-quoted-up-to-32",
        ),
        pytest.param(
            {"id": "c1", "email": "this is not an e-mail address but a long sentence about one"},
            {},
            "customer.email 'this is not an e-mail address but a long sentence about one' "
            "is not an address: ignored",
            id="address-quoted-whole-under-64",
        ),
        pytest.param(
            {"id": LONG_PLACEHOLDER, "email": "a@example.com"},
            {"placeholder_ids": LONG_PLACEHOLDER},
            f"customer.id {LONG_PLACEHOLDER[:64]!r} is a placeholder, not an id: ignored",
            id="placeholder-quoted-up-to-64",
        ),
        pytest.param(
            {"id": "c1", "phone": "not a phone"},
            {"pseudonymise_key": "k" * 16},
            "customer.phone (value withheld) is not a valid number: ignored",
            id="withheld-when-pseudonymised",
        ),
    ],
)
def test_a_refused_identifier_is_quoted_in_its_warning(
    customer: dict[str, Any], overrides: dict[str, Any], warning: str
) -> None:
    ix = run("chat", chat_payload(customer=customer), std=Standardiser(settings(**overrides)))
    assert ix.warnings == [warning]


def test_a_long_refused_address_is_quoted_up_to_64_characters() -> None:
    address = "not an address: " + "word " * 14  # 86 characters
    ix = run("chat", chat_payload(customer={"id": "c1", "email": address}))
    assert ix.warnings == [f"customer.email {address[:64]!r} is not an address: ignored"]


def test_a_numeric_message_id_is_read_as_its_digits() -> None:
    ix = run("chat", {**chat_payload(customer={"id": "c1"}), "message_id": 42})
    assert ix.source.source_message_id == "42"
    assert ix.interaction_id == interaction_id("chat", "42")


def test_a_broker_time_of_one_millisecond_is_used() -> None:
    ix = run("chat", chat_payload(sent_at=None, customer={"id": "c1"}), timestamp_ms=1)
    assert ix.occurred_at == datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)
    assert ix.warnings == ["no event time: used the broker timestamp"]


def test_a_web_event_falls_back_to_its_received_at() -> None:
    ix = run(
        "web",
        {"messageId": "w", "type": "track", "event": "x", "userId": "u", "receivedAt": T10},
    )
    assert ix.occurred_at == AT10
    assert ix.warnings == []


def test_an_email_without_a_body_has_no_text() -> None:
    ix = run("email", {"message_id": "e", "received_at": T10, "from": "a@example.com"})
    assert ix.text is None


def test_an_email_reply_is_not_cleaned_twice_and_its_redactions_add_up() -> None:
    ix = run(
        "email",
        {
            "message_id": "e",
            "received_at": T10,
            "from": "a@example.com",
            "subject": "mail b@example.com",
            "text": "Fish &amp; chips <b>now</b>, write to c@example.com",
        },
    )
    # Plain text stays as written: an entity or a tag in it is the customer's words, not HTML.
    assert ix.text == "Fish &amp; chips <b>now</b>, write to [EMAIL]"
    assert ix.subject == "mail [EMAIL]"
    assert ix.redactions == {"email": 2}


def test_a_transcript_is_not_read_as_html() -> None:
    ix = run(
        "voice",
        {
            "call_id": "v",
            "started_at": T10,
            "customer_id": "c1",
            "transcript": "fish &amp; chips <b>now</b>",
        },
    )
    assert ix.text == "fish &amp; chips <b>now</b>"


def test_a_survey_keeps_its_response_id_and_customer_name() -> None:
    ix = run(
        "survey",
        {
            "response_id": "r-7",
            "submitted_at": T10,
            "kind": "nps",
            "score": 9,
            "customer": {"id": "c1", "name": "Ana"},
        },
    )
    assert ix.source.source_message_id == "r-7"
    assert ix.interaction_id == interaction_id("survey", "r-7")
    assert ix.attributes == {"customer_name": "Ana"}


def test_a_text_that_redaction_lengthens_past_the_limit_is_cut() -> None:
    # 100 characters fit max_text_chars; "[EMAIL]" is one longer than "a@b.co".
    text = "mail a@b.co " + "x" * 88
    ix = run(
        "chat",
        chat_payload(customer={"id": "c1"}, text=text),
        std=Standardiser(settings(max_text_chars=100)),
    )
    assert ix.text == "mail [EMAIL] " + "x" * 87
    assert ix.text_truncated is True
    assert ix.text_original_chars == 100


# -- timestamps, truncation, versions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp_ms", "expected"),
    [
        pytest.param(BROKER_MS, BROKER_TIME, id="broker-timestamp"),
        pytest.param(None, NOW, id="no-broker-timestamp"),
        pytest.param(0, NOW, id="zero-broker-timestamp"),
    ],
)
def test_missing_event_time_falls_back_to_broker_time(
    timestamp_ms: int | None, expected: datetime
) -> None:
    payload = {"message_id": "m", "conversation_id": "c", "text": "hello"}
    ix = run("chat", payload, timestamp_ms=timestamp_ms)
    assert ix.occurred_at == expected
    assert ix.received_at == expected
    assert "no event time: used the broker timestamp" in ix.warnings


def test_event_time_present_means_no_warning() -> None:
    ix = run("chat", chat_payload(customer={"id": "c1"}))
    assert ix.occurred_at == AT10
    assert ix.received_at == BROKER_TIME
    assert ix.warnings == []


@pytest.mark.parametrize(
    ("text", "expected_text", "truncated", "original"),
    [
        pytest.param("word " * 50, " ".join(["word"] * 20), True, 249, id="long-word-boundary"),
        pytest.param("x" * 150, "x" * 100, True, 150, id="long-no-spaces"),
        pytest.param("y" * 100, "y" * 100, False, 100, id="exactly-at-limit"),
        pytest.param("  short  text ", "short text", False, 10, id="short"),
    ],
)
def test_text_truncation(text: str, expected_text: str, truncated: bool, original: int) -> None:
    std = Standardiser(settings(max_text_chars=100))
    ix = run("chat", chat_payload(text=text), std=std)
    assert ix.text == expected_text
    assert ix.text_truncated is truncated
    assert ix.text_original_chars == original


@pytest.mark.parametrize(
    ("version", "expected"),
    [pytest.param(None, 1, id="absent-is-1"), pytest.param(2, 2, id="explicit-2")],
)
def test_input_schema_version(version: int | None, expected: int) -> None:
    payload = chat_payload() if version is None else chat_payload(schema_version=version)
    ix = run("chat", payload)
    assert ix.input_schema_version == expected
    assert ix.schema_version == 1
