"""The worker's Kafka transport: idempotent producer, no fetch delivered across a rebalance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import IllegalStateError
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.enums import ProcessingGuarantee
from faust.types.tuples import Message

from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.streaming.app import build_app
from pipeline.streaming.transport import (
    SCHEME,
    GenerationSafeConsumer,
    Transport,
    broker_urls,
    next_commit,
)


def _idempotent(app: faust.App) -> bool:
    """Whether the aiokafka producer Faust would create for ``app`` is idempotent."""

    async def build() -> bool:
        producer: AIOKafkaProducer = app.producer._new_producer()  # type: ignore[attr-defined]
        try:
            return producer._txn_manager is not None  # idempotence needs producer id + sequences
        finally:
            await producer.client.close()

    return asyncio.run(build())


def test_broker_urls_name_the_idempotent_transport() -> None:
    assert broker_urls("127.0.0.1:9092, 127.0.0.1:9093") == [
        f"{SCHEME}://127.0.0.1:9092",
        f"{SCHEME}://127.0.0.1:9093",
    ]


def test_the_worker_app_produces_idempotently(tmp_path: Path) -> None:
    app = build_app(Settings(state_dir=tmp_path, web_port=0, metrics_port=0))
    assert isinstance(app.transport, Transport)
    assert _idempotent(app)


def test_faust_alone_would_not_under_at_least_once(tmp_path: Path) -> None:
    """Why the transport exists: Faust's own kafka:// producer has no idempotence here."""
    app = faust.App("plain", broker="kafka://127.0.0.1:9092", datadir=str(tmp_path))
    assert app.conf.processing_guarantee is ProcessingGuarantee.AT_LEAST_ONCE
    assert not _idempotent(app)


class _Batch:
    """A fetched record as the consumer sees it (only its offset matters here)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset


def _consumer(tmp_path: Path) -> tuple[faust.App, GenerationSafeConsumer]:
    app = build_app(Settings(state_dir=tmp_path, web_port=0, metrics_port=0))
    consumer = app.consumer
    assert isinstance(consumer, GenerationSafeConsumer)
    return app, consumer


def _fetch_during_rebalance(
    monkeypatch: pytest.MonkeyPatch, app: faust.App, records: dict[TP, list[_Batch]]
) -> None:
    """Faust's own fetch returns ``records`` after the generation moved on."""

    async def fetch(self: Any, timeout: float) -> tuple[Any, Any]:
        app.consumer_generation_id += 1  # the rebalance happened while the fetch waited
        return records, None

    monkeypatch.setattr(FaustConsumer, "_wait_next_records", fetch)


def _recorded_seeks(
    monkeypatch: pytest.MonkeyPatch, consumer: Any, earliest: dict[TP, int] | None = None
) -> dict[TP, int]:
    """Record the consumer's seeks; ``earliest`` are the partitions' first offsets."""
    seeks: dict[TP, int] = {}

    async def seek(tp: TP, offset: int) -> None:
        seeks[tp] = offset

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return {tp: (earliest or {}).get(tp, 0) for tp in tps}

    monkeypatch.setattr(consumer, "seek", seek)
    monkeypatch.setattr(consumer, "earliest_offsets", earliest_offsets)
    return seeks


A, B, C, GONE = (TP("cx.raw.web", p) for p in range(4))


def test_a_fetch_that_spans_a_rebalance_is_dropped_and_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, consumer = _consumer(tmp_path)
    records = {A: [_Batch(129), _Batch(130)], B: [_Batch(40)], C: [_Batch(50)], GONE: [_Batch(7)]}
    _fetch_during_rebalance(monkeypatch, app, records)
    # B and C have no committed offset yet; C's log starts at 30 (retention).
    seeks = _recorded_seeks(monkeypatch, consumer, {C: 30})
    monkeypatch.setattr(consumer, "assignment", lambda: {A, B, C})
    consumer._committed_offset[A] = 128  # record 128 was fetched but never delivered
    got, _ = asyncio.run(consumer._wait_next_records(1.0))
    assert got == {}
    # Back to the committed offset, or to the beginning where nothing is committed (a seek
    # may have put it there meanwhile); a partition given to another worker is left alone.
    assert seeks == {A: 128, B: 0, C: 30}


def test_a_fetch_within_one_generation_passes_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, consumer = _consumer(tmp_path)
    records = {A: [_Batch(5)]}

    async def fetch(self: Any, timeout: float) -> tuple[Any, Any]:
        return records, None

    monkeypatch.setattr(FaustConsumer, "_wait_next_records", fetch)
    seeks = _recorded_seeks(monkeypatch, consumer)
    got, _ = asyncio.run(consumer._wait_next_records(1.0))
    assert got is records
    assert seeks == {}


