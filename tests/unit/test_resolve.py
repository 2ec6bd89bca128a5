"""``Resolver.process`` over dicts, fed with real ``Standardiser`` output."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.contracts.records import (
    DuplicateDrop,
    DuplicateKind,
    IdentityLink,
    SourceRef,
    Standardised,
)
from pipeline.resolve.identity import new_customer_key
from pipeline.resolve.resolver import Outcome, Resolver
from pipeline.settings import Settings
from pipeline.standardise.standardiser import RawMessage, Standardiser, interaction_id

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
EVENT_BASE = 1_795_000_000  # epoch seconds, 2026-11-18
SETTINGS = Settings(
    topic_prefix="cx.",
    max_future_skew_s=86_400.0,
    dedupe_window_s=600.0,
    near_duplicate_window_s=60.0,
    sweep_interval_s=30.0,
    default_region="US",
)
STD = Standardiser(SETTINGS)


class State:
    """A Resolver and its four mappings."""

    def __init__(self, settings: Settings = SETTINGS) -> None:
        self.links: dict[str, Any] = {}
        self.members: dict[str, Any] = {}
        self.seen_ids: dict[str, Any] = {}
        self.recent_texts: dict[str, Any] = {}
        self.resolver = Resolver(
            settings,
            links=self.links,
            members=self.members,
            seen_ids=self.seen_ids,
            recent_texts=self.recent_texts,
        )

    def process(self, item: Standardised, now: float) -> Outcome:
        return self.resolver.process(item, now)


def envelope(channel: str, payload: dict[str, Any], *, offset: int = 0) -> Standardised:
    value = json.dumps(payload).encode()
    msg = RawMessage(
        topic=f"cx.raw.{channel}",
        partition=0,
        offset=offset,
        key=None,
        value=value,
        timestamp_ms=None,
    )
    ix = STD.standardise(msg, NOW)
    item = Standardised(interaction=ix, payload_digest=hashlib.sha256(value).hexdigest()[:32])
    # the envelope travels as JSON between the two agents
    return Standardised.model_validate_json(item.model_dump_json())


def chat(
    message_id: str,
    text: str,
    *,
    customer: dict[str, Any] | None = None,
    at: int = EVENT_BASE,
    role: str = "customer",
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "conversation_id": "conv-1",
        "sent_at": at,
        "author_role": role,
        "customer": customer if customer is not None else {"id": "cust-1"},
        "text": text,
    }


def email(message_id: str, sender: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "received_at": EVENT_BASE,
        "from": sender,
        "text": text,
    } | extra


@pytest.mark.parametrize(
    ("channel", "payload", "strongest"),
    [
        pytest.param("chat", chat("c-1", "hello there"), "customer_id:cust-1", id="chat"),
        pytest.param(
            "email",
            email("<e1@x>", "Ana <Ana@Example.com>", "Where is my order?"),
            "email:ana@example.com",
            id="email",
        ),
        pytest.param(
            "voice",
            {"call_id": "call-1", "started_at": EVENT_BASE, "caller_number": "(415) 555-0132"},
            "phone:+14155550132",
            id="voice",
        ),
        pytest.param(
            "web",
            {"messageId": "w-1", "type": "page", "timestamp": EVENT_BASE, "anonymousId": "a-1"},
            "anonymous_id:a-1",
            id="web",
        ),
        pytest.param(
            "survey",
            {"response_id": "r-1", "submitted_at": EVENT_BASE, "kind": "ces", "score": 2},
            "anonymous_id:survey:r-1",
            id="anonymous-survey",
        ),
    ],
)
def test_kept_interactions_get_a_customer_key(
    channel: str, payload: dict[str, Any], strongest: str
) -> None:
    state = State()
    item = envelope(channel, payload)
    outcome = state.process(item, 1_000.0)
    assert outcome.duplicate is None
    assert outcome.merges == []
    assert outcome.interaction is not None
    assert outcome.interaction.customer_key == new_customer_key(strongest)
    assert outcome.interaction.model_copy(update={"customer_key": None}) == item.interaction


def test_redelivery_is_dropped_with_the_kept_id() -> None:
    state = State()
    item = envelope("chat", chat("c-1", "hello there"), offset=5)
    kept = state.process(item, 1_000.0).interaction
    assert kept is not None
    again = envelope("chat", chat("c-1", "hello there"), offset=9)
    outcome = state.process(again, 1_010.0)
    assert outcome.interaction is None
    assert outcome.merges == []
    assert outcome.duplicate == DuplicateDrop(
        kind=DuplicateKind.REDELIVERY,
        interaction_id=kept.interaction_id,
        duplicate_of=kept.interaction_id,
        customer_key=None,
        source=SourceRef(topic="cx.raw.chat", partition=0, offset=9, source_message_id="c-1"),
        dropped_at=datetime.fromtimestamp(1_010.0, tz=UTC),
    )


@pytest.mark.parametrize(
    ("second", "kind"),
    [
        pytest.param(
            email("<e1@x>", "ana@example.com", "Where is my order?"),
            DuplicateKind.REDELIVERY,
            id="same-bytes",
        ),
        pytest.param(
            email("<e1@x>", "ana@example.com", "Where is my order?", to="relay@shop.example"),
            DuplicateKind.CROSS_RELAY,
            id="relayed-by-second-gateway",
        ),
    ],
)
def test_email_duplicates(second: dict[str, Any], kind: DuplicateKind) -> None:
    state = State()
    first = state.process(
        envelope("email", email("<e1@x>", "ana@example.com", "Where is my order?")), 1.0
    )
    assert first.interaction is not None
    outcome = state.process(envelope("email", second, offset=1), 2.0)
    assert outcome.interaction is None
    assert outcome.duplicate is not None
    assert outcome.duplicate.kind is kind
    assert outcome.duplicate.duplicate_of == first.interaction.interaction_id


@pytest.mark.parametrize(
    ("second", "dropped"),
    [
        pytest.param(chat("c-2", "  HELLO   there "), True, id="double-submit"),
        pytest.param(chat("c-2", "hello there", at=EVENT_BASE + 60), True, id="window-edge"),
        pytest.param(chat("c-2", "hello there", at=EVENT_BASE + 61), False, id="outside-window"),
        pytest.param(chat("c-2", "hello there", role="agent"), False, id="agent-text"),
        pytest.param(
            chat("c-2", "hello there", customer={"id": "cust-2"}), False, id="other-customer"
        ),
    ],
)
def test_near_duplicates(second: dict[str, Any], dropped: bool) -> None:
    state = State()
    first = state.process(envelope("chat", chat("c-1", "hello there")), 1.0).interaction
    assert first is not None
    outcome = state.process(envelope("chat", second), 2.0)
    if dropped:
        assert outcome.interaction is None
        assert outcome.duplicate is not None
        assert outcome.duplicate.kind is DuplicateKind.NEAR_DUPLICATE
        assert outcome.duplicate.duplicate_of == first.interaction_id
        assert outcome.duplicate.interaction_id == interaction_id("chat", "c-2")
        assert outcome.duplicate.customer_key == first.customer_key
    else:
        assert outcome.duplicate is None
        assert outcome.interaction is not None


def test_redelivered_near_duplicate_points_at_the_kept_copy() -> None:
    """``duplicate_of`` is documented as the copy that was kept, never a dropped one."""
    state = State()
    kept = state.process(envelope("chat", chat("c-1", "hello there")), 1.0).interaction
    assert kept is not None
    near = state.process(envelope("chat", chat("c-2", "hello there"), offset=1), 2.0)
    assert near.duplicate is not None
    assert near.duplicate.kind is DuplicateKind.NEAR_DUPLICATE
    again = state.process(envelope("chat", chat("c-2", "hello there"), offset=2), 3.0)
    assert again.interaction is None
    assert again.duplicate is not None
    assert again.duplicate.kind is DuplicateKind.REDELIVERY
    assert again.duplicate.duplicate_of == kept.interaction_id


def test_a_replayed_record_gets_its_first_decision_again() -> None:
    """The same Kafka record read again (crash before the offset commit) is not a duplicate."""
    state = State()
    kept = state.process(envelope("chat", chat("c-1", "hello there"), offset=3), 1.0)
    near = state.process(envelope("chat", chat("c-2", "hello  there"), offset=4), 2.0)
    links = dict(state.links)
    replay_kept = state.process(envelope("chat", chat("c-1", "hello there"), offset=3), 5.0)
    replay_near = state.process(envelope("chat", chat("c-2", "hello  there"), offset=4), 6.0)
    assert replay_kept.duplicate is None
    assert replay_kept.interaction == kept.interaction
    assert replay_kept.merges == []
    assert near.duplicate is not None and replay_near.duplicate is not None
    assert replay_near.interaction is None
    assert replay_near.duplicate.model_copy(update={"dropped_at": None}) == (
        near.duplicate.model_copy(update={"dropped_at": None})
    )
    assert state.links == links
    # The same message id from another record is still a redelivery.
    other = state.process(envelope("chat", chat("c-1", "hello there"), offset=7), 8.0)
    assert other.duplicate is not None
    assert other.duplicate.kind is DuplicateKind.REDELIVERY


def test_merges_are_reported() -> None:
    state = State()
    by_email = state.process(
        envelope("email", email("<e1@x>", "Ana <ana@example.com>", "Where is my order?")), 10.0
    ).interaction
    by_phone = state.process(
        envelope(
            "voice", {"call_id": "call-1", "started_at": EVENT_BASE, "caller_number": "4155550132"}
        ),
        20.0,
    ).interaction
    assert by_email is not None
    assert by_phone is not None
    assert by_email.customer_key != by_phone.customer_key
    linking = envelope(
        "chat",
        chat(
            "c-1",
            "Any news about my order?",
            customer={"email": "ANA@example.com", "phone": "+1 415 555 0132"},
        ),
    )
    outcome = state.process(linking, 30.0)
    assert outcome.interaction is not None
    assert outcome.interaction.customer_key == by_email.customer_key
    assert outcome.merges == [
        IdentityLink(
            merged_key=str(by_phone.customer_key),
            customer_key=str(by_email.customer_key),
            identifiers=["phone:+14155550132"],
            interaction_id=linking.interaction.interaction_id,
            linked_at=datetime.fromtimestamp(30.0, tz=UTC),
        )
    ]
    assert list(state.members) == [by_email.customer_key]


def test_duplicates_do_not_touch_identity() -> None:
    state = State()
    item = envelope("chat", chat("c-1", "hello there", customer={"email": "a@example.com"}))
    state.process(item, 1.0)
    links, members = dict(state.links), dict(state.members)
    state.process(item, 2.0)
    assert state.links == links
    assert state.members == members


def test_sweep_bounds_the_dedupe_state() -> None:
    state = State()
    step = 10.0
    id_bound = int((SETTINGS.dedupe_window_s + SETTINGS.sweep_interval_s) / step) + 1
    # each text is remembered twice: under the customer key and under the strongest identifier
    text_bound = 2 * (
        int((2 * SETTINGS.near_duplicate_window_s + SETTINGS.sweep_interval_s) / step) + 1
    )
    largest_ids = largest_texts = 0
    total = 300
    for i in range(total):
        item = envelope("chat", chat(f"c-{i}", f"message number {i}", at=EVENT_BASE + i * 10))
        outcome = state.process(item, i * step)
        assert outcome.interaction is not None
        largest_ids = max(largest_ids, len(state.seen_ids))
        largest_texts = max(largest_texts, len(state.recent_texts))
    assert largest_ids <= id_bound < total
    assert largest_texts <= text_bound < total
    assert len(state.seen_ids) <= id_bound
    # far past every window, one more event leaves only itself behind
    last = envelope("chat", chat("c-last", "the last one", at=EVENT_BASE + total * 10))
    state.process(last, total * step + 10 * SETTINGS.dedupe_window_s)
    assert list(state.seen_ids) == ["chat:c-last"]
    assert len(state.recent_texts) == 2


def test_no_sweep_within_the_interval() -> None:
    state = State(SETTINGS.model_copy(update={"dedupe_window_s": 1.0}))
    state.process(envelope("chat", chat("c-0", "first message")), 100.0)  # sweeps, then stores
    # c-0's id window has passed, but the next sweep is not due until 130.0
    state.process(envelope("chat", chat("c-1", "second message")), 129.0)
    assert sorted(state.seen_ids) == ["chat:c-0", "chat:c-1"]
    state.process(envelope("chat", chat("c-2", "third message")), 130.0)
    assert sorted(state.seen_ids) == ["chat:c-2"]


def test_evictions_reach_the_outcome() -> None:
    state = State(SETTINGS.model_copy(update={"max_identifiers_per_customer": 5}))
    evicted = []
    for i in range(8):
        identify = {
            "messageId": f"w-{i}",
            "type": "identify",
            "timestamp": EVENT_BASE + i,
            "userId": "u-fat",
            "anonymousId": f"a-{i}",
        }
        evicted.append(state.process(envelope("web", identify, offset=i), float(i)).evicted)
    assert evicted == [0, 0, 0, 0, 1, 1, 1, 1]
    assert state.members[new_customer_key("user_id:u-fat")]["ids"] == ["user_id:u-fat"] + [
        f"anonymous_id:a-{i}" for i in range(4, 8)
    ]


def test_the_first_sweep_is_due_one_interval_after_time_zero() -> None:
    state = State()
    state.process(envelope("chat", chat("c-0", "first message")), SETTINGS.sweep_interval_s)
    assert state.resolver.last_sweep == SETTINGS.sweep_interval_s == 30.0


def test_drops_and_sweeps_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pipeline.resolve.resolver")
    state = State(SETTINGS.model_copy(update={"dedupe_window_s": 1.0}))
    kept = state.process(envelope("chat", chat("c-1", "hello there")), 100.0).interaction
    assert kept is not None
    state.process(envelope("chat", chat("c-1", "hello there"), offset=9), 101.0)
    state.process(envelope("chat", chat("c-2", "another thing")), 200.0)
    assert [r.getMessage() for r in caplog.records if r.name == "pipeline.resolve.resolver"] == [
        f"dropped redelivery {kept.interaction_id} (duplicate of {kept.interaction_id})",
        "expired 1 dedupe entries",  # the id (window 1 s); the texts keep 2 x 60 s
    ]
