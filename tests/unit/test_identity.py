"""``IdentityResolver`` over plain dicts: new keys, linking, merges, lookups, determinism."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.contracts.records import Identifiers, IdentityLink
from pipeline.contracts.table_values import (
    MAX_TABLE_VALUE_BYTES,
    TableValueTooLarge,
    check_table_value,
)
from pipeline.resolve.identity import (
    MEMBERS_TABLE,
    IdentifierTooLong,
    IdentityResolver,
    keep_strongest,
    new_customer_key,
    strength,
)
from pipeline.settings import Settings
from pipeline.standardise.standardiser import RawMessage, Standardiser

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
    with pytest.raises(ValueError, match=r"^an event without identifiers cannot be resolved$"):
        resolver.resolve(ids, "ix_1", 1.0)
    assert links == {}
    assert members == {}


# -- bounded members (issue 20) ----------------------------------------------------------------

LONG = "x" * 250  # with a 6-character counter: 256-character anonymous ids, the contract's limit


def anon(i: int) -> str:
    return f"{i:06d}{LONG}"


def capped(limit: int) -> tuple[IdentityResolver, dict[str, Any], dict[str, Any]]:
    links: dict[str, Any] = {}
    members: dict[str, Any] = {}
    return IdentityResolver(links, members, max_identifiers=limit), links, members


def test_one_user_with_a_thousand_anonymous_ids_keeps_the_cap() -> None:
    resolver, links, members = capped(100)
    evicted = 0
    for i in range(1000):
        result = resolver.resolve(
            Identifiers(user_id="u-fat", anonymous_id=anon(i)), f"ix_{i}", 1_795_000_000.0 + i
        )
        evicted += result.evicted
    key = new_customer_key("user_id:u-fat")
    assert list(members) == [key]
    kept = members[key]["ids"]
    assert kept == ["user_id:u-fat"] + [f"anonymous_id:{anon(i)}" for i in range(901, 1000)]
    assert evicted == 901  # anonymous ids 0…900 left, one an event; the user id never did
    size = check_table_value("identity-members", key, members[key])
    assert size == 24 + len('{"since":1795000000.0,"ids":[]}') + 15 + 99 * (13 + 256 + 3)
    assert size < MAX_TABLE_VALUE_BYTES
    # every identifier, kept or evicted, still resolves to the customer
    assert len(links) == 1001
    assert {resolver.lookup(f"anonymous_id:{anon(i)}") for i in range(1000)} == {key}
    again = resolver.resolve(Identifiers(anonymous_id=anon(0)), "ix_again", 1_795_001_000.0)
    assert (again.customer_key, again.merges, again.new_identifiers) == (key, [], [])
    # seen again, it is the most recent anonymous id: the oldest kept one makes room
    assert again.evicted == 1
    assert members[key]["ids"][-1] == f"anonymous_id:{anon(0)}"
    assert f"anonymous_id:{anon(901)}" not in members[key]["ids"]


def test_the_members_value_at_the_largest_cap_is_under_the_bound() -> None:
    """250 identifiers of 256 characters that JSON escapes at 12 bytes each: the worst case."""
    resolver, _, members = capped(250)
    wide = "\U0001f600" * 250
    for i in range(260):
        resolver.resolve(
            Identifiers(user_id="u-wide", anonymous_id=f"{i:06d}{wide}"), f"ix_{i}", 1.5 + i
        )
    (key,) = members
    assert len(members[key]["ids"]) == 250
    size = check_table_value("identity-members", key, members[key])
    # key, the record, "user_id:u-wide", then 249 of ,"anonymous_id:<6 digits><250 x 12 bytes>"
    assert size == 24 + len('{"since":1.5,"ids":[]}') + 16 + 249 * (1 + 2 + 13 + 6 + 250 * 12)
    assert size <= 3_088 * 250 + 60 < MAX_TABLE_VALUE_BYTES


def test_strongest_identifiers_survive_eviction() -> None:
    resolver, _, members = capped(5)
    ids = Identifiers(customer_id="c-1", user_id="u-1", email=EMAIL, phone=PHONE, anonymous_id="a")
    key = resolver.resolve(ids, "ix_0", 1.0).customer_key
    for i in range(3):
        result = resolver.resolve(Identifiers(user_id="u-1", anonymous_id=f"a-{i}"), "ix", 2.0)
        assert result.evicted == 1
    second_email = resolver.resolve(Identifiers(user_id="u-1", email="b@example.com"), "ix", 3.0)
    assert second_email.evicted == 1  # the last anonymous id makes room for the email
    assert members[key]["ids"] == [
        "customer_id:c-1",
        "user_id:u-1",
        f"email:{EMAIL}",
        f"phone:{PHONE}",
        "email:b@example.com",
    ]
    # a later anonymous id is evicted at once, yet linked
    late = resolver.resolve(Identifiers(user_id="u-1", anonymous_id="a-late"), "ix", 4.0)
    assert (late.evicted, late.new_identifiers) == (1, ["anonymous_id:a-late"])
    assert resolver.lookup("anonymous_id:a-late") == key
    assert len(members[key]["ids"]) == 5


def test_an_evicted_identifier_follows_its_customer_through_merges() -> None:
    resolver, links, members = capped(5)
    older = resolver.resolve(Identifiers(email=EMAIL), "ix_e", 1.0).customer_key
    newer = resolver.resolve(Identifiers(user_id="u-1", anonymous_id="a-0"), "ix_0", 2.0)
    for i in range(1, 6):
        resolver.resolve(Identifiers(user_id="u-1", anonymous_id=f"a-{i}"), f"ix_{i}", 2.0 + i)
    assert "anonymous_id:a-0" not in members[newer.customer_key]["ids"]
    assert links["anonymous_id:a-0"] == newer.customer_key

    merge = resolver.resolve(Identifiers(email=EMAIL, user_id="u-1"), "ix_m", 10.0)
    assert merge.customer_key == older
    assert [m.merged_key for m in merge.merges] == [newer.customer_key]
    assert merge.merges[0].identifiers == ["user_id:u-1"] + [
        f"anonymous_id:a-{i}" for i in (2, 3, 4, 5)
    ]
    assert merge.evicted == 1  # six identifiers met in one value of five: the oldest anonymous id
    assert members == {
        older: {
            "since": 1.0,
            "ids": [f"email:{EMAIL}", "user_id:u-1"] + [f"anonymous_id:a-{i}" for i in (3, 4, 5)],
        }
    }
    # a-0 never moved: it still points at the merged key, and resolves through the chain
    assert links["anonymous_id:a-0"] == newer.customer_key
    assert resolver.lookup("anonymous_id:a-0") == older
    later = resolver.resolve(Identifiers(anonymous_id="a-0"), "ix_later", 20.0)
    assert (later.customer_key, later.merges, later.new_identifiers) == (older, [], [])
    assert links["anonymous_id:a-0"] == older  # linked directly from now on
    # a-2 moved with the merge but lost its place in the survivor's list: linked all the same
    assert resolver.lookup("anonymous_id:a-2") == older


def test_a_merge_of_two_customers_at_the_cap_stays_at_the_cap() -> None:
    resolver, _, members = capped(5)
    first = resolver.resolve(Identifiers(email=EMAIL, anonymous_id="e-0"), "ix", 1.0).customer_key
    second = resolver.resolve(Identifiers(phone=PHONE, anonymous_id="p-0"), "ix", 2.0).customer_key
    for i in range(1, 5):
        resolver.resolve(Identifiers(email=EMAIL, anonymous_id=f"e-{i}"), "ix", 3.0)
        resolver.resolve(Identifiers(phone=PHONE, anonymous_id=f"p-{i}"), "ix", 3.0)
    assert [len(members[k]["ids"]) for k in (first, second)] == [5, 5]
    merged = resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_m", 4.0)
    assert merged.customer_key == first
    assert merged.evicted == 5  # ten identifiers, five places
    assert members == {
        first: {
            "since": 1.0,
            "ids": [f"email:{EMAIL}", f"phone:{PHONE}"]
            + [f"anonymous_id:p-{i}" for i in (2, 3, 4)],
        }
    }
    for i in range(5):
        assert resolver.lookup(f"anonymous_id:e-{i}") == first
        assert resolver.lookup(f"anonymous_id:p-{i}") == first


def test_an_identifier_over_the_limit_is_refused_and_changes_nothing() -> None:
    resolver, links, members = fresh()
    message = r"^anonymous_id of 257 characters exceeds the 256-character identifier limit$"
    with pytest.raises(IdentifierTooLong, match=message):
        resolver.resolve(Identifiers(email=EMAIL, anonymous_id="a" * 257), "ix_1", 1.0)
    assert (links, members) == ({}, {})


def test_a_cap_below_one_event_s_identifiers_is_refused() -> None:
    with pytest.raises(ValueError, match="max_identifiers must be ≥ 5"):
        IdentityResolver({}, {}, max_identifiers=4)


# -- what mutation testing found (docs/testing.md, "Mutation testing") -------------------------


@pytest.mark.parametrize(
    ("identifier", "rank"),
    [
        pytest.param("customer_id:urn:crm:42", 0, id="colons-in-a-customer-id"),
        pytest.param("anonymous_id:chat:conv-1", 4, id="colons-in-an-anonymous-id"),
        pytest.param("loyalty_id:7", 5, id="unknown-kind-weakest"),
    ],
)
def test_strength_reads_the_kind_before_the_first_colon(identifier: str, rank: int) -> None:
    assert strength(identifier) == rank


def test_a_customer_id_with_colons_outranks_anonymous_ids_at_the_cap() -> None:
    ids = ["customer_id:urn:crm:42", "anonymous_id:a", "anonymous_id:b"]
    assert keep_strongest(ids, 2) == (
        ["customer_id:urn:crm:42", "anonymous_id:b"],
        ["anonymous_id:a"],
    )


def test_a_cycle_of_merged_keys_merges_into_the_key_that_has_members() -> None:
    """Keys merged into each other with no ``members`` record (a damaged state) still merge.

    The cycle's key has no ``since``, so the key with a record survives; nothing is moved from
    the empty one, and the identifier is linked straight to the survivor.
    """
    links: dict[str, Any] = {
        f"email:{EMAIL}": "cus_a",
        "merged:cus_a": "cus_b",
        "merged:cus_b": "cus_a",
    }
    members: dict[str, Any] = {}
    resolver = IdentityResolver(links, members)
    kept = resolver.resolve(Identifiers(phone=PHONE), "ix_1", 10.0).customer_key
    result = resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_2", 20.0)
    assert result.customer_key == kept
    assert result.merges == [
        IdentityLink(
            merged_key="cus_a",
            customer_key=kept,
            identifiers=[],
            interaction_id="ix_2",
            linked_at=datetime.fromtimestamp(20.0, tz=UTC),
        )
    ]
    assert members == {kept: {"since": 10.0, "ids": [f"phone:{PHONE}", f"email:{EMAIL}"]}}
    assert links[f"email:{EMAIL}"] == kept
    assert links["merged:cus_a"] == kept


@pytest.mark.timeout(10)
def test_lookup_stops_on_a_cycle_of_merged_keys() -> None:
    """Two keys merged into each other, neither with a record: the walk ends where it began."""
    links = {"email:a@x.io": "cus_a", "merged:cus_a": "cus_b", "merged:cus_b": "cus_a"}
    resolver = IdentityResolver(links, {})
    assert resolver.lookup("email:a@x.io") == "cus_a"


class CountingWrites(dict[str, Any]):
    """A mapping that counts its writes, as a Faust table's changelog would."""

    writes: int = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_an_event_that_changes_nothing_writes_nothing() -> None:
    links, members = CountingWrites(), CountingWrites()
    resolver = IdentityResolver(links, members)
    first = resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_1", 1.0)
    assert (links.writes, members.writes) == (2, 1)
    again = resolver.resolve(Identifiers(email=EMAIL, phone=PHONE), "ix_2", 2.0)
    assert again.customer_key == first.customer_key
    assert (links.writes, members.writes) == (2, 1)


def test_a_members_value_over_the_table_bound_is_refused_naming_its_table() -> None:
    """Past the documented caps (here 4,000 identifiers of 256 characters) the write check
    counts the whole record and refuses it, leaving the state as it was."""
    held = [f"anonymous_id:{anon(i)}" for i in range(4_000)]
    members: dict[str, Any] = {"cus_big": {"since": 1.0, "ids": held}}
    links: dict[str, Any] = {held[0]: "cus_big"}
    resolver = IdentityResolver(links, members, max_identifiers=10_000)
    with pytest.raises(TableValueTooLarge) as refused:
        resolver.resolve(Identifiers(anonymous_id=anon(0), email=EMAIL), "ix_1", 2.0)
    assert refused.value.table == MEMBERS_TABLE == "identity-members"
    assert links == {held[0]: "cus_big"}
    assert members["cus_big"]["ids"] == held
