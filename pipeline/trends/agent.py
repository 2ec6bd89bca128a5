"""The two trend agents: per-partition sampling of ``cx.enriched``, one global detector.

::

    cx.enriched (N partitions) ──trends-sample──▶ cx.internal.trends (1 partition)
    cx.internal.trends ──trends (table: trend-clusters)──▶ cx.trends
                                                      └──▶ cx.alerts (emerging_issue)

Trends are global (a new problem shows across customers, and customers are spread over the
partitions), so ``trends-sample`` cuts each customer message down to a
:class:`~pipeline.contracts.trends.TrendSample` wherever ``cx.enriched``'s partitions are
consumed, and one ``trends`` agent decides on all of them in one ordered place, like identity
(docs/architecture.md §16). Both only move records; :mod:`pipeline.trends.detector` decides.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.types import EventT

from pipeline.contracts.records import Enriched, ReasonCode
from pipeline.contracts.trends import TrendSample
from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.streaming.delivery import Output, Pending, Source, Writer, run_stage
from pipeline.trends.alerts import alert_of
from pipeline.trends.detector import TrendConfig, TrendDetector

log = logging.getLogger("cxstream.trends")

RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
SAMPLE_TEXT_CHARS = 500


def sampled(interaction_id: str, rate: float) -> bool:
    """Whether an interaction is in the sample (by a hash of its id: the same under replay)."""
    if rate >= 1.0:
        return True
    digest = hashlib.sha256(interaction_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def sample_of(record: Enriched, rate: float) -> TrendSample | None:
    """The trend sample of a scored customer message with an embedding, or None."""
    if record.author_role != "customer" or not record.scored or not record.text:
        return None
    if not record.embedding or not sampled(record.interaction_id, rate):
        return None
    sentiment = None
    if record.scores is not None and record.scores.sentiment is not None:
        p = record.scores.sentiment.probabilities
        sentiment = round(p.get("positive", 0.0) - p.get("negative", 0.0), 4)
    return TrendSample(
        interaction_id=record.interaction_id,
        occurred_at=record.occurred_at,
        channel=record.channel,
        text=record.text[:SAMPLE_TEXT_CHARS],
        sentiment=sentiment,
        embedding=record.embedding,
    )


Stage = Callable[[EventT[Any]], Awaitable[tuple[Source, list[Pending]]]]


def sampler(settings: Settings, metrics: Metrics, writer: Writer, samples: faust.TopicT) -> Stage:
    """The ``trends-sample`` stage: one enriched interaction → a trend sample or nothing."""

    async def sample(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """Cut one enriched interaction down to a trend sample (most are skipped)."""
        source = Source.of(event)
        try:
            record = Enriched.model_validate_json(source.value)
        except ValueError as exc:
            reason = f"not an enriched interaction: {exc}"
            return source, [
                await writer.reject(source, ReasonCode.SCHEMA_VIOLATION, reason, type(exc).__name__)
            ]
        found = sample_of(record, settings.trends_sample_rate)
        if found is None:
            return source, []
        body = found.model_dump_json().encode()
        counted = metrics.events_out.labels(stage="trends", channel=record.channel).inc
        output = Output(samples, record.interaction_id.encode(), body, None, counted)
        return source, [await writer.send(output)]

    return sample


def decider(
    detector: TrendDetector,
    config: TrendConfig,
    metrics: Metrics,
    writer: Writer,
    outputs: tuple[faust.TopicT, faust.TopicT],
) -> Stage:
    """The ``trends`` stage: one sample → the trend changes it causes on ``cx.trends`` and their
    alerts on ``cx.alerts`` (``outputs``), the detector's state written once they are sent."""
    trends, alerts = outputs

    async def decide(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """Cluster one sample; the trend changes it causes, on their way."""
        source = Source.of(event)
        try:
            item = TrendSample.model_validate_json(source.value)
            changes = detector.observe(item)
        except ValueError as exc:
            reason = f"not a trend sample: {exc}"
            return source, [
                await writer.reject(source, ReasonCode.SCHEMA_VIOLATION, reason, type(exc).__name__)
            ]
        pendings: list[Pending] = []
        for change in changes:
            trend, alert = change.trend, alert_of(change, config)
            log.info(
                "trend %s %s: %s (%s)", trend.trend_id, trend.status, trend.label, trend.reason
            )
            key = trend.trend_id.encode()
            counter = metrics.alerts.labels(
                type=alert.type, severity=alert.severity, status=alert.status
            )
            pendings.append(
                await writer.send(Output(trends, key, trend.model_dump_json().encode()))
            )
            body = alert.model_dump_json().encode()
            pendings.append(await writer.send(Output(alerts, key, body, None, counter.inc)))
        # the state is written once its changes are on the broker (detector.observe)
        for pending in pendings:
            if await writer.written(pending) is not None:
                break
        detector.save()
        metrics.trends_active.set(detector.active)
        metrics.trend_clusters.set(detector.clusters)
        return source, pendings

    return decide


def add_trends(
    app: faust.App,
    settings: Settings,
    metrics: Metrics,
    writer: Writer,
    table_options: Mapping[str, Any],
) -> None:
    """Register ``trends-sample`` (on ``cx.enriched``) and ``trends`` (on
    ``cx.internal.trends``, with its single-partition ``trend-clusters`` table)."""
    names = settings.topics
    enriched = app.topic(names.enriched, **RAW)
    samples = app.topic(names.trend_samples, partitions=1, **RAW)
    outputs = (app.topic(names.trends, **RAW), app.topic(names.alerts, **RAW))
    table = app.Table(
        "trend-clusters", partitions=1, key_type=str, value_type=bytes, options=dict(table_options)
    )
    config = TrendConfig.of(settings)
    detector = TrendDetector(config, table)
    if not settings.emit_embeddings:
        log.warning(
            "trends: CXSTREAM_EMIT_EMBEDDINGS is false, so cx.enriched carries no embeddings "
            "and no emerging issue can be found"
        )
    sample = sampler(settings, metrics, writer, samples)
    decide = decider(detector, config, metrics, writer, outputs)

    async def trends_sample(stream: faust.StreamT[bytes]) -> None:
        """Forward each sampled customer message to the global detector."""
        await run_stage(stream, writer, sample, settings)

    async def trends_agent(stream: faust.StreamT[bytes]) -> None:
        """Cluster samples; emit trends and emerging_issue alerts."""
        await run_stage(stream, writer, decide, settings, tables=True)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def reload_trends(sender: Any, **_: Any) -> None:
        """The table may have been recovered or moved: read it again."""
        detector.invalidate()

    app.agent(enriched, name="trends-sample")(trends_sample)
    app.agent(samples, name="trends")(trends_agent)
    del reload_trends
