"""``Deduplicator`` and ``ExpiryQueue``: redeliveries, cross-relay, near-duplicates, expiry."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.contracts.records import (
    AuthorRole,
    Channel,
    DuplicateKind,
    Identifiers,
    Interaction,
    SourceRef,
    SurveyAnswer,
)
from pipeline.contracts.table_values import MAX_TABLE_VALUE_BYTES, TableValueTooLarge
from pipeline.resolve.dedupe import (
    RECENT_TEXTS_TABLE,
    SEEN_IDS_TABLE,
    Deduplicator,
    ExpiryQueue,
)
from pipeline.standardise.standardiser import interaction_id

BASE = 1_795_000_000.0
ID_WINDOW = 1_000.0
NEAR_WINDOW = 120.0


def make(
    source_id: str = "m-1",
    *,
    channel: Channel = "chat",
    text: str | None = "My parcel is missing",
    customer_key: str | None = "cus_a",
    author_role: AuthorRole = "customer",
    occurred: float = BASE,
    person: str = "c-1",
) -> Interaction:
    return Interaction(
        interaction_id=interaction_id(channel, source_id),
        source=SourceRef(
            topic=f"cx.raw.{channel}", partition=0, offset=0, source_message_id=source_id
        ),
        channel=channel,
        event_type="message",
        customer_key=customer_key,
        identifiers=Identifiers(customer_id=person),
        occurred_at=datetime.fromtimestamp(occurred, tz=UTC),
        received_at=datetime.fromtimestamp(occurred, tz=UTC),
        author_role=author_role,
        text=text,
    )


def dedupe() -> tuple[Deduplicator, dict[str, Any], dict[str, Any]]:
    seen: dict[str, Any] = {}
    texts: dict[str, Any] = {}
    return (
        Deduplicator(seen, texts, id_window_s=ID_WINDOW, near_window_s=NEAR_WINDOW),
        seen,
        texts,
    )


# -- source message ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "first_digest", "second_digest", "expected"),
    [
        pytest.param("chat", "d1", "d1", DuplicateKind.REDELIVERY, id="chat-same-bytes"),
        pytest.param("chat", "d1", "d2", DuplicateKind.REDELIVERY, id="chat-resend-new-bytes"),
        pytest.param("email", "d1", "d1", DuplicateKind.REDELIVERY, id="email-same-bytes"),
        pytest.param("email", "d1", "d2", DuplicateKind.CROSS_RELAY, id="email-other-gateway"),
        pytest.param("web", "d1", "d2", DuplicateKind.REDELIVERY, id="web-new-bytes"),
        pytest.param("voice", "d1", "d2", DuplicateKind.REDELIVERY, id="voice-new-bytes"),
        pytest.param("survey", "d1", "d1", DuplicateKind.REDELIVERY, id="survey-same-bytes"),
    ],
)
def test_check_id_same_source_id(
    channel: Channel, first_digest: str, second_digest: str, expected: DuplicateKind
) -> None:
    dd, seen, _ = dedupe()
    first = make("id-1", channel=channel)
    assert dd.check_id(first, first_digest, 10.0) is None
    assert seen == {
        f"{channel}:id-1": {
            "ix": first.interaction_id,
            "h": first_digest,
            "t": 10.0,
            "src": f"cx.raw.{channel}:0:0",
        }
    }
    assert dd.check_id(make("id-1", channel=channel), second_digest, 20.0) == (
        expected,
        first.interaction_id,
    )
    assert seen[f"{channel}:id-1"]["t"] == 10.0  # a duplicate does not refresh the entry


@pytest.mark.parametrize(
    ("second_id", "second_channel"),
    [
        pytest.param("id-2", "chat", id="other-id"),
        pytest.param("id-1", "email", id="same-id-other-channel"),
    ],
)
def test_check_id_new_messages_are_kept(second_id: str, second_channel: Channel) -> None:
    dd, seen, _ = dedupe()
    assert dd.check_id(make("id-1", channel="chat"), "d", 1.0) is None
    assert dd.check_id(make(second_id, channel=second_channel), "d", 2.0) is None
    assert len(seen) == 2


# -- near duplicates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        pytest.param(make("m-2"), DuplicateKind.NEAR_DUPLICATE, id="identical"),
        pytest.param(
            make("m-2", text="  my PARCEL\tis\n missing ", occurred=BASE + 60),
            DuplicateKind.NEAR_DUPLICATE,
            id="case-and-whitespace",
        ),
        pytest.param(
            make("m-2", occurred=BASE + NEAR_WINDOW),
            DuplicateKind.NEAR_DUPLICATE,
            id="window-edge",
        ),
        pytest.param(
            make("m-2", occurred=BASE - 60), DuplicateKind.NEAR_DUPLICATE, id="earlier-event-time"
        ),
        pytest.param(
            make("m-2", channel="email"), DuplicateKind.NEAR_DUPLICATE, id="same-text-other-channel"
        ),
        pytest.param(make("m-2", occurred=BASE + NEAR_WINDOW + 1), None, id="outside-window"),
        pytest.param(make("m-2", customer_key="cus_b", person="c-2"), None, id="other-customer"),
        pytest.param(make("m-2", text="My parcel is missing!"), None, id="other-text"),
        pytest.param(make("m-2", author_role="agent"), None, id="agent-never-near-dupe"),
        pytest.param(make("m-2", author_role="bot"), None, id="bot-never-near-dupe"),
        pytest.param(make("m-2", text=None), None, id="no-text"),
        pytest.param(make("m-2", customer_key=None), None, id="no-customer-key"),
    ],
)
def test_check_text(second: Interaction, expected: DuplicateKind | None) -> None:
    dd, _, texts = dedupe()
    first = make("m-1")
    assert dd.check_text(first, 1.0) is None
    assert len(texts) == 2  # under the customer key and under the strongest identifier
    hit = dd.check_text(second, 2.0)
    if expected is None:
        assert hit is None
    else:
        assert hit == (expected, first.interaction_id)


def test_agent_text_is_not_remembered() -> None:
    dd, _, texts = dedupe()
    assert dd.check_text(make("m-1", author_role="agent"), 1.0) is None
    assert texts == {}
    assert dd.check_text(make("m-2"), 2.0) is None
    assert dd.check_text(make("m-3", author_role="agent"), 3.0) is None


def test_text_outside_window_replaces_the_remembered_copy() -> None:
    dd, _, texts = dedupe()
    assert dd.check_text(make("m-1"), 1.0) is None
    later = make("m-2", occurred=BASE + 500)
    assert dd.check_text(later, 2.0) is None
    assert len(texts) == 2
    assert all(
        v == {"ix": later.interaction_id, "at": BASE + 500, "t": 2.0} for v in texts.values()
    )
    hit = dd.check_text(make("m-3", occurred=BASE + 550), 3.0)
    assert hit == (DuplicateKind.NEAR_DUPLICATE, later.interaction_id)


# -- expiry ------------------------------------------------------------------------------------


def write(table: dict[str, Any], queue: ExpiryQueue, key: str, at: float) -> None:
    table[key] = {"t": at}
    queue.stored(key, at)


@pytest.mark.parametrize(
    ("now", "removed", "left"),
    [
        pytest.param(99.0, 0, ["a", "b"], id="before-ttl"),
        pytest.param(100.0, 1, ["b"], id="at-ttl"),
        pytest.param(104.9, 1, ["b"], id="between"),
        pytest.param(105.0, 2, [], id="all"),
    ],
)
def test_expiry_queue_removes_after_ttl(now: float, removed: int, left: list[str]) -> None:
    table: dict[str, Any] = {}
    queue = ExpiryQueue(table, 100.0)
    write(table, queue, "a", 0.0)
    write(table, queue, "b", 5.0)
    assert queue.expire(now) == removed
    assert sorted(table) == left


def test_expiry_queue_keeps_rewritten_entries() -> None:
    table: dict[str, Any] = {}
    queue = ExpiryQueue(table, 100.0)
    write(table, queue, "a", 0.0)
    write(table, queue, "a", 50.0)
    assert queue.expire(100.0) == 0
    assert table == {"a": {"t": 50.0}}
    assert queue.expire(150.0) == 1
    assert table == {}
    assert queue.expire(1_000.0) == 0


def test_expiry_queue_rebuilds_from_prefilled_mapping() -> None:
    table: dict[str, Any] = {"x": {"t": 10.0}, "y": {"t": 0.0}, "z": {"t": 200.0}}
    queue = ExpiryQueue(table, 100.0)  # a restart: nothing in the in-process queue yet
    assert queue.expire(50.0) == 0
    assert queue.expire(110.0) == 2
    assert table == {"z": {"t": 200.0}}
    assert queue.expire(300.0) == 1
    assert table == {}


def test_expiry_queue_prefilled_then_new_writes() -> None:
    table: dict[str, Any] = {"old": {"t": 0.0}}
    queue = ExpiryQueue(table, 100.0)
    write(table, queue, "new", 50.0)
    assert queue.expire(100.0) == 1
    assert table == {"new": {"t": 50.0}}
    assert queue.expire(150.0) == 1
    assert table == {}
    assert queue.expire(500.0) == 0


def test_deduplicator_expire_forgets_ids_and_texts() -> None:
    dd, seen, texts = dedupe()
    first = make("m-1")
    assert dd.check_id(first, "d", 0.0) is None
    assert dd.check_text(first, 0.0) is None
    text_ttl = NEAR_WINDOW * 2
    assert dd.expire(text_ttl - 1) == 0
    assert dd.expire(text_ttl) == 2
    assert texts == {}
    assert len(seen) == 1
    assert dd.expire(ID_WINDOW) == 1
    assert seen == {}
    # once forgotten, the same id is new again
    assert dd.check_id(make("m-1"), "d", ID_WINDOW + 1) is None


@pytest.mark.parametrize(
    ("near_window", "text_ttl"),
    [pytest.param(0.0, 2.0, id="zero-window-min-ttl"), pytest.param(30.0, 60.0, id="twice")],
)
def test_text_ttl_is_twice_the_window(near_window: float, text_ttl: float) -> None:
    texts: dict[str, Any] = {}
    dd = Deduplicator({}, texts, id_window_s=ID_WINDOW, near_window_s=near_window)
    dd.check_text(make("m-1"), 0.0)
    assert dd.expire(text_ttl - 0.5) == 0
    assert dd.expire(text_ttl) == 2
    assert texts == {}


def test_double_submit_is_caught_across_a_key_merge() -> None:
    dd, _, _ = dedupe()
    first = make("m-1")
    assert dd.check_text(first, 1.0) is None
    merged = make("m-2", customer_key="cus_survivor")  # an identity merge happened in between
    assert dd.check_text(merged, 2.0) == (DuplicateKind.NEAR_DUPLICATE, first.interaction_id)


def _answer(source_id: str, kind: str, score: float, occurred: float = BASE) -> Interaction:
    text = "¡Muchas gracias, me ayudaron muchísimo!"
    ix = make(source_id, channel="survey", text=text, occurred=occurred)
    survey = SurveyAnswer(kind=kind, score=score, scale_min=0, scale_max=10)  # type: ignore[arg-type]
    return ix.model_copy(update={"survey": survey})


@pytest.mark.parametrize(
    ("kind", "score", "expected"),
    [
        pytest.param("csat", 7, DuplicateKind.NEAR_DUPLICATE, id="same-kind-same-score"),
        pytest.param("nps", 7, None, id="other-kind-same-score"),
        pytest.param("ces", 7, None, id="ces-after-csat-same-score"),
        pytest.param("csat", 5, None, id="same-kind-other-score"),
        pytest.param("ces", 5, None, id="other-kind-other-score"),
    ],
)
def test_survey_answers_are_near_duplicates_only_with_the_same_kind_and_score(
    kind: str, score: float, expected: DuplicateKind | None
) -> None:
    """One stock comment on two surveys is two answers; only the same answer twice is a copy.

    Seen in the rebalance storm: two surveys (csat 5, then ces 7) answered 14 s apart with
    one stock comment were dropped as a double-submit, losing the second score. The first
    answer here is csat 7; the second has the same comment, 14 s later.
    """
    dd, _, texts = dedupe()
    first = _answer("R_1", "csat", 7)
    assert dd.check_text(first, 1.0) is None
    hit = dd.check_text(_answer("R_2", kind, score, occurred=BASE + 14), 2.0)
    if expected is None:
        assert hit is None
        assert len(texts) == 4  # both answers remembered, each under two keys
    else:
        assert hit == (expected, first.interaction_id)
        assert len(texts) == 2


def test_survey_answers_with_other_comments_are_two_answers() -> None:
    """Same kind and score but another comment: the comment is part of what is compared."""
    dd, _, texts = dedupe()
    first = _answer("R_1", "csat", 7)
    assert dd.check_text(first, 1.0) is None
    other = _answer("R_2", "csat", 7, occurred=BASE + 14)
    other = other.model_copy(update={"text": "The courier never came"})
    assert dd.check_text(other, 2.0) is None
    assert len(texts) == 4


def test_texts_are_remembered_under_the_customer_key_and_the_strongest_identifier() -> None:
    """The keys live in a changelog: their format must not drift between releases.

    The fingerprint is the first 24 hex digits of the SHA-256 of the case-folded,
    whitespace-collapsed text; ``make`` gives customer key ``cus_a`` and customer id ``c-1``.
    """
    dd, _, texts = dedupe()
    ix = make("m-1", text="  My PARCEL\tis missing ")
    assert dd.check_text(ix, 5.0) is None
    fingerprint = hashlib.sha256(b"my parcel is missing").hexdigest()[:24]
    entry = {"ix": ix.interaction_id, "at": BASE, "t": 5.0}
    assert texts == {f"cus_a:{fingerprint}": entry, f"customer_id:c-1:{fingerprint}": entry}


@pytest.mark.parametrize(
    ("check", "table"),
    [
        pytest.param("id", SEEN_IDS_TABLE, id="seen-ids"),
        pytest.param("text", RECENT_TEXTS_TABLE, id="recent-texts"),
    ],
)
def test_an_entry_over_the_table_bound_is_refused_unwritten_naming_its_table(
    check: str, table: str
) -> None:
    """The bound counts the whole entry, not the key alone: here only the kept id is huge."""
    dd, seen, texts = dedupe()
    huge = make("m-1").model_copy(update={"interaction_id": "x" * MAX_TABLE_VALUE_BYTES})
    with pytest.raises(TableValueTooLarge) as refused:
        if check == "id":
            dd.check_id(huge, "d", 0.0)
        else:
            dd.check_text(huge, 0.0)
    assert refused.value.table == table
    assert seen == {}
    assert texts == {}


def test_expiry_queue_reads_the_mapping_once_after_a_restart() -> None:
    """One queue entry per write once loaded: re-reading the mapping each time would grow it."""
    table: dict[str, Any] = {"old": {"t": 0.0}}
    queue = ExpiryQueue(table, 100.0)
    write(table, queue, "a", 10.0)
    loaded = len(queue.queue)
    write(table, queue, "b", 20.0)
    write(table, queue, "c", 30.0)
    assert len(queue.queue) == loaded + 2
    assert list(queue.queue)[-2:] == [(20.0, "b"), (30.0, "c")]
