"""``IdentityResolver`` over plain dicts: new keys, linking, merges, lookups, determinism."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.identity import IdentityResolver, new_customer_key
from pipeline.records import Identifiers, IdentityLink
from pipeline.settings import Settings
from pipeline.standardise import RawMessage, Standardiser

EMAIL = "ana@example.com"
PHONE = "+14155550132"


def fresh() -> tuple[IdentityResolver, dict[str, Any], dict[str, Any]]:
    links: dict[str, Any] = {}
    members: dict[str, Any] = {}
    return IdentityResolver(links, members), links, members


@pytest.mark.parametrize(
    ("ids", "expected_idents"),
    [
        pytest.param(Identifiers(email=EMAIL), [f"email:{EMAIL}"], id="email-only"),
        pytest.param(
            Identifiers(anonymous_id="anon-1", phone=PHONE),
            [f"phone:{PHONE}", "anonymous_id:anon-1"],
            id="phone-beats-anonymous",
        ),
        pytest.param(
            Identifiers(email=EMAIL, user_id="u-1", customer_id="c-1"),
            ["customer_id:c-1", "user_id:u-1", f"email:{EMAIL}"],
            id="customer-id-strongest",
        ),
        pytest.param(
            Identifiers(anonymous_id="anon-1", user_id="u-1"),
            ["user_id:u-1", "anonymous_id:anon-1"],
            id="user-id-beats-anonymous",
        ),
        pytest.param(
            Identifiers(anonymous_id="chat:conv-1"),
            ["anonymous_id:chat:conv-1"],
            id="anonymous-only",
        ),
    ],
)
def test_new_identifiers_get_key_of_strongest(ids: Identifiers, expected_idents: list[str]) -> None:
    resolver, links, members = fresh()
    result = resolver.resolve(ids, "ix_1", 1000.0)
    key = new_customer_key(expected_idents[0])
    assert key.startswith("cus_")
    assert len(key) == len("cus_") + 20
    assert result.customer_key == key
    assert result.merges == []
    assert result.new_identifiers == expected_idents
    assert links == {ident: key for ident in expected_idents}
    assert members == {key: {"since": 1000.0, "ids": expected_idents}}


def test_new_customer_key_is_deterministic_and_distinct() -> None:
    assert new_customer_key(f"email:{EMAIL}") == new_customer_key(f"email:{EMAIL}")
    assert new_customer_key(f"email:{EMAIL}") != new_customer_key(f"user_id:{EMAIL}")


def test_event_with_two_identifiers_links_them() -> None:
    resolver, links, members = fresh()
    key = resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_1", 1.0).customer_key
    later_phone = resolver.resolve(Identifiers(phone=PHONE), "ix_2", 2.0)
    later_email = resolver.resolve(Identifiers(email=EMAIL), "ix_3", 3.0)
    assert later_phone.customer_key == later_email.customer_key == key
    assert later_phone.new_identifiers == later_email.new_identifiers == []
    assert later_phone.merges == later_email.merges == []
    assert members == {key: {"since": 1.0, "ids": [f"email:{EMAIL}", f"phone:{PHONE}"]}}
    assert links == {f"email:{EMAIL}": key, f"phone:{PHONE}": key}
    assert resolver.lookup(f"phone:{PHONE}") == key


def test_known_key_gains_new_identifier() -> None:
    resolver, links, members = fresh()
    key = resolver.resolve(Identifiers(email=EMAIL), "ix_1", 1.0).customer_key
    result = resolver.resolve(Identifiers(email=EMAIL, anonymous_id="anon-9"), "ix_2", 5.0)
    assert result.customer_key == key
    assert result.new_identifiers == ["anonymous_id:anon-9"]
    assert links["anonymous_id:anon-9"] == key
    assert members[key] == {"since": 1.0, "ids": [f"email:{EMAIL}", "anonymous_id:anon-9"]}


# -- across channels, through the real normalisers ---------------------------------------------

STD = Standardiser(Settings(topic_prefix="cx.", default_region="US", max_future_skew_s=86_400.0))
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
T10 = "2026-11-29T10:00:00Z"


def identifiers_of(channel: str, payload: dict[str, Any]) -> Identifiers:
    msg = RawMessage(
        topic=f"cx.raw.{channel}",
        partition=0,
        offset=0,
        key=None,
        value=json.dumps(payload).encode(),
        timestamp_ms=None,
    )
    return STD.standardise(msg, NOW).identifiers


FIRST_CHAT = {
    "message_id": "c-1",
    "conversation_id": "conv-1",
    "sent_at": T10,
    "customer": {"email": "Ana.Lopez+vip@Example.COM", "phone": "(415) 555-0132"},
    "text": "hello",
}


@pytest.mark.parametrize(
    ("channel", "payload"),
    [
        pytest.param(
            "email",
            {"message_id": "<m@x>", "received_at": T10, "from": "A <ANA.LOPEZ+VIP@example.com>"},
            id="email-case-folded",
        ),
        pytest.param(
            "voice",
            {"call_id": "call-1", "started_at": T10, "caller_number": "+1 415-555-0132"},
            id="voice-e164",
        ),
        pytest.param(
            "web",
            {
                "messageId": "w-1",
                "type": "identify",
                "timestamp": T10,
                "anonymousId": "anon-7",
                "traits": {"phone": "415.555.0132"},
            },
            id="web-identify-phone",
        ),
        pytest.param(
            "survey",
            {
                "response_id": "r-1",
                "submitted_at": T10,
                "kind": "nps",
                "score": 3,
                "customer": {"email": "ana.lopez+VIP@EXAMPLE.com"},
            },
            id="survey-email",
        ),
    ],
)
def test_normalised_identifiers_link_across_channels(channel: str, payload: dict[str, Any]) -> None:
    resolver, _, members = fresh()
    key = resolver.resolve(identifiers_of("chat", FIRST_CHAT), "ix_chat", 1.0).customer_key
    result = resolver.resolve(identifiers_of(channel, payload), f"ix_{channel}", 2.0)
    assert result.customer_key == key
    assert result.merges == []
    assert list(members) == [key]


# -- merges ------------------------------------------------------------------------------------

KEY_EMAIL = new_customer_key(f"email:{EMAIL}")
KEY_PHONE = new_customer_key(f"phone:{PHONE}")


@pytest.mark.parametrize(
    ("email_since", "phone_since", "survivor"),
    [
        pytest.param(10.0, 20.0, KEY_EMAIL, id="email-key-older"),
        pytest.param(20.0, 10.0, KEY_PHONE, id="phone-key-older"),
        pytest.param(10.0, 10.0, min(KEY_EMAIL, KEY_PHONE), id="tie-smaller-string"),
    ],
)
def test_merge_older_key_survives(email_since: float, phone_since: float, survivor: str) -> None:
    resolver, links, members = fresh()
    # the phone key carries two identifiers, so a merge must move both when it loses
    first = sorted([(email_since, "e"), (phone_since, "p")])
    for since, which in first:
        if which == "e":
            resolver.resolve(Identifiers(email=EMAIL), "ix_e", since)
        else:
            resolver.resolve(Identifiers(phone=PHONE, anonymous_id="anon-1"), "ix_p", since)
    assert set(members) == {KEY_EMAIL, KEY_PHONE}
    loser = KEY_PHONE if survivor == KEY_EMAIL else KEY_EMAIL
    loser_ids = list(members[loser]["ids"])
    survivor_ids = list(members[survivor]["ids"])

    result = resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_both", 100.0)

    assert result.customer_key == survivor
    assert result.merges == [
        IdentityLink(
            merged_key=loser,
            customer_key=survivor,
            identifiers=loser_ids,
            interaction_id="ix_both",
            linked_at=datetime.fromtimestamp(100.0, tz=UTC),
        )
    ]
    assert list(members) == [survivor]
    assert members[survivor] == {
        "since": min(email_since, phone_since),
        "ids": survivor_ids + loser_ids,
    }
    for ident in survivor_ids + loser_ids:
        assert links[ident] == survivor
        assert resolver.lookup(ident) == survivor
    assert links[f"merged:{loser}"] == survivor
    assert resolver.lookup(loser) == survivor
    assert resolver.lookup(survivor) == survivor
    # afterwards every identifier of either person resolves without a further merge
    again = resolver.resolve(Identifiers(anonymous_id="anon-1"), "ix_later", 200.0)
    assert again.customer_key == survivor
    assert again.merges == []


def test_three_keys_merge_into_the_oldest() -> None:
    resolver, _, members = fresh()
    oldest = resolver.resolve(Identifiers(user_id="u-1"), "ix_1", 1.0).customer_key
    mid = resolver.resolve(Identifiers(email=EMAIL), "ix_2", 2.0).customer_key
    newest = resolver.resolve(Identifiers(phone=PHONE), "ix_3", 3.0).customer_key
    result = resolver.resolve(Identifiers(phone=PHONE, email=EMAIL, user_id="u-1"), "ix_4", 4.0)
    assert result.customer_key == oldest
    assert {(m.merged_key, m.customer_key) for m in result.merges} == {
        (mid, oldest),
        (newest, oldest),
    }
    assert list(members) == [oldest]
    assert sorted(members[oldest]["ids"]) == sorted(
        ["user_id:u-1", f"email:{EMAIL}", f"phone:{PHONE}"]
    )


def test_lookup_follows_chained_merges() -> None:
    """A key merged into a key that is later merged again must look up the final survivor."""
    resolver, _, members = fresh()
    oldest = resolver.resolve(Identifiers(user_id="u-1"), "ix_1", 1.0).customer_key
    middle = resolver.resolve(Identifiers(email=EMAIL), "ix_2", 2.0).customer_key
    newest = resolver.resolve(Identifiers(phone=PHONE), "ix_3", 3.0).customer_key
    assert resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_4", 4.0).merges[0] == (
        IdentityLink(
            merged_key=newest,
            customer_key=middle,
            identifiers=[f"phone:{PHONE}"],
            interaction_id="ix_4",
            linked_at=datetime.fromtimestamp(4.0, tz=UTC),
        )
    )
    second = resolver.resolve(Identifiers(user_id="u-1", email=EMAIL), "ix_5", 5.0)
    assert [(m.merged_key, m.customer_key) for m in second.merges] == [(middle, oldest)]
    assert list(members) == [oldest]
    assert resolver.lookup(middle) == oldest
    assert resolver.lookup(newest) == oldest


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("cus_00000000000000000000", id="unknown-key"),
        pytest.param("email:nobody@example.com", id="unknown-identifier"),
    ],
)
def test_lookup_unknown_is_none(value: str) -> None:
    resolver, _, _ = fresh()
    resolver.resolve(Identifiers(email=EMAIL), "ix_1", 1.0)
    assert resolver.lookup(value) is None


# -- determinism and errors --------------------------------------------------------------------

EVENTS: list[tuple[Identifiers, str, float]] = [
    (Identifiers(anonymous_id="anon-1"), "ix_1", 1.0),
    (Identifiers(email=EMAIL), "ix_2", 2.0),
    (Identifiers(phone=PHONE, user_id="u-1"), "ix_3", 3.0),
    (Identifiers(anonymous_id="anon-1", email=EMAIL), "ix_4", 4.0),
    (Identifiers(email=EMAIL, phone=PHONE), "ix_5", 5.0),
    (Identifiers(customer_id="c-9"), "ix_6", 6.0),
    (Identifiers(phone=PHONE), "ix_7", 7.0),
]


def replay() -> tuple[list[str], list[IdentityLink], dict[str, Any], dict[str, Any]]:
    resolver, links, members = fresh()
    keys: list[str] = []
    merges: list[IdentityLink] = []
    for ids, ix_id, now in EVENTS:
        result = resolver.resolve(ids, ix_id, now)
        keys.append(result.customer_key)
        merges.extend(result.merges)
    return keys, merges, links, members


def test_replay_is_deterministic() -> None:
    first = replay()
    second = replay()
    assert first == second
    keys, merges, _, members = first
    assert keys[0] == new_customer_key("anonymous_id:anon-1")
    assert keys[1] == new_customer_key(f"email:{EMAIL}")
    assert keys[2] == new_customer_key("user_id:u-1")
    assert keys[3] == keys[0]  # anon key (since 1) absorbs the email key (since 2)
    assert keys[4] == keys[6] == keys[0]
    assert len(merges) == 2
    assert set(members) == {keys[0], keys[5]}


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(Identifiers(), id="none"),
        pytest.param(Identifiers(email="", phone="", user_id=""), id="empty-strings"),
    ],
)
def test_event_without_identifiers_raises(ids: Identifiers) -> None:
    resolver, links, members = fresh()
    with pytest.raises(ValueError, match="without identifiers"):
        resolver.resolve(ids, "ix_1", 1.0)
    assert links == {}
    assert members == {}
