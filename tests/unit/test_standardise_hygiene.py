"""Identity hygiene and poison inputs in ``Standardiser``: placeholder ids, identifier limits,
email normalisation, BOM, numeric phones, boolean timestamps, empty records, and the inputs that
once froze a worker (reply parsing whose time grew with the square of the body)."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest

from pipeline.contracts.records import Identifiers, ReasonCode
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.normalise.text import MAX_HTML_CHARS
from pipeline.standardise.standardiser import Standardiser
from tests.unit.test_standardise import T10, run, settings


def rejected(channel: str, payload: dict[str, Any] | bytes, **overrides: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        run(channel, payload, std=Standardiser(settings(**overrides)))
    return caught.value


def web(**fields: Any) -> dict[str, Any]:
    return {"messageId": "w-1", "type": "identify", "timestamp": T10, **fields}


def chat(**fields: Any) -> dict[str, Any]:
    return {"message_id": "c-1", "sent_at": T10, "text": "hi", **fields}


def voice(**fields: Any) -> dict[str, Any]:
    return {"call_id": "call-1", "started_at": T10, **fields}


def survey(**fields: Any) -> dict[str, Any]:
    return {"response_id": "r-1", "submitted_at": T10, "kind": "nps", "score": 9, **fields}


def placeholder(field: str, value: str) -> str:
    return f"{field} {value!r} is a placeholder, not an id: ignored"


# -- placeholder identifiers -----------------------------------------------------------------------
PLACEHOLDER_CASES = [
    pytest.param(
        "web",
        web(userId="undefined", anonymousId="anon-1"),
        Identifiers(anonymous_id="anon-1"),
        [placeholder("userId", "undefined")],
        id="web-undefined-user-keeps-anonymous-id",
    ),
    pytest.param(
        "web",
        web(userId=" NULL ", anonymousId="anon-1", traits={"email": "ana@example.com"}),
        Identifiers(anonymous_id="anon-1", email="ana@example.com"),
        [placeholder("userId", "NULL")],
        id="web-null-trimmed-case-insensitive",
    ),
    pytest.param(
        "web",
        web(userId=0, anonymousId="anon-1"),
        Identifiers(anonymous_id="anon-1"),
        [placeholder("userId", "0")],
        id="web-numeric-zero",
    ),
    pytest.param(
        "web",
        web(userId="u-42", anonymousId="[object Object]"),
        Identifiers(user_id="u-42"),
        [placeholder("anonymousId", "[object Object]")],
        id="web-object-object-anonymous-id",
    ),
    pytest.param(
        "web",
        web(userId="guest", anonymousId="  ", traits={"phone": "+1 415 555 0132"}),
        Identifiers(phone="+14155550132"),
        [placeholder("userId", "guest")],
        id="web-blank-anonymous-id-ignored-silently",
    ),
    pytest.param(
        "web",
        web(userId=" u-42 ", anonymousId="anon-1"),
        Identifiers(user_id="u-42", anonymous_id="anon-1"),
        [],
        id="web-real-id-trimmed",
    ),
    pytest.param(
        "chat",
        chat(customer={"id": "anonymous", "email": "ana@example.com"}),
        Identifiers(email="ana@example.com"),
        [placeholder("customer.id", "anonymous")],
        id="chat-anonymous-customer-id",
    ),
    pytest.param(
        "chat",
        chat(customer={"id": " ", "email": "ana@example.com"}),
        Identifiers(email="ana@example.com"),
        [],
        id="chat-blank-customer-id",
    ),
    pytest.param(
        "chat",
        chat(conversation_id="conv-9", customer={"id": "N/A"}),
        Identifiers(anonymous_id="chat:conv-9"),
        [placeholder("customer.id", "N/A"), "anonymous chat: identified by its conversation"],
        id="chat-placeholder-falls-back-to-conversation",
    ),
    pytest.param(
        "voice",
        voice(customer_id=-1),
        Identifiers(anonymous_id="call:call-1"),
        [placeholder("customer_id", "-1"), "caller unknown: identified by the call id"],
        id="voice-minus-one-falls-back-to-call",
    ),
    pytest.param(
        "survey",
        survey(customer={"id": "Guest"}),
        Identifiers(anonymous_id="survey:r-1"),
        [placeholder("customer.id", "Guest"), "anonymous survey: identified by its response id"],
        id="survey-guest-falls-back-to-response",
    ),
    pytest.param(
        "survey",
        survey(customer={"id": "(null)", "email": "bob@example.org"}),
        Identifiers(email="bob@example.org"),
        [placeholder("customer.id", "(null)")],
        id="survey-null-in-parentheses",
    ),
]


@pytest.mark.parametrize(("channel", "payload", "ids", "warnings"), PLACEHOLDER_CASES)
def test_placeholders_are_never_identifiers(
    channel: str, payload: dict[str, Any], ids: Identifiers, warnings: list[str]
) -> None:
    ix = run(channel, payload)
    assert ix.identifiers == ids
    assert ix.warnings == warnings


@pytest.mark.parametrize(
    ("channel", "payload", "reason"),
    [
        pytest.param(
            "web",
            web(userId="undefined", anonymousId="guest"),
            "web message 'w-1' names no customer; "
            + placeholder("userId", "undefined")
            + "; "
            + placeholder("anonymousId", "guest"),
            id="web-only-placeholders",
        ),
        pytest.param(
            "chat",
            chat(conversation_id="undefined", customer={"id": "unknown"}),
            "chat message 'c-1' names no customer; "
            + placeholder("customer.id", "unknown")
            + "; "
            + placeholder("conversation_id", "undefined"),
            id="chat-placeholder-conversation-is-no-fallback",
        ),
    ],
)
def test_no_identifier_left_is_missing_identity(
    channel: str, payload: dict[str, Any], reason: str
) -> None:
    error = rejected(channel, payload)
    assert error.code is ReasonCode.MISSING_IDENTITY
    assert str(error) == reason


def test_two_undefined_users_stay_two_customers() -> None:
    alice = run("web", web(userId="undefined", traits={"email": "alice@example.com"}))
    bob = run("web", web(userId="undefined", traits={"email": "bob@example.com"}), offset=1)
    assert alice.identifiers == Identifiers(email="alice@example.com")
    assert bob.identifiers == Identifiers(email="bob@example.com")
    assert not set(alice.identifiers.pairs()) & set(bob.identifiers.pairs())


def test_placeholder_list_is_configurable() -> None:
    std = Standardiser(settings(placeholder_ids="acme-none, TBD"))
    ix = run("web", web(userId="ACME-NONE", anonymousId="undefined"), std=std)
    assert ix.identifiers == Identifiers(anonymous_id="undefined")
    assert ix.warnings == [placeholder("userId", "ACME-NONE")]
    assert settings(placeholder_ids="acme-none, TBD").placeholder_id_values == {
        "acme-none",
        "tbd",
        "",
    }


def test_default_placeholders() -> None:
    assert settings().placeholder_id_values == {
        "",
        "undefined",
        "null",
        "none",
        "nil",
        "0",
        "-1",
        "anonymous",
        "guest",
        "unknown",
        "n/a",
        "na",
        "test",
        "user",
        "customer",
        "default",
        "(null)",
        "[object object]",
    }


# -- identifier length -----------------------------------------------------------------------------
LONG = "x" * 257


@pytest.mark.parametrize(
    ("channel", "payload", "field"),
    [
        pytest.param("web", web(userId=LONG), "userId", id="user-id"),
        pytest.param("web", web(userId="u", anonymousId=LONG), "anonymousId", id="anonymous-id"),
        pytest.param("chat", chat(customer={"id": LONG}), "customer.id", id="chat-customer-id"),
        pytest.param(
            "chat", chat(conversation_id=LONG), "conversation_id", id="chat-conversation-fallback"
        ),
        pytest.param("voice", voice(customer_id=LONG), "customer_id", id="voice-customer-id"),
        pytest.param("voice", voice(call_id=LONG), "call_id", id="voice-call-fallback"),
        pytest.param("survey", survey(customer={"id": LONG}), "customer.id", id="survey-id"),
        pytest.param("survey", survey(response_id=LONG), "response_id", id="survey-fallback"),
    ],
)
def test_a_too_long_identifier_is_a_schema_violation(
    channel: str, payload: dict[str, Any], field: str
) -> None:
    error = rejected(channel, payload)
    assert error.code is ReasonCode.SCHEMA_VIOLATION
    assert str(error) == (
        f"{field} is 257 characters long, over the 256-character limit for identifiers"
    )


def test_identifier_at_the_limit_is_kept() -> None:
    ix = run("web", web(userId="u" * 256, anonymousId="a" * 256))
    assert ix.identifiers == Identifiers(user_id="u" * 256, anonymous_id="a" * 256)


def test_long_conversation_id_with_a_customer_is_not_an_identifier() -> None:
    ix = run("chat", chat(conversation_id=LONG, customer={"id": "c-1"}))
    assert ix.identifiers == Identifiers(customer_id="c-1")


def test_identifier_limit_is_configurable() -> None:
    error = rejected(
        "email",
        {"message_id": "e-1", "from": "a" * 20 + "@example.com"},
        **{"max_identifier_chars": 16},
    )
    assert error.code is ReasonCode.SCHEMA_VIOLATION
    assert str(error) == "from is 32 characters long, over the 16-character limit for identifiers"


# -- email addresses -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "email"),
    [
        pytest.param("ana@xn--bcher-kva.example", "ana@xn--bcher-kva.example", id="a-label"),
        pytest.param("Ana@Bücher.Example", "ana@xn--bcher-kva.example", id="u-label"),
        pytest.param("Straße@Example.de", "straße@example.de", id="sharp-s-not-folded"),
        pytest.param("STRASSE@example.de", "strasse@example.de", id="ss"),
    ],
)
def test_email_identifier_normalisation(raw: str, email: str) -> None:
    ix = run("chat", chat(customer={"email": raw}))
    assert ix.identifiers == Identifiers(email=email)


@pytest.mark.parametrize(
    ("channel", "payload", "warning"),
    [
        pytest.param(
            "chat",
            chat(customer={"id": "c-1", "email": "an\u200ba@example.com"}),
            "customer.email 'an\\u200ba@example.com' has an invisible character "
            "(U+200B ZERO WIDTH SPACE): ignored",
            id="chat-zero-width-space",
        ),
        pytest.param(
            "web",
            web(userId="u-1", traits={"email": "ana@example.com\u202e"}),
            "traits.email 'ana@example.com\\u202e' has an invisible character "
            "(U+202E RIGHT-TO-LEFT OVERRIDE): ignored",
            id="web-rlo",
        ),
    ],
)
def test_invisible_characters_drop_the_address(
    channel: str, payload: dict[str, Any], warning: str
) -> None:
    ix = run(channel, payload)
    assert ix.identifiers.email is None
    assert ix.warnings == [warning]


def test_email_sender_with_an_invisible_character_names_no_customer() -> None:
    error = rejected("email", {"message_id": "e-1", "from": "Ana <ana\ufeff@example.com>"})
    assert error.code is ReasonCode.MISSING_IDENTITY
    assert str(error) == (
        "email 'from' 'Ana <ana\\ufeff@example.com>' has no address "
        "(has an invisible character (U+FEFF ZERO WIDTH NO-BREAK SPACE))"
    )


def test_deeply_nested_sender_comment_is_not_a_crash() -> None:
    error = rejected("email", {"message_id": "e-1", "from": "(" * 240_000})
    assert error.code is ReasonCode.MISSING_IDENTITY


# -- low items: BOM, numeric phones, boolean timestamps, empty records, bidi text ------------------
def test_utf8_bom_before_json_is_tolerated() -> None:
    payload = codecs.BOM_UTF8 + json.dumps(chat(customer={"id": "c-1"})).encode()
    assert run("chat", payload).identifiers == Identifiers(customer_id="c-1")


def test_utf8_bom_keeps_the_byte_offset_of_invalid_utf8() -> None:
    error = rejected("chat", codecs.BOM_UTF8 + b'{"a": "\xff"}')
    assert error.code is ReasonCode.INVALID_UTF8
    assert str(error) == "payload is not UTF-8: byte 10 (invalid start byte)"


@pytest.mark.parametrize(
    ("channel", "payload", "phone", "warnings"),
    [
        pytest.param(
            "chat",
            chat(customer={"phone": 4155550132}),
            "+14155550132",
            ["customer.phone is a JSON number: read as its digits 4155550132"],
            id="chat-int",
        ),
        pytest.param(
            "voice",
            voice(caller_number=4155550132),
            "+14155550132",
            ["caller_number is a JSON number: read as its digits 4155550132"],
            id="voice-int",
        ),
        pytest.param(
            "web",
            web(userId="u-1", traits={"phone": 4155550132}),
            "+14155550132",
            ["traits.phone is a JSON number: read as its digits 4155550132"],
            id="web-int",
        ),
        pytest.param(
            "voice",
            voice(customer_id="c-1", caller_number=4155550132.5),
            None,
            ["caller_number is a JSON float, not text: ignored"],
            id="voice-float-dropped",
        ),
        pytest.param(
            "survey",
            survey(customer={"id": "c-1", "phone": 12}),
            None,
            [
                "customer.phone is a JSON number: read as its digits 12",
                "customer.phone '12' is not a valid number: ignored",
            ],
            id="survey-short-int-dropped",
        ),
    ],
)
def test_numeric_phone_is_read_or_dropped_never_a_dead_letter(
    channel: str, payload: dict[str, Any], phone: str | None, warnings: list[str]
) -> None:
    ix = run(channel, payload)
    assert ix.identifiers.phone == phone
    assert ix.warnings[: len(warnings)] == warnings


@pytest.mark.parametrize(
    ("channel", "payload", "shown"),
    [
        pytest.param("chat", chat(customer={"id": "c"}, sent_at=True), "true", id="chat-true"),
        pytest.param("web", web(userId="u", timestamp=False), "false", id="web-false"),
    ],
)
def test_boolean_timestamp_says_so(channel: str, payload: dict[str, Any], shown: str) -> None:
    error = rejected(channel, payload)
    assert error.code is ReasonCode.INVALID_TIMESTAMP
    assert str(error) == f"a boolean is not a timestamp: {shown}"


def test_empty_record_is_an_empty_payload() -> None:
    error = rejected("chat", b"")
    assert error.code is ReasonCode.EMPTY_PAYLOAD
    assert str(error).startswith("the record has no value (a null/tombstone or 0-byte value)")


def test_bidi_controls_are_removed_from_text() -> None:
    ix = run("chat", chat(customer={"id": "c"}, text="refund \u202egnp.exe\u202c please"))
    assert ix.text == "refund gnp.exe please"


# -- the inputs that froze a worker ----------------------------------------------------------------
SPACES = "a" + " " * 240_000 + "b\n> x"


@pytest.mark.parametrize(
    ("fields", "text", "original_chars"),
    [
        pytest.param(
            {"text": "On Mon wrote " * 19_000},
            ("On Mon wrote " * 19_000)[:10_000].rsplit(" ", 1)[0],
            246_999,
            id="on-mon-wrote",
        ),
        pytest.param({"text": SPACES}, "a b\n> x", 7, id="spaces-text"),
        pytest.param({"html": SPACES}, "a", 1, id="spaces-html-beyond-the-html-bound"),
        pytest.param(
            {"text": "Am " * 20_000},
            ("Am " * 20_000)[:10_000].rsplit(" ", 1)[0],
            59_999,
            id="am-am-am",
        ),
    ],
)
def test_poison_emails_standardise_to_their_text(
    fields: dict[str, str], text: str, original_chars: int
) -> None:
    ix = run("email", {"message_id": "e-1", "from": "ana@example.com", **fields})
    assert ix.text == text
    assert ix.text_original_chars == original_chars
    assert ix.text_truncated == (original_chars > 10_000)


def test_html_bound_is_the_documented_one() -> None:
    assert SPACES.index("b") > MAX_HTML_CHARS  # so only "a" is parsed