def test_a_partition_revoked_again_during_the_seek_back_is_left_to_its_next_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, consumer = _consumer(tmp_path)
    _fetch_during_rebalance(monkeypatch, app, {A: [_Batch(3)], B: [_Batch(9)]})
    monkeypatch.setattr(consumer, "assignment", lambda: {A, B})
    seeks: dict[TP, int] = {}

    async def seek(tp: TP, offset: int) -> None:
        if tp == A:
            raise IllegalStateError(f"No current assignment for partition {tp}")
        seeks[tp] = offset

    consumer._committed_offset[A] = 1
    consumer._committed_offset[B] = 5
    monkeypatch.setattr(consumer, "seek", seek)
    got, _ = asyncio.run(consumer._wait_next_records(1.0))
    assert got == {}
    assert seeks == {B: 5}


def test_partitions_without_a_committed_offset_start_from_the_beginning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka leaves them where the last fetch ended, past records cleared at the rebalance."""
    _, consumer = _consumer(tmp_path)
    changelog = TP("cxstream-customers-changelog", 0)
    monkeypatch.setattr(consumer, "assignment", lambda: {A, B, changelog})
    monkeypatch.setattr(consumer.app.tables, "_changelogs", {changelog.topic: object()})

    async def faust_seek(self: Any) -> None:
        self._committed_offset[A] = 17  # B has none: aiokafka did not move it

    async def earliest(*tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, 0)

    monkeypatch.setattr(FaustConsumer, "perform_seek", faust_seek)
    monkeypatch.setattr(consumer, "earliest_offsets", earliest)
    seeks = _recorded_seeks(monkeypatch, consumer)
    asyncio.run(consumer.perform_seek())
    assert seeks == {B: 0}  # A is at its committed offset; the changelog is recovery's


# -- commits never pass a record in flight --------------------------------------------------


def _message(tp: TP, offset: int) -> Message:
    return Message(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None, tp=tp)


def _acking(monkeypatch: pytest.MonkeyPatch, consumer: GenerationSafeConsumer) -> None:
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)


@pytest.mark.parametrize(
    ("acked", "gaps", "committed", "expected"),
    [
        ([5, 6, 7], [], 5, 8),  # the run from the committed offset
        ([5, 6, 9], [], 5, 7),  # up to the first missing offset
        ([6, 7], [], 5, 8),  # one past the committed offset: Faust's marker tolerance
        ([7, 8], [], 5, None),  # two past: nothing
        ([5, 9], [(6, 9)], 5, 10),  # offsets never delivered below the highest count as done
        ([5], [(7, 9)], 5, 6),  # a gap above the highest acknowledged offset does not
        ([3, 4], [], None, 5),  # nothing committed yet: from the lowest acknowledged
        ([], [], 5, None),
    ],
)
def test_next_commit_follows_fausts_rule_without_changing_anything(
    acked: list[int], gaps: list[tuple[int, int]], committed: int | None, expected: int | None
) -> None:
    before = list(acked)
    assert next_commit(acked, gaps, committed) == expected
    assert acked == before


def test_a_commit_waits_for_the_record_at_the_committed_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The storm loss: 89 committed, 90 and 91 done while 89 is still being processed."""
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    held: list[TP] = []
    consumer.on_commit_held = held.append
    consumer._committed_offset[A] = 89
    messages = {offset: _message(A, offset) for offset in (89, 90, 91)}
    for message in messages.values():
        consumer.track_message(message)
    consumer.ack(messages[90])
    consumer.ack(messages[91])
    assert next_commit(list(consumer._acked[A]), [], 89) == 92  # what Faust alone would commit
    assert consumer._new_offset(A) is None
    assert held == [A]
    consumer.ack(messages[89])
    assert consumer._new_offset(A) == 92


