"""Writing raw events to Kafka with kafka-python: from JSONL files or the synthetic generator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from kafka import KafkaProducer

from pipeline.settings import Settings
from pipeline.streaming.security import check_access, client_config


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Delivered:
    topic: str
    partition: int
    offset: int


def jsonl_lines(stream: IO[bytes], topic: str) -> Iterator[Outgoing]:
    """One message per non-blank line, sent as-is (bad lines are the worker's job to reject)."""
    for line in stream:
        body = line.rstrip(b"\r\n")
        if body.strip():
            yield Outgoing(topic, None, body)


def produce(
    settings: Settings,
    messages: Iterable[Outgoing],
    *,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Delivered]:
    """Send every message (acks=all), at most ``rate`` per second; return where each landed."""
    check_access(settings)
    producer = KafkaProducer(
        **client_config(settings),
        acks="all",
        linger_ms=5,
        max_request_size=4 * 1024 * 1024,
        client_id="cxstream-produce",
    )
    futures = []
    started = time.monotonic()
    try:
        for i, msg in enumerate(messages):
            if rate:
                due = started + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            futures.append(producer.send(msg.topic, key=msg.key, value=msg.value))
            if progress is not None and (i + 1) % 1000 == 0:
                progress(i + 1)
        producer.flush(timeout=60)
        delivered = []
        for fut in futures:
            meta = fut.get(timeout=60)
            delivered.append(Delivered(meta.topic, meta.partition, meta.offset))
        return delivered
    finally:
        producer.close(timeout=10)
