"""Writing a stage's outputs so that no input is ever skipped when a write fails.

Faust marks a record read (acks it) when the agent's loop moves past it — also when the agent
raised on it, and when the agent was cancelled in the middle of it — and then commits past it.
A record whose output the broker refused was therefore lost without a trace: a 900 KB chat
message became a 1.2 MB dead letter, the producer refused it, the agent crashed and restarted,
and the pipeline carried on after the message (docs/reliability.md, "Unwritable outputs").

Every agent now goes through one :class:`Writer` per stage:

1. it **holds** each input it takes (:func:`hold`: one more reference on the Kafka message,
   so Faust's own ack cannot complete it — not on an exception, not on cancellation);
2. it sends the input's outputs and waits until the broker has acknowledged each of them
   (:meth:`Writer.settle`), a batch at a time so the wait costs one round trip per batch;
3. an output whose error is transient (broker away, leader moving, timeout) is sent again
   with backoff for as long as it takes — the stage waits, lag grows, nothing is skipped;
4. an output the broker can never take (too large for the topic, topic invalid or forbidden)
   turns the input into a bounded ``unwritable_output`` dead letter naming the output and the
   error; the outputs already written stay written;
5. if even that dead letter cannot be written, the stage **stops loudly**: CRITICAL log lines,
   ``cxstream_blocked_inputs`` = 1, lag grows for the watchdog and the alert rules, and the
   dead letter is tried again every ``RETRY_MAX_S`` until the cause is fixed;
6. only then is the hold released (:func:`release`) and the offset can be committed.

Counters of written records (``cxstream_deadletters_total``, ``…_events_out_total``,
duplicates, alerts) move when the broker acknowledged the record, not when it was sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    UnknownProducerId,
)
from faust.exceptions import ProducerSendError
from faust.streams import _current_event
from faust.types import EventT

from pipeline.contracts.records import (
    KEY_PREFIX_BYTES,
    REASON_MAX_CHARS,
    DeadLetter,
    ReasonCode,
    SourceRef,
    Stage,
)
from pipeline.metrics import Metrics
from pipeline.settings import Settings

log = logging.getLogger("cxstream.delivery")

DELIVERY_WAIT_S = 60.0
"""Longest wait for one delivery's outcome before it is treated as a transient failure and
sent again (a lost outcome must not hold the stage; the copy is at-least-once)."""
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 10.0
LOG_EVERY_S = 30.0


def _clip(text: str) -> str:
    if len(text) <= REASON_MAX_CHARS:
        return text
    return text[: REASON_MAX_CHARS - 1] + "…"


@dataclass(frozen=True)
class Source:
    """The input record a decision is about."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    origin: SourceRef | None = None
    """The raw input behind an internal record (known once the stage parsed it)."""

    @classmethod
    def of(cls, event: EventT[Any]) -> Source:
        """The source of a Faust event (a null value reads as no bytes)."""
        msg = event.message
        value = msg.value
        if value is None:
            body = b""
        elif isinstance(value, bytes):
            body = value
        else:
            body = str(value).encode()
        key = msg.key if isinstance(msg.key, bytes) or msg.key is None else str(msg.key).encode()
        return cls(msg.topic, msg.partition, msg.offset, key, body)

    @property
    def place(self) -> tuple[str, int, int]:
        """Topic, partition and offset of the record the stage read."""
        return (self.topic, self.partition, self.offset)

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def from_raw(self, origin: SourceRef) -> Source:
        """This record, known to carry the raw input at ``origin``."""
        return replace(self, origin=origin)


def bounded_dead_letter(
    stage: Stage,
    code: ReasonCode,
    reason: str,
    error_class: str,
    source: Source,
    *,
    payload_limit: int,
) -> DeadLetter:
    """The dead letter of one input: payload and key cut to their bounds, with the whole
    payload's size and SHA-256 (the whole stays on the source topic for its retention)."""
    kept = source.value[:payload_limit]
    read = SourceRef(topic=source.topic, partition=source.partition, offset=source.offset)
    key = source.key
    kept_key = key[:KEY_PREFIX_BYTES] if key is not None else None
    return DeadLetter(
        stage=stage,
        reason_code=code,
        reason=_clip(reason),
        error_class=error_class,
        payload_b64=base64.b64encode(kept).decode(),
        payload_bytes=len(source.value),
        payload_sha256=hashlib.sha256(source.value).hexdigest(),
        payload_truncated=len(kept) < len(source.value),
        key_b64=base64.b64encode(kept_key).decode() if kept_key is not None else None,
        key_truncated=key is not None and len(key) > KEY_PREFIX_BYTES,
        source=source.origin or read,
        read_from=read if source.origin is not None else None,
        failed_at=datetime.now(UTC),
    )


SEQUENCE_ERRORS = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)
"""The idempotent producer's state for a partition is broken (after a refused batch): a new
producer fixes it, so these are retried after :meth:`IdempotentProducer.renew`."""


