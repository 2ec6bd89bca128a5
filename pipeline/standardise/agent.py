"""The standardise agent: raw topics → the resolve topic, or a dead letter; never raises.

Thin: it moves records between Kafka and :class:`~pipeline.standardise.standardiser.Standardiser`
through the stage's writer (an input is committed only after its output is on the broker,
pipeline/streaming/delivery.py) and its liveness guard (pipeline/streaming/liveness.py).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import faust
from faust.types import EventT

from pipeline.contracts.records import ReasonCode, Standardised
from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.standardiser import RawMessage, Standardiser
from pipeline.streaming.delivery import Output, Pending, Source, Writer, run_stage
from pipeline.streaming.liveness import StageGuard
from pipeline.streaming.offset_watch import OffsetWatches

log = logging.getLogger("cxstream")


def add_standardise(
    app: faust.App,
    settings: Settings,
    metrics: Metrics,
    topics: tuple[Any, Any],
    stage: tuple[Writer, StageGuard],
    watches: OffsetWatches,
) -> None:
    """Register the agent on ``topics`` = (raw topics, resolve topic)."""
    raw_topic, resolve_topic = topics
    writer, guard = stage
    standardiser = Standardiser(settings)
    watch = watches.stage("standardise")
    names = settings.topics

    async def decide(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """One raw record → its interaction on the resolve topic, or its dead letter."""
        source = Source.of(event)
        msg = event.message
        watch.saw(source.topic, source.partition, source.offset)
        channel = names.channel_of(source.topic) or "unknown"
        metrics.events_in.labels(stage="standardise", channel=channel).inc()
        if (verdict := guard.verdict(*source.place)) is not None:
            return source, [await writer.reject(source, verdict.code, verdict.reason, "")]
        raw = RawMessage(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            key=source.key,
            value=source.value,
            timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
        )
        try:
            with guard.deciding(*source.place):
                ix = standardiser.standardise(raw)
            envelope = Standardised(
                interaction=ix, payload_digest=hashlib.sha256(source.value).hexdigest()[:32]
            )
            body = envelope.model_dump_json().encode()
        except InputError as exc:
            return source, [await writer.reject(source, exc.code, str(exc), type(exc).__name__)]
        except Exception as exc:
            log.exception("standardise failed on %s", source.where)
            code = ReasonCode.INTERNAL_ERROR
            return source, [await writer.reject(source, code, str(exc), type(exc).__name__)]
        key = f"{ix.channel}:{ix.source.source_message_id}".encode()
        out = metrics.events_out.labels(stage="standardise", channel=channel)
        return source, [await writer.send(Output(resolve_topic, key, body, None, out.inc))]

    async def standardise(stream: faust.StreamT[bytes]) -> None:
        """Raw bytes → Interaction on the resolve topic, or a dead letter; never raises."""
        await run_stage(stream, writer, decide, settings)

    app.agent(raw_topic, name="standardise")(standardise)