def test_a_first_commit_waits_for_the_first_record_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing committed yet: Faust would commit from whatever was acknowledged first."""
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    messages = [_message(B, offset) for offset in (0, 1, 2)]
    for message in messages:
        consumer.track_message(message)
    consumer.ack(messages[1])
    consumer.ack(messages[2])
    assert consumer._new_offset(B) is None
    consumer.ack(messages[0])
    assert consumer._new_offset(B) == 3


def test_records_in_flight_behind_the_commit_do_not_hold_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    consumer._committed_offset[A] = 10
    messages = [_message(A, offset) for offset in range(10, 14)]
    for message in messages:
        consumer.track_message(message)
    consumer.ack(messages[0])
    consumer.ack(messages[1])
    assert consumer._new_offset(A) == 12  # 12 and 13 still in flight, after the commit


def test_a_revoked_partition_forgets_its_records_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    consumer.track_message(_message(C, 4))

    async def faust_revoke(self: Any, revoked: set[TP]) -> None:
        return None

    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_revoked", faust_revoke)
    asyncio.run(consumer.on_partitions_revoked({C}))
    assert C not in consumer._in_flight


def test_the_worker_counts_each_held_commit(tmp_path: Path) -> None:
    metrics = Metrics()
    app = build_app(Settings(state_dir=tmp_path, web_port=0, metrics_port=0), metrics=metrics)
    consumer = app.consumer
    assert isinstance(consumer, GenerationSafeConsumer)

    async def assign() -> None:  # the signal a rebalance sends (no partitions: nothing else runs)
        await app.on_partitions_assigned.send(set())

    asyncio.run(assign())
    assert consumer.on_commit_held is not None
    consumer.on_commit_held(A)
    held = metrics.registry.get_sample_value("cxstream_commits_held_total", {"topic": A.topic})
    assert held == 1.0


def test_a_record_skipped_by_the_fetch_after_a_seek_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The storm loss: committed 4569, the first record fetched after the seek is 4574 (Faust
    records 4570..4573 as a gap and would commit past 4569..4573)."""
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    seeks = _recorded_seeks(monkeypatch, consumer)
    monkeypatch.setattr(consumer, "assignment", lambda: {A})
    consumer._committed_offset[A] = 4569
    asyncio.run(consumer._add_gap(A, 4570, 4574))  # what Faust's fetch loop does on the jump
    late = _message(A, 4574)
    consumer.track_message(late)
    consumer.ack(late)
    assert next_commit([4574], [(4570, 4574)], 4569) == 4575  # Faust alone: past 4569..4573
    assert consumer._new_offset(A) is None

    async def no_records(self: Any, timeout: float) -> tuple[Any, Any]:
        return {}, None

    monkeypatch.setattr(FaustConsumer, "_wait_next_records", no_records)
    asyncio.run(consumer._wait_next_records(1.0))
    assert seeks == {A: 4569}  # read again from the record never delivered
    again = [_message(A, offset) for offset in range(4569, 4575)]
    for message in again:
        consumer.track_message(message)
        consumer.ack(message)
    assert consumer._new_offset(A) == 4575


def test_an_offset_never_delivered_after_a_second_read_is_taken_as_a_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction marker at the committed offset is never delivered: one more read, then
    Faust's rule passes it."""
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    seeks = _recorded_seeks(monkeypatch, consumer)
    monkeypatch.setattr(consumer, "assignment", lambda: {A})

    async def no_records(self: Any, timeout: float) -> tuple[Any, Any]:
        return {}, None

    monkeypatch.setattr(FaustConsumer, "_wait_next_records", no_records)
    consumer._committed_offset[A] = 20  # 20 is a marker; 21 the next record
    first = _message(A, 21)
    consumer.track_message(first)
    consumer.ack(first)
    assert consumer._new_offset(A) is None
    asyncio.run(consumer._wait_next_records(1.0))
    assert seeks == {A: 20}
    assert consumer._new_offset(A) is None  # nothing read again yet: 20 may still come
    again = _message(A, 21)  # the read again begins after 20: 20 is no record
    consumer.track_message(again)
    consumer.ack(again)
    assert consumer._new_offset(A) == 22


def test_a_jump_between_two_read_records_is_a_gap_without_the_record_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, consumer = _consumer(tmp_path)
    _acking(monkeypatch, consumer)
    consumer._committed_offset[A] = 10
    read = _message(A, 10)
    consumer.track_message(read)
    consumer.ack(read)
    asyncio.run(consumer._add_gap(A, 11, 14))  # 11..13 never existed (compacted, markers)
    assert sorted((iv.begin, iv.end) for iv in consumer._gap[A]) == [(11, 14)]
    after = _message(A, 14)
    consumer.track_message(after)
    assert consumer._new_offset(A) == 11  # 14 is still being processed: not passed
    consumer._committed_offset[A] = 11  # Faust's commit records what it committed
    consumer.ack(after)
    assert consumer._new_offset(A) == 15
