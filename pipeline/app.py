"""The Faust app: topics, tables and the four agents of the pipeline.

::

    cx.raw.{web,chat,email,voice,survey} ──standardise──▶ cx.internal.resolve (1 partition)
                       │                                         │
                       └──────────▶ cx.deadletter ◀──────────────┤ resolve: dedupe + identity
                                                                 ├──▶ cx.interactions (by customer)
                                                                 ├──▶ cx.duplicates (audit)
                                                                 └──▶ cx.identity (key merges)
    cx.interactions ──score (onnxruntime, micro-batches)──▶ cx.internal.scored
    cx.internal.scored ──workflow (tables: customers, conversations)──▶ cx.enriched (routed)
                                                                      ├──▶ cx.alerts
                                                                      └──▶ cx.profiles

``standardise`` is stateless and scales with the raw topics' partitions. ``resolve`` owns the
identity and dedupe tables; it reads a single-partition topic so that identity links are
globally consistent (see docs/architecture.md). ``score`` is stateless; ``workflow`` keeps
per-customer state co-partitioned with its input (pipeline/workflow/agent.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import faust
from faust.types import EventT

from pipeline.kafka_transport import broker_urls
from pipeline.metrics import Metrics
from pipeline.normalise.errors import InputError
from pipeline.offset_watch import OffsetWatches
from pipeline.records import DeadLetter, ReasonCode, SourceRef
from pipeline.resolve import Resolver, Standardised
from pipeline.settings import Settings
from pipeline.standardise import RawMessage, Standardiser
from pipeline.state_store import MemoryBudget, budget_for, store_url, table_options
from pipeline.workflow.agent import add_workflow
from pipeline.workflow.config import cached_rules

log = logging.getLogger("cxstream")

RAW = {"key_serializer": "raw", "value_serializer": "raw"}
STORE_MEMORY_EVERY_S = 15.0
OFFSET_CHECK_EVERY_S = 10.0


def dead_letter(
    stage: str,
    code: ReasonCode,
    reason: str,
    error: BaseException,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
) -> DeadLetter:
    """The dead-letter record for one message that a stage rejected."""
    return DeadLetter(
        stage=stage,
        reason_code=code,
        reason=reason,
        error_class=type(error).__name__,
        payload_b64=base64.b64encode(value).decode(),
        payload_bytes=len(value),
        key_b64=base64.b64encode(key).decode() if key is not None else None,
        source=SourceRef(topic=topic, partition=partition, offset=offset),
        failed_at=datetime.now(UTC),
    )


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def build_app(settings: Settings, metrics: Metrics | None = None) -> faust.App:
    """A configured Faust app with every agent registered; ``metrics`` receives the counts."""
    metrics = metrics if metrics is not None else Metrics()
    names = settings.topics
    # One RocksDB directory per worker: two workers on one host (distinct web ports) must not
    # share files, and a restarted worker with the same port reopens its own.
    datadir = settings.state_dir / "worker" / f"{settings.app_id}-{settings.web_port}"
    datadir.mkdir(parents=True, exist_ok=True)
    budget = budget_for(settings.store, settings.store_memory_mib)
    options = table_options(budget)
    app = faust.App(
        settings.app_id,
        broker=broker_urls(settings.bootstrap_servers),
        store=store_url(settings.store),
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger_ms=settings.producer_linger_ms,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        table_cleanup_interval=settings.sweep_interval_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
    )
    raw_topic = app.topic(*names.raw_topics, **RAW)  # type: ignore[arg-type]
    resolve_topic = app.topic(names.resolve, partitions=1, **RAW)  # type: ignore[arg-type]
    interactions = app.topic(names.interactions, **RAW)  # type: ignore[arg-type]
    deadletters = app.topic(names.deadletter, **RAW)  # type: ignore[arg-type]
    duplicates = app.topic(names.duplicates, **RAW)  # type: ignore[arg-type]
    identity = app.topic(names.identity, partitions=1, **RAW)  # type: ignore[arg-type]

    def table(name: str) -> Any:
        return app.Table(name, partitions=1, key_type=str, options=dict(options))

    resolver = Resolver(
        settings,
        links=table("identity-links"),
        members=table("identity-members"),
        seen_ids=table("dedupe-ids"),
        recent_texts=table("dedupe-texts"),
    )
    standardiser = Standardiser(settings)
    watches = OffsetWatches(metrics.offsets_reread, metrics.offsets_skipped)
    watch_raw, watch_resolve = watches.stage("standardise"), watches.stage("resolve")

    async def send_dead_letter(
        stage: str, event: EventT[Any], code: ReasonCode, exc: Exception
    ) -> None:
        msg = event.message
        record = dead_letter(
            stage,
            code,
            str(exc),
            exc,
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=_as_bytes(msg.value),
        )
        log.debug("dead letter %s from %s[%d]@%d", code.value, msg.topic, msg.partition, msg.offset)
        metrics.deadletters.labels(stage=stage, reason=code.value).inc()
        if code is ReasonCode.INTERNAL_ERROR:
            metrics.processing_errors.labels(stage=stage).inc()
        await deadletters.send(key=msg.key, value=record.model_dump_json().encode())

    async def standardise(stream: faust.StreamT[bytes]) -> None:
        """Raw bytes → Interaction on the resolve topic, or a dead letter; never raises."""
        async for event in stream.events():
            msg = event.message
            watch_raw.saw(msg.topic, msg.partition, msg.offset)
            value = _as_bytes(msg.value)
            channel = names.channel_of(msg.topic) or "unknown"
            metrics.events_in.labels(stage="standardise", channel=channel).inc()
            raw = RawMessage(
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                key=msg.key,
                value=value,
                timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
            )
            try:
                ix = standardiser.standardise(raw)
                envelope = Standardised(
                    interaction=ix, payload_digest=hashlib.sha256(value).hexdigest()[:32]
                )
                body = envelope.model_dump_json().encode()
            except InputError as exc:
                await send_dead_letter("standardise", event, exc.code, exc)
                continue
            except Exception as exc:
                log.exception(
                    "standardise failed on %s[%d]@%d", msg.topic, msg.partition, msg.offset
                )
                await send_dead_letter("standardise", event, ReasonCode.INTERNAL_ERROR, exc)
                continue
            key = f"{ix.channel}:{ix.source.source_message_id}".encode()
            await resolve_topic.send(key=key, value=body)
            metrics.events_out.labels(stage="standardise", channel=channel).inc()

    async def resolve(stream: faust.StreamT[bytes]) -> None:
        """Dedupe + identity; emits interactions keyed by customer, duplicates, merges."""
        async for event in stream.events():
            watch_resolve.saw(event.message.topic, event.message.partition, event.message.offset)
            try:
                item = Standardised.model_validate_json(_as_bytes(event.message.value))
                channel = item.interaction.channel
                metrics.events_in.labels(stage="resolve", channel=channel).inc()
                outcome = resolver.process(item, time.time())
            except Exception as exc:
                log.exception("resolve failed at offset %d", event.message.offset)
                await send_dead_letter("resolve", event, ReasonCode.INTERNAL_ERROR, exc)
                continue
            for link in outcome.merges:
                await identity.send(
                    key=link.merged_key.encode(), value=link.model_dump_json().encode()
                )
            if outcome.duplicate is not None:
                dup = outcome.duplicate
                metrics.duplicates.labels(kind=dup.kind.value).inc()
                await duplicates.send(
                    key=(dup.customer_key or dup.interaction_id).encode(),
                    value=dup.model_dump_json().encode(),
                )
            if outcome.interaction is not None:
                ix = outcome.interaction
                assert ix.customer_key is not None
                await interactions.send(
                    key=ix.customer_key.encode(), value=ix.model_dump_json().encode()
                )
                metrics.events_out.labels(stage="resolve", channel=channel).inc()

    scored = app.topic(names.scored, **RAW)  # type: ignore[arg-type]
    roles = settings.agent_roles
    if "standardise" in roles:
        app.agent(raw_topic, name="standardise")(standardise)
    if "resolve" in roles:
        app.agent(resolve_topic, name="resolve")(resolve)
    if "score" in roles:
        _add_scoring(app, settings, metrics, interactions, scored, send_dead_letter, watches)
    if "workflow" in roles:
        add_workflow(app, settings, metrics, scored, send_dead_letter, options, watches)
    if budget is not None:
        _add_store_memory(app, budget, metrics)
    _add_offset_watches(app, watches)
    return app


def _add_offset_watches(app: faust.App, watches: OffsetWatches) -> None:
    """Tell the watches of each assignment; report overdue holes even when records stop."""

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def watch_assignment(sender: Any, assigned: Any, **_: Any) -> None:
        watches.assigned((tp.topic, tp.partition) for tp in assigned)

    @app.timer(OFFSET_CHECK_EVERY_S)  # type: ignore[untyped-decorator]
    async def offset_holes() -> None:
        watches.check()


def _add_store_memory(app: faust.App, budget: MemoryBudget, metrics: Metrics) -> None:
    """``cxstream_store_memory_bytes`` from the RocksDB budget, every ``STORE_MEMORY_EVERY_S``."""

    @app.timer(STORE_MEMORY_EVERY_S)  # type: ignore[untyped-decorator]
    async def store_memory() -> None:
        for part, used in budget.usage().items():
            metrics.store_memory.labels(part=part).set(used)


def _package_version() -> str:
    try:
        return version("cxstream")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _add_scoring(
    app: faust.App,
    settings: Settings,
    metrics: Metrics,
    interactions: Any,
    scored: Any,
    send_dead_letter: Any,
    watches: OffsetWatches,
) -> None:
    """The score agent: cx.interactions → micro-batches → onnxruntime → cx.internal.scored.

    With ``CXSTREAM_SCORING_ENABLED=false`` interactions pass through unscored (the workflow
    stage still routes what it can and keeps profiles).
    """
    from pipeline.records import Enriched, Interaction
    from pipeline.scoring.enrich import enrich
    from pipeline.scoring.scorer import Scorer

    scorer = (
        Scorer(
            settings.model_dir,
            threads=settings.onnx_threads,
            bucket_size=settings.score_bucket_size,
        )
        if settings.scoring_enabled
        else None
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx")
    rules = cached_rules(settings.rules_file)
    if scorer is not None:
        card = scorer.card
        log.info("scoring with %s %s (%s)", card.name, card.version, settings.model_dir)
        intent_head = card.head("intent")
        if intent_head is not None:
            metrics.bound_intents(list(intent_head.labels))
    metrics.describe_build(
        package=_package_version(),
        model=scorer.card.name if scorer else "none",
        model_version=scorer.card.version if scorer else "none",
        model_sha256=scorer.card.sha256 if scorer else "none",
        rules=f"{rules.version}@{rules.fingerprint}",
    )
    if scorer is None:
        log.warning("scoring disabled (CXSTREAM_SCORING_ENABLED=false): interactions pass unscored")

    def score_batch(
        events: list[EventT[Any]],
    ) -> tuple[list[tuple[bytes, bytes]], list[Exception | None]]:
        """Parse, score and serialise in the worker thread: (key, body) pairs and parse errors."""
        started = time.perf_counter()
        parsed: list[Interaction] = []
        errors: list[Exception | None] = []
        for event in events:
            try:
                parsed.append(Interaction.model_validate_json(_as_bytes(event.message.value)))
                errors.append(None)
            except ValueError as exc:
                errors.append(exc)
        out = (
            enrich(parsed, scorer, emit_embeddings=settings.emit_embeddings)
            if scorer is not None
            else [
                Enriched(**ix.model_dump(), scored=False, unscored_reason="scoring disabled")
                for ix in parsed
            ]
        )
        keyed = [
            ((e.customer_key or e.interaction_id).encode(), e.model_dump_json().encode())
            for e in out
        ]
        texts = sum(1 for ix in parsed if ix.text)
        if texts and scorer is not None:
            metrics.batch_size.observe(texts)
            metrics.inference.observe(time.perf_counter() - started)
        for ix in parsed:
            metrics.events_in.labels(stage="score", channel=ix.channel).inc()
            metrics.events_out.labels(stage="score", channel=ix.channel).inc()
        return keyed, errors

    watch = watches.stage("score")

    @app.agent(interactions, name="score")
    async def score(stream: faust.StreamT[bytes]) -> None:
        """Micro-batches of interactions, scored off the event loop, out in the same order."""
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.score_batch_size, within=settings.score_batch_wait_s
        ):
            for event in events:
                watch.saw(event.message.topic, event.message.partition, event.message.offset)
            bodies, errors = await loop.run_in_executor(executor, score_batch, list(events))
            for event, error in zip(events, errors, strict=True):
                if error is not None:
                    await send_dead_letter("score", event, ReasonCode.SCHEMA_VIOLATION, error)
            for key, body in bodies:
                await scored.send(key=key, value=body)