def is_transient(error: BaseException) -> bool:
    """Whether sending the same record again may succeed (the broker or the network was away).

    Faust wraps errors raised while a send starts in ``ProducerSendError``; the cause decides.
    """
    cause = error
    if isinstance(error, ProducerSendError) and error.__cause__ is not None:
        cause = error.__cause__
    if isinstance(cause, KafkaTimeoutError | ProducerClosed | asyncio.TimeoutError):
        return True
    if isinstance(cause, SEQUENCE_ERRORS):
        return True
    if isinstance(cause, KafkaError):
        return bool(cause.retriable)
    return False


@dataclass
class Output:
    """One record a stage writes for an input."""

    topic: Any  # a Faust topic
    key: bytes | None
    value: bytes | None
    """None: a tombstone (a compacted topic then forgets the key)."""
    headers: Mapping[str, bytes] | None = None
    written: Callable[[], None] | None = None
    """Called once, after the broker acknowledged the record (the counters live here)."""

    @property
    def topic_name(self) -> str:
        return str(self.topic.get_topic_name())


@dataclass
class Pending:
    """An output on its way: its delivery future, or the error raised when sending started."""

    output: Output
    future: asyncio.Future[Any] | None
    error: BaseException | None = None
    producer_generation: int = 0
    """The producer generation that sent it (pipeline/streaming/transport.py, renew)."""
    settled: bool = field(default=False, init=False)
    failure: BaseException | None = field(default=None, init=False)


async def _outcome(future: asyncio.Future[Any], timeout_s: float) -> Any:
    """The delivery's outcome, or ``TimeoutError`` after ``timeout_s`` (the future is left
    alone: a late outcome is simply not waited for)."""
    if future.done():
        return future.result()
    done, _ = await asyncio.wait({future}, timeout=timeout_s)
    if not done:
        raise TimeoutError
    return future.result()


def _producer_generation(topic: Any) -> int:
    return int(getattr(topic.app.producer, "generation", 0))


async def _renew_producer(topic: Any, generation: int) -> None:
    renew = getattr(topic.app.producer, "renew", None)
    if renew is not None:
        await renew(generation)


def hold(events: Sequence[EventT[Any]]) -> None:
    """Keep Faust from completing these inputs when the agent moves on or is cancelled."""
    for event in events:
        event.message.incref()


def deciding(event: EventT[Any]) -> None:
    """Make ``event`` Faust's current event (in this task's context) while the agent decides
    it: a table write sends its changelog record to the partition of the current event.

    Only the context variable is set — not ``Stream.current_event``, which the background
    iteration of ``take_events`` reads to fill the next batch."""
    _current_event.set(weakref.ref(event))


def release(events: Sequence[EventT[Any]]) -> None:
    """Let Faust complete these inputs (their outputs are all written or dead-lettered)."""
    for event in events:
        event.message.decref()


