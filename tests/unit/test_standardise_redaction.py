"""The standardise stage redacts text, subject and web free text, and records the counts."""

from __future__ import annotations

from typing import Any

from pipeline.standardise.standardiser import Standardiser
from tests.unit.test_standardise import NOW, message, settings

CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"


def standardise(channel: str, payload: dict[str, Any], **overrides: Any) -> Any:
    return Standardiser(settings(**overrides)).standardise(message(channel, payload), NOW)


def test_chat_text_is_redacted_and_counted() -> None:
    ix = standardise(
        "chat",
        {
            "message_id": "m1",
            "sent_at": "2026-11-29T10:00:00Z",
            "author_role": "customer",
            "customer": {"email": "ana@example.com"},
            "text": f"<p>Card {CARD}, IBAN {IBAN}, mail ana@example.com, (415) 555-0132</p>",
        },
    )
    assert ix.text == "Card [CARD], IBAN [IBAN], mail [EMAIL], [PHONE]"
    assert ix.redactions == {"email": 1, "iban": 1, "card": 1, "phone": 1}
    assert ix.identifiers.email == "ana@example.com"  # identity keeps it (no key set)


def test_email_subject_and_body_both_count() -> None:
    ix = standardise(
        "email",
        {
            "message_id": "<e1@x>",
            "received_at": "2026-11-29T10:00:00Z",
            "from": "Ana <ana@example.com>",
            "subject": "Refund to DE89370400440532013000",
            "text": "Please refund card 4111111111111111.",
        },
    )
    assert ix.subject == "Refund to [IBAN]"
    assert ix.text == "Please refund card [CARD]."
    assert ix.redactions == {"iban": 1, "card": 1}


def test_web_free_text_is_redacted_in_properties_too() -> None:
    ix = standardise(
        "web",
        {
            "messageId": "w1",
            "type": "track",
            "event": "Feedback Submitted",
            "timestamp": "2026-11-29T10:00:00Z",
            "anonymousId": "a1",
            "properties": {"comment": f"charged twice on {CARD}", "rating": 1},
        },
    )
    assert ix.text == "charged twice on [CARD]"
    assert ix.attributes["properties"] == {"comment": "charged twice on [CARD]", "rating": 1}
    assert ix.redactions == {"card": 1}


def test_a_number_cut_by_truncation_is_still_redacted() -> None:
    text = "x " * 50 + CARD.replace(" ", "")  # the card straddles the 110-character limit
    ix = standardise(
        "chat",
        {
            "message_id": "m1",
            "sent_at": "2026-11-29T10:00:00Z",
            "author_role": "customer",
            "customer": {"id": "c1"},
            "text": text,
        },
        max_text_chars=110,
    )
    assert ix.text.endswith("[CARD]") and "4111" not in ix.text
    assert ix.redactions == {"card": 1}
    assert ix.text_original_chars == len(text)


def test_redaction_off_keeps_the_text() -> None:
    body = {
        "message_id": "m1",
        "sent_at": "2026-11-29T10:00:00Z",
        "author_role": "customer",
        "customer": {"id": "c1"},
        "text": f"card {CARD}",
    }
    ix = standardise("chat", body, redact="none")
    assert ix.text == f"card {CARD}" and ix.redactions == {}


def test_pseudonymised_events_hide_contact_fields_and_refused_values() -> None:
    ix = standardise(
        "web",
        {
            "messageId": "w1",
            "type": "identify",
            "timestamp": "2026-11-29T10:00:00Z",
            "userId": "u-77",
            "traits": {
                "email": "Ana@Example.com",
                "phone": "not a phone",
                "name": "Ana L",
                "plan": "pro",
            },
            "context": {"ip": "203.0.113.9", "locale": "en-GB"},
        },
        pseudonymise_key="s" * 20,
    )
    dumped = ix.model_dump_json()
    for clear in (
        "u-77",
        "Ana@Example.com",
        "ana@example.com",
        "not a phone",
        "Ana L",
        "203.0.113.9",
    ):
        assert clear not in dumped, clear
    assert ix.attributes["traits"]["plan"] == "pro"
    assert ix.attributes["context"]["locale"] == "en-GB"
    assert any("(value withheld)" in w for w in ix.warnings)
