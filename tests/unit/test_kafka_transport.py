"""The worker's Faust app produces idempotently (no batch written twice on a retry)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust
from aiokafka import AIOKafkaProducer

from pipeline.app import build_app
from pipeline.kafka_transport import SCHEME, Transport, broker_urls
from pipeline.settings import Settings


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
    assert app.conf.processing_guarantee.value == "at_least_once"
    assert not _idempotent(app)
