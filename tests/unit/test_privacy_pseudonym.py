"""Pseudonymisation: keyed, stable, and identity resolution still links one person."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.contracts.records import Identifiers
from pipeline.privacy.pseudonym import Pseudonymiser
from pipeline.settings import Settings, SettingsError, get_settings
from pipeline.standardise.standardiser import RawMessage, Standardiser
from tests.unit.test_resolve import NOW, State, envelope

KEY = SecretStr("k" * 32)


def test_same_key_same_value_same_pseudonym() -> None:
    first, second = Pseudonymiser(KEY), Pseudonymiser(SecretStr("k" * 32))
    assert first.pseudonym("email", "ana@example.com") == second.pseudonym(
        "email", "ana@example.com"
    )
    pseudonym = first.pseudonym("email", "ana@example.com")
    assert pseudonym.startswith("ps_") and len(pseudonym) == 35
    assert "ana" not in pseudonym


def test_the_key_and_the_kind_change_the_pseudonym() -> None:
    ours = Pseudonymiser(KEY)
    other = Pseudonymiser(SecretStr("another secret key!"))
    assert ours.pseudonym("email", "a@b.co") != other.pseudonym("email", "a@b.co")
    assert ours.pseudonym("user_id", "42") != ours.pseudonym("customer_id", "42")


def test_every_identifier_is_replaced() -> None:
    ids = Identifiers(email="ana@example.com", phone="+14155550132", user_id="u1")
    hidden = Pseudonymiser(KEY).identifiers(ids)
    assert [kind for kind, _ in hidden.pairs()] == ["user_id", "email", "phone"]
    assert all(value.startswith("ps_") for _, value in hidden.pairs())


def test_a_short_key_is_refused_unprinted_and_an_empty_one_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXSTREAM_PSEUDONYMISE_KEY", "tooshort")
    with pytest.raises(SettingsError, match=r"CXSTREAM_PSEUDONYMISE_KEY='\*\*\*': must be") as err:
        get_settings()
    assert "tooshort" not in str(err.value)
    assert Settings(pseudonymise_key="").pseudonymise_key is None


def _std(**overrides: Any) -> Standardiser:
    return Standardiser(Settings(topic_prefix="cx.", default_region="US", **overrides))


def _chat(std: Standardiser, message_id: str, customer: dict[str, str]) -> Any:
    body = {
        "message_id": message_id,
        "conversation_id": "c1",
        "sent_at": 1_795_000_000,
        "author_role": "customer",
        "customer": customer,
        "text": "hello",
    }
    raw = RawMessage("cx.raw.chat", 0, 0, None, json.dumps(body).encode(), None)
    return std.standardise(raw, NOW)


def test_normalised_before_hashing() -> None:
    std = _std(pseudonymise_key=KEY)
    one = _chat(std, "m1", {"email": "Ana@Example.com", "phone": "(415) 555-0132"})
    two = _chat(std, "m2", {"email": "ana@example.com", "phone": "+1 415-555-0132"})
    assert one.identifiers == two.identifiers
    assert one.identifiers.email == Pseudonymiser(KEY).pseudonym("email", "ana@example.com")
    assert one.attributes.get("customer_name") is None


def test_identity_links_the_same_person_through_pseudonyms(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit import test_resolve

    monkeypatch.setattr(test_resolve, "STD", _std(pseudonymise_key=KEY))
    state = State()
    first = state.process(
        envelope(
            "email",
            {
                "message_id": "<a@x>",
                "received_at": 1_795_000_000,
                "from": "Ana <ANA@example.com>",
                "text": "hi",
            },
        ),
        1.0,
    )
    chat = {
        "message_id": "m9",
        "conversation_id": "c9",
        "sent_at": 1_795_000_100,
        "author_role": "customer",
        "customer": {"email": "ana@example.com", "name": "Ana Lopez"},
        "text": "where is my parcel?",
    }
    second = state.process(envelope("chat", chat, offset=1), 2.0)
    assert first.interaction and second.interaction
    assert first.interaction.customer_key == second.interaction.customer_key
    assert second.interaction.attributes["customer_name"].startswith("ps_")
    stored = json.dumps([state.links, state.members])
    assert "ana@example.com" not in stored.lower() and "Ana Lopez" not in stored