class Writer:
    """The writer of one stage: sends outputs and settles each input (module docstring)."""

    def __init__(
        self, stage: Stage, deadletters: Any, metrics: Metrics, *, payload_limit: int
    ) -> None:
        self.stage = stage
        self.deadletters = deadletters
        self.metrics = metrics
        self.payload_limit = payload_limit
        self.blocked_at: str | None = None
        """The input this stage is stopped at (its dead letter cannot be written), if any."""
        self._last_log: dict[str, float] = {}

    async def send(self, output: Output) -> Pending:
        """Start writing ``output``; errors are kept on the returned :class:`Pending`."""
        topic = output.topic
        generation = _producer_generation(topic)
        # Faust's own promise, not the producer's: Faust sets the outcome on it, and an
        # outcome nobody awaits is logged as "exception was never retrieved".
        promise = topic.as_future_message(
            key=output.key, value=output.value, headers=output.headers
        )
        try:
            await topic.publish_message(promise)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return Pending(output, None, exc, generation)
        return Pending(output, promise, None, generation)

    async def written(self, pending: Pending) -> BaseException | None:
        """Wait until the broker holds the output, sending it again after transient errors.

        Returns None once written, or the permanent error; the answer is kept, so asking
        twice neither waits nor sends twice.
        """
        if pending.settled:
            return pending.failure
        delay = RETRY_FIRST_S
        while True:
            error = pending.error
            if error is None and pending.future is not None:
                try:
                    await _outcome(pending.future, DELIVERY_WAIT_S)
                except TimeoutError:
                    error = KafkaTimeoutError(f"no delivery outcome within {DELIVERY_WAIT_S:g} s")
                except asyncio.CancelledError:
                    if pending.future.done() and pending.future.cancelled():
                        error = KafkaTimeoutError("the delivery was cancelled")
                    else:
                        raise
                except Exception as exc:
                    error = exc
            # the broker refused it: a refused batch leaves the producer's sequence numbers for
            # that partition behind, and a new producer is the way out
            refused = error if pending.future is not None else None
            if refused is not None and (
                isinstance(refused, SEQUENCE_ERRORS) or not is_transient(refused)
            ):
                await _renew_producer(pending.output.topic, pending.producer_generation)
            if error is None:
                pending.settled = True
                if pending.output.written is not None:
                    pending.output.written()
                return None
            if not is_transient(error):
                pending.settled, pending.failure = True, error
                return error
            topic = pending.output.topic_name
            self.metrics.output_retries.labels(stage=self.stage.value, topic=topic).inc()
            self._warn(
                f"retry:{topic}",
                "%s: writing to %s failed (%s: %s); retrying in %.1fs",
                self.stage.value,
                topic,
                type(error).__name__,
                error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
            again = await self.send(pending.output)
            pending.future, pending.error = again.future, again.error
            pending.producer_generation = again.producer_generation

    async def reject(
        self, source: Source, code: ReasonCode, reason: str, error_class: str
    ) -> Pending:
        """Start writing the dead letter of ``source``."""
        record = bounded_dead_letter(
            self.stage, code, reason, error_class, source, payload_limit=self.payload_limit
        )
        log.debug("dead letter %s from %s", code.value, source.where)
        stage = self.stage.value

        def counted() -> None:
            self.metrics.deadletters.labels(stage=stage, reason=code.value).inc()
            if code is ReasonCode.INTERNAL_ERROR:
                self.metrics.processing_errors.labels(stage=stage).inc()

        key = source.key[:KEY_PREFIX_BYTES] if source.key is not None else None
        output = Output(self.deadletters, key, record.model_dump_json().encode(), None, counted)
        return await self.send(output)

    async def settle(self, source: Source, pendings: Sequence[Pending]) -> None:
        """Return once every output of ``source`` is written, or its dead letter is."""
        failures = [(p, e) for p in pendings if (e := await self.written(p)) is not None]
        if not failures:
            return
        described = "; ".join(
            f"{p.output.topic_name} refused a {len(p.output.value or b''):,}-byte record "
            f"({type(e).__name__}: {e})"
            for p, e in failures
        )
        log.error(
            "%s: an output of %s cannot be written: %s", self.stage.value, source.where, described
        )
        first = failures[0][1]
        cause = first.__cause__ if isinstance(first, ProducerSendError) else None
        reason = f"an output of this input could not be written: {described}"
        await self._dead_letter_or_block(
            source, ReasonCode.UNWRITABLE_OUTPUT, reason, type(cause or first).__name__
        )

    async def _dead_letter_or_block(
        self, source: Source, code: ReasonCode, reason: str, error_class: str
    ) -> None:
        pending = await self.reject(source, code, reason, error_class)
        error = await self.written(pending)
        if error is None:
            return
        stage = self.stage.value
        blocked = self.metrics.blocked_inputs.labels(stage=stage)
        blocked.inc()
        self.blocked_at = source.where
        try:
            while error is not None:
                self._critical(
                    f"blocked:{source.topic}:{source.partition}",
                    "%s STOPPED at %s: its dead letter cannot be written either (%s: %s). "
                    "The input stays unread (never skipped); fix the cause (topic %s, its "
                    "max.message.bytes, ACLs). Trying again every %.0fs.",
                    stage,
                    source.where,
                    type(error).__name__,
                    error,
                    pending.output.topic_name,
                    RETRY_MAX_S,
                )
                await asyncio.sleep(RETRY_MAX_S)
                pending = await self.send(pending.output)
                error = await self.written(pending)
        finally:
            blocked.dec()
            self.blocked_at = None
        log.warning("%s: %s dead-lettered; the stage goes on", stage, source.where)

    async def dead_letter(
        self, source: Source, code: ReasonCode, reason: str, error_class: str
    ) -> None:
        """Write the dead letter of ``source`` now (settled: written, or the stage blocks)."""
        await self.settle(source, [await self.reject(source, code, reason, error_class)])

    def _warn(self, what: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log.get(what, 0.0) >= LOG_EVERY_S:
            self._last_log[what] = now
            log.warning(message, *args)

    def _critical(self, what: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log.get(what, 0.0) >= LOG_EVERY_S:
            self._last_log[what] = now
            log.critical(message, *args)


async def run_stage(
    stream: Any,
    writer: Writer,
    decide: Callable[[EventT[Any]], Awaitable[tuple[Source, list[Pending]]]],
    settings: Settings,
    *,
    tables: bool = False,
) -> None:
    """The loop of every per-input stage: take a batch, hold it, decide each input (``decide``
    starts its outputs), wait until every output is written or dead-lettered, release it.

    Batches are ``settings.stage_batch_size`` inputs, or fewer after ``stage_batch_wait_s``.
    With ``tables``, each input is Faust's current event while it is decided (table writes
    go to its partition's changelog)."""
    batch, wait_s = settings.stage_batch_size, settings.stage_batch_wait_s
    async for events in stream.take_events(batch, within=wait_s):
        hold(events)
        decided = []
        for event in events:
            if tables:
                deciding(event)
            decided.append(await decide(event))
        for source, pendings in decided:
            await writer.settle(source, pendings)
        release(events)
