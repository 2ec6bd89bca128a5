"""The write path of every stage (pipeline/streaming/delivery.py) against a topic that fails on
purpose.

The broker-side faults are in tests/reliability/test_unwritable_outputs.py; here the fake topic
decides, send by send, whether the write succeeds, fails for a while or fails for good.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
)
from prometheus_client import CollectorRegistry

from pipeline.contracts.records import ReasonCode, Stage
from pipeline.metrics import Metrics
from pipeline.streaming import delivery
from pipeline.streaming.delivery import Output, Source, Writer, is_transient


@dataclass
class FakeProducer:
    generation: int = 0
    renewals: int = 0

    async def renew(self, failed_generation: int) -> None:
        if failed_generation == self.generation:
            self.generation += 1
            self.renewals += 1


@dataclass
class FakeTopic:
    """A topic whose next sends fail with the queued errors, then succeed."""

    name: str
    failures: list[BaseException] = field(default_factory=list)
    written: list[bytes] = field(default_factory=list)
    producer: FakeProducer = field(default_factory=FakeProducer)

    @property
    def app(self) -> Any:
        return SimpleNamespace(producer=self.producer)

    def get_topic_name(self) -> str:
        return self.name

    def as_future_message(self, **message: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.message = message  # type: ignore[attr-defined]
        return future

    async def publish_message(self, future: asyncio.Future[Any]) -> None:
        if self.failures:
            future.set_exception(self.failures.pop(0))
        else:
            self.written.append(future.message["value"])  # type: ignore[attr-defined]
            future.set_result(None)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(delivery, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(delivery, "RETRY_MAX_S", 0.01)
    yield


def _source(value: bytes = b'{"text": "hi"}') -> Source:
    return Source("cx.raw.chat", 2, 41, b"key", value)


def _writer(deadletters: FakeTopic) -> tuple[Writer, Metrics]:
    metrics = Metrics(CollectorRegistry())
    return Writer(Stage.RESOLVE, deadletters, metrics, payload_limit=1024), metrics


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_transient_errors_are_retried_and_counted_once_written() -> None:
    out = FakeTopic("cx.interactions", [KafkaConnectionError(), KafkaConnectionError()])
    dead = FakeTopic("cx.deadletter")
    writer, metrics = _writer(dead)
    counted: list[str] = []
    pending = await writer.send(Output(out, b"k", b"v", None, lambda: counted.append("x")))
    await writer.settle(_source(), [pending])
    assert out.written == [b"v"]
    assert dead.written == []
    assert counted == ["x"]
    assert (
        _value(metrics, "cxstream_output_retries_total", stage="resolve", topic="cx.interactions")
        == 2
    )


async def test_a_refused_output_makes_the_input_an_unwritable_output_dead_letter() -> None:
    out = FakeTopic("cx.interactions", [MessageSizeTooLargeError()])
    dead = FakeTopic("cx.deadletter")
    writer, metrics = _writer(dead)
    counted: list[str] = []
    pending = await writer.send(Output(out, b"k", b"v" * 300, None, lambda: counted.append("x")))
    await writer.settle(_source(), [pending])
    assert out.written == [] and counted == []
    (letter,) = [json.loads(v) for v in dead.written]
    assert letter["reason_code"] == "unwritable_output"
    assert letter["stage"] == "resolve"
    assert "cx.interactions refused a 300-byte record" in letter["reason"]
    assert letter["error_class"] == "MessageSizeTooLargeError"
    assert base64.b64decode(letter["payload_b64"]) == b'{"text": "hi"}'
    assert letter["source"] == {
        "topic": "cx.raw.chat",
        "partition": 2,
        "offset": 41,
        "source_message_id": None,
    }
    assert out.producer.renewals == 1  # the refused batch broke the producer's sequence
    assert (
        _value(metrics, "cxstream_deadletters_total", stage="resolve", reason="unwritable_output")
        == 1
    )


async def test_a_sequence_error_renews_the_producer_and_sends_again() -> None:
    out = FakeTopic("cx.interactions", [OutOfOrderSequenceNumber()])
    writer, _ = _writer(FakeTopic("cx.deadletter"))
    await writer.settle(_source(), [await writer.send(Output(out, b"k", b"v"))])
    assert out.written == [b"v"]
    assert out.producer.renewals == 1


async def test_a_stage_whose_dead_letter_cannot_be_written_waits_and_never_skips() -> None:
    out = FakeTopic("cx.interactions", [MessageSizeTooLargeError()])
    dead = FakeTopic("cx.deadletter", [MessageSizeTooLargeError()] * 3)
    writer, metrics = _writer(dead)
    seen_blocked: list[str | None] = []

    async def watch() -> None:
        while not dead.written:
            seen_blocked.append(writer.blocked_at)
            await asyncio.sleep(0.001)

    watcher = asyncio.create_task(watch())
    await writer.settle(_source(), [await writer.send(Output(out, b"k", b"v"))])
    await watcher
    assert "cx.raw.chat[2]@41" in seen_blocked
    assert writer.blocked_at is None
    assert _value(metrics, "cxstream_blocked_inputs", stage="resolve") == 0
    (letter,) = [json.loads(v) for v in dead.written]
    assert letter["reason_code"] == "unwritable_output"


async def test_a_dead_letter_of_any_input_fits_the_record_limit() -> None:
    from pipeline.contracts.records import dead_letter_bytes_bound

    dead = FakeTopic("cx.deadletter")
    writer, _ = _writer(dead)
    huge = Source("cx.raw.chat", 0, 1, b"k" * 2_000_000, b"\x00" * 2_000_000)
    await writer.dead_letter(huge, ReasonCode.OVERSIZE, "\u2028" * 100_000, "InputError")
    (letter,) = dead.written
    assert len(letter) <= dead_letter_bytes_bound(1024)
    record = json.loads(letter)
    assert record["payload_truncated"] and record["key_truncated"]
    assert record["payload_bytes"] == 2_000_000


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (KafkaConnectionError(), True),
        (OutOfOrderSequenceNumber(), True),
        (MessageSizeTooLargeError(), False),
        (ValueError("not Kafka"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_transient_or_permanent(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
