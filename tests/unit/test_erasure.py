"""Erasure over plain dicts: the resolve stage's identity and dedupe state, the workflow's
customer and conversation state, the consent trait, and how requests are read
(pipeline/resolve/erasure.py, pipeline/workflow/erasure.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.contracts.privacy import ErasureRequest
from pipeline.contracts.records import Identifiers, Interaction, ReasonCode, SourceRef
from pipeline.privacy.pseudonym import Pseudonymiser
from pipeline.resolve.dedupe import Deduplicator
from pipeline.resolve.erasure import IdentityEraser, MalformedErasure, refusal, subject_identifier
from pipeline.resolve.identity import IdentityResolver
from pipeline.workflow.erasure import erase_customer
from tests.unit.test_workflow_rules import Journey, identify
from tests.unit.workflow_factory import enriched

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DANA = Identifiers(email="dana@example.com", phone="+442079460958", user_id="u-dana")
SAM = Identifiers(email="sam@example.com")
NEGATIVE_CHATS_SCRIPT = [
    enriched("late again", negative=0.8, minutes=1, interaction_id="ix1"),
    enriched("still nothing", negative=0.9, minutes=2, interaction_id="ix2"),
    enriched("this is awful", negative=0.95, minutes=3, interaction_id="ix3"),
]


class ResolveState:
    """Identity and near-duplicate state over dicts, as the resolve stage keeps it."""

    def __init__(self, max_identifiers: int = 100) -> None:
        self.links: dict[str, Any] = {}
        self.members: dict[str, Any] = {}
        self.seen_ids: dict[str, Any] = {}
        self.recent_texts: dict[str, Any] = {}
        self.identity = IdentityResolver(self.links, self.members, max_identifiers=max_identifiers)
        self.dedupe = Deduplicator(
            self.seen_ids, self.recent_texts, id_window_s=3600, near_window_s=60
        )
        self.eraser = IdentityEraser(self.links, self.members, self.recent_texts)
        self.n = 0

    def message(self, ids: Identifiers, text: str | None = "where is my order?") -> str:
        """One customer message through identity and dedupe; its customer key."""
        self.n += 1
        key = self.identity.resolve(ids, f"ix{self.n}", NOW.timestamp() + self.n).customer_key
        ix = Interaction(
            interaction_id=f"ix{self.n}",
            source=SourceRef(
                topic="cx.raw.chat", partition=0, offset=self.n, source_message_id=f"m{self.n}"
            ),
            channel="chat",
            event_type="message",
            customer_key=key,
            identifiers=ids,
            occurred_at=NOW,
            received_at=NOW,
            author_role="customer",
            text=f"{text} #{self.n}" if text else None,
        )
        self.dedupe.check_id(ix, f"digest{self.n}", NOW.timestamp())
        self.dedupe.check_text(ix, NOW.timestamp())
        return key

    def dump(self) -> str:
        """Every key and value of the four tables, as text to search."""
        tables = (self.links, self.members, self.seen_ids, self.recent_texts)
        return json.dumps([sorted(t.items()) for t in tables])


def test_erasing_a_person_removes_every_identifier_key_and_text_of_theirs_only() -> None:
    state = ResolveState()
    dana = state.message(DANA)
    state.message(Identifiers(email="dana@example.com"))
    sam = state.message(SAM)
    erased = state.eraser.erase("email:dana@example.com", is_key=False)
    assert erased.customer_keys == [dana]
    assert erased.removed == {
        "identity_links": 3,
        "merged_keys": 0,
        "identity_members": 1,
        "dedupe_texts": 4,  # two texts, each under the key and under the strongest identifier
    }
    text = state.dump()
    for gone in (dana, "dana@example.com", "+442079460958", "u-dana"):
        assert gone not in text
    assert state.identity.lookup("email:sam@example.com") == sam
    assert sam in text and "sam@example.com" in text
    assert len(state.seen_ids) == 3  # kept on purpose: no identifier, no key (module docstring)


def test_a_person_with_merged_keys_loses_every_key_and_the_merge_links() -> None:
    state = ResolveState()
    by_phone = state.message(Identifiers(phone="+442079460958"))
    by_email = state.message(Identifiers(email="dana@example.com"))
    by_user = state.message(Identifiers(user_id="u-dana"))
    survivor = state.message(DANA)  # proves all three are one person: two merges
    erased = state.eraser.erase("user_id:u-dana", is_key=False)
    assert erased.customer_keys[0] == survivor
    assert set(erased.customer_keys) == {by_phone, by_email, by_user}
    assert erased.removed["merged_keys"] == 2
    assert not state.links and not state.members
    assert not state.recent_texts


def test_identifiers_evicted_from_members_are_found_through_their_links() -> None:
    state = ResolveState(max_identifiers=5)
    key = state.message(Identifiers(user_id="u-dana"))
    for n in range(8):
        state.message(Identifiers(user_id="u-dana", anonymous_id=f"anon-{n}"), text=None)
    assert len(state.members[key]["ids"]) == 5  # three anonymous ids evicted, still linked
    erased = state.eraser.erase(key, is_key=True)
    assert erased.removed["identity_links"] == 9
    assert not state.links and not state.members


def test_erasing_twice_or_an_unknown_person_finds_nothing() -> None:
    state = ResolveState()
    state.message(DANA)
    assert state.eraser.erase("phone:+442079460958", is_key=False).found
    again = state.eraser.erase("phone:+442079460958", is_key=False)
    assert not again.found and again.customer_keys == []
    assert "nothing removed" in again.summary()
    unknown_key = state.eraser.erase("cus_00000000000000000000", is_key=True)
    # a key identity never linked may still have workflow state: it is handed on
    assert unknown_key.customer_keys == ["cus_00000000000000000000"] and not unknown_key.found


def _request(**subject: str) -> ErasureRequest:
    return ErasureRequest.model_validate({"request_id": "r1", "requested_at": NOW, **subject})


def test_the_subject_is_read_as_the_identity_tables_hold_it() -> None:
    assert subject_identifier(_request(email=" Dana@Example.COM ")) == "email:dana@example.com"
    assert subject_identifier(_request(phone="+442079460958")) == "phone:+442079460958"
    assert subject_identifier(_request(customer_key="cus_1")) == "cus_1"
    hide = Pseudonymiser(SecretStr("k" * 32))
    pseudonym = hide.pseudonym("user_id", "u-dana")
    assert subject_identifier(_request(user_id="u-dana"), hide.pseudonym) == f"user_id:{pseudonym}"


@pytest.mark.parametrize("phone", ["020 7946 0958", "+44 20 7946 0958", "+1", "call me"])
def test_a_phone_number_that_is_not_e164_is_refused_not_guessed(phone: str) -> None:
    with pytest.raises(MalformedErasure, match=r"E\.164"):
        subject_identifier(_request(phone=phone))


@pytest.mark.parametrize(
    ("payload", "code", "says"),
    [
        (b"", ReasonCode.EMPTY_PAYLOAD, "without a value"),
        (b"{not json", ReasonCode.INVALID_JSON, "Invalid JSON"),
        (b"[1, 2]", ReasonCode.NOT_AN_OBJECT, "should be an object"),
        (
            json.dumps({"request_id": "r", "requested_at": NOW.isoformat()}).encode(),
            ReasonCode.SCHEMA_VIOLATION,
            "exactly one of",
        ),
        (
            json.dumps(
                {
                    "request_id": "r",
                    "requested_at": NOW.isoformat(),
                    "email": "a@b.c",
                    "phone": "+1",
                }
            ).encode(),
            ReasonCode.SCHEMA_VIOLATION,
            "found: email, phone",
        ),
    ],
)
def test_a_malformed_request_gets_a_specific_reason_without_its_values(
    payload: bytes, code: ReasonCode, says: str
) -> None:
    try:
        ErasureRequest.model_validate_json(payload)
    except ValidationError as exc:
        got, reason = refusal(payload, exc)
    else:
        raise AssertionError("the request was accepted")
    assert got is code and says in reason
    assert "a@b.c" not in reason


def test_workflow_erasure_removes_the_customer_and_every_conversation_of_theirs() -> None:
    journey = Journey()
    for event in NEGATIVE_CHATS_SCRIPT:
        journey.send(event)
    other = Journey()
    other.send(NEGATIVE_CHATS_SCRIPT[0].model_copy(update={"customer_key": "cus_other"}))
    customers = {
        b"cus_test": journey.state.model_dump_json().encode(),
        b"cus_other": other.state.model_dump_json().encode(),
    }
    conversations = {
        f"{c.customer_key}/{name}".encode(): c.model_dump_json().encode()
        for j in (journey, other)
        for name, c in j.conversations.items()
    }
    erased = erase_customer(customers, conversations, "cus_test")
    assert erased.found and erased.removed == {
        "customers": 1,
        "conversations": len(journey.conversations),
        "profile_tombstones": 1,
    }
    assert list(customers) == [b"cus_other"]
    assert all(k.startswith(b"cus_other/") for k in conversations) and conversations
    again = erase_customer(customers, conversations, "cus_test")
    assert not again.found and "nothing removed" in again.summary()


def test_refusing_profiling_stops_profiles_and_alerts_but_still_routes() -> None:
    journey = Journey()
    journey.send(NEGATIVE_CHATS_SCRIPT[0])
    withdrawal = journey.send(identify(minutes=0.5, consent={"profiling": False}))
    assert withdrawal.profile_withdrawn and withdrawal.profile is None
    assert withdrawal.dropped_conversations == ["conv-1"]
    for event in NEGATIVE_CHATS_SCRIPT[1:]:  # enough for a negative streak if profiled
        outcome = journey.send(event)
        assert outcome.enriched.routing is not None and outcome.enriched.routing.queue
        assert outcome.alerts == [] and outcome.profile is None and outcome.conversation is None
        assert not outcome.profile_withdrawn  # tombstoned once, when consent was withdrawn
    state = journey.state
    assert not state.profiling and state.contacts == [] and state.sentiment == []
    assert state.conversations == {} and state.open_alerts == {}
    assert state.seen[-1] == NEGATIVE_CHATS_SCRIPT[-1].interaction_id


def test_open_alerts_are_resolved_when_consent_to_profiling_is_withdrawn() -> None:
    journey = Journey()
    opened = journey.send_all(NEGATIVE_CHATS_SCRIPT)
    assert [a.status for a in opened] == ["opened"]
    outcome = journey.send(identify(minutes=10, consent={"profiling": False}))
    [closed] = outcome.alerts
    assert (closed.alert_id, closed.status) == (opened[0].alert_id, "resolved")
    assert closed.close_reason == "the customer withdrew consent to profiling"


def test_consent_given_again_builds_a_fresh_profile() -> None:
    journey = Journey()
    journey.send(identify(minutes=0, consent={"profiling": False}))
    journey.send(NEGATIVE_CHATS_SCRIPT[0])
    back = journey.send(identify(minutes=1, consent={"profiling": True}))
    assert back.profile is not None and journey.state.profiling
    again = journey.send(NEGATIVE_CHATS_SCRIPT[1])
    assert again.profile is not None and again.profile.sentiment_trend
    assert [p.interaction_id for p in again.profile.sentiment_trend] == [
        NEGATIVE_CHATS_SCRIPT[1].interaction_id
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give exactly one of --customer-key, --email"),
        (["--email", "a@example.com", "--user-id", "u1"], "give exactly one of"),
        (["--email", "not an address"], "--email is not an email address"),
        (["--phone", "12"], "--phone is not a valid phone number (read in region US"),
        (["--user-id", "  "], "--user-id is empty"),
        (["--user-id", "u" * 300], "user_id: String should have at most 256 characters"),
    ],
)
def test_forget_refuses_a_request_it_cannot_make_before_connecting(
    args: list[str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXSTREAM_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # never reached
    result = CliRunner().invoke(app, ["forget", *args])
    assert result.exit_code == 2
    assert says in result.output
