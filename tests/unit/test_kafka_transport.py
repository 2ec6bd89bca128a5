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
from faust.types import TP
from faust.types.enums import ProcessingGuarantee

from pipeline.settings import Settings
from pipeline.streaming.app import build_app
from pipeline.streaming.transport import SCHEME, GenerationSafeConsumer, Transport, broker_urls


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
