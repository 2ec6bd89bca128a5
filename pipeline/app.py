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
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import faust
from faust.types import EventT

from pipeline.delivery import Output, Pending, Source, Writer, deciding, hold, release
from pipeline.identity import IdentifierTooLong
from pipeline.kafka_transport import broker_urls
from pipeline.lag import LagMonitor
from pipeline.liveness import (
    HEARTBEAT_S,
    Breadcrumbs,
    PoisonList,
    StageGuard,
    breadcrumbs_path,
    poison_path,
    worker_dir,
)
from pipeline.metrics import Metrics
from pipeline.normalise.errors import InputError
from pipeline.offset_watch import OffsetWatches
from pipeline.records import ReasonCode, SourceRef, Stage
from pipeline.resolve import Resolver, Standardised
from pipeline.settings import Settings
from pipeline.standardise import RawMessage, Standardiser
from pipeline.state_store import MemoryBudget, budget_for, store_url, table_options
from pipeline.table_values import TableValueTooLarge
from pipeline.watchdog import fresh
from pipeline.workflow.agent import add_workflow
from pipeline.workflow.config import cached_rules

log = logging.getLogger("cxstream")

RAW = {"key_serializer": "raw", "value_serializer": "raw"}
STORE_MEMORY_EVERY_S = 15.0
OFFSET_CHECK_EVERY_S = 10.0


def build_app(
    settings: Settings, metrics: Metrics | None = None, lag: LagMonitor | None = None
) -> faust.App:
    """A configured Faust app with every agent registered; ``metrics`` receives the counts."""
    metrics = metrics if metrics is not None else Metrics()
    names = settings.topics
    # One RocksDB directory per worker: two workers on one host (distinct web ports) must not
    # share files, and a restarted worker with the same port reopens its own.
    datadir = worker_dir(settings)
    datadir.mkdir(parents=True, exist_ok=True)
    crumbs = Breadcrumbs(breadcrumbs_path(settings))
    poison = PoisonList(poison_path(settings))
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
        producer_max_request_size=settings.max_record_bytes,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        # Only documented endpoints: Faust's table and router views would serve customer
        # data (identifiers, state) to anyone who reaches the port.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
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

    def writer(stage: Stage) -> Writer:
        return Writer(stage, deadletters, metrics, payload_limit=settings.max_payload_bytes)

    def guard(stage: Stage) -> StageGuard:
        return StageGuard(stage, crumbs, poison)

    writers = {stage: writer(stage) for stage in Stage}
    std_writer, resolve_writer = writers[Stage.STANDARDISE], writers[Stage.RESOLVE]
    std_guard, resolve_guard = guard(Stage.STANDARDISE), guard(Stage.RESOLVE)
    batches = {"max_": settings.stage_batch_size, "within": settings.stage_batch_wait_s}

    async def standardise_one(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """One raw record → its interaction on the resolve topic, or its dead letter."""
        source = Source.of(event)
        msg = event.message
        watch_raw.saw(source.topic, source.partition, source.offset)
        channel = names.channel_of(source.topic) or "unknown"
        metrics.events_in.labels(stage="standardise", channel=channel).inc()
        raw = RawMessage(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            key=source.key,
            value=source.value,
            timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
        )
        if (verdict := std_guard.verdict(*source.place)) is not None:
            return source, [await std_writer.reject(source, verdict.code, verdict.reason, "")]
        try:
            with std_guard.deciding(*source.place):
                ix = standardiser.standardise(raw)
            envelope = Standardised(
                interaction=ix, payload_digest=hashlib.sha256(source.value).hexdigest()[:32]
            )
            body = envelope.model_dump_json().encode()
        except InputError as exc:
            return source, [await std_writer.reject(source, exc.code, str(exc), type(exc).__name__)]
        except Exception as exc:
            log.exception("standardise failed on %s", source.where)
            code = ReasonCode.INTERNAL_ERROR
            return source, [await std_writer.reject(source, code, str(exc), type(exc).__name__)]
        key = f"{ix.channel}:{ix.source.source_message_id}".encode()
        out = metrics.events_out.labels(stage="standardise", channel=channel)
        return source, [await std_writer.send(Output(resolve_topic, key, body, None, out.inc))]

    async def standardise(stream: faust.StreamT[bytes]) -> None:
        """Raw bytes → Interaction on the resolve topic, or a dead letter; never raises.

        An input is committed only after its output is on the broker (pipeline/delivery.py).
        """
        async for events in stream.take_events(**batches):  # type: ignore[attr-defined]
            hold(events)
            decided = [await standardise_one(event) for event in events]
            for source, pendings in decided:
                await std_writer.settle(source, pendings)
            release(events)

    async def resolve_one(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """Dedupe + identity of one standardised record; its outputs on their way."""
        source = Source.of(event)
        watch_resolve.saw(source.topic, source.partition, source.offset)
        try:
            item = Standardised.model_validate_json(source.value)
            source = source.from_raw(item.interaction.source)
            channel = item.interaction.channel
            metrics.events_in.labels(stage="resolve", channel=channel).inc()
            if (verdict := resolve_guard.verdict(*source.place)) is not None:
                why = verdict.reason
                return source, [await resolve_writer.reject(source, verdict.code, why, "")]
            with resolve_guard.deciding(*source.place):
                outcome = resolver.process(item, time.time())
        except (IdentifierTooLong, TableValueTooLarge) as exc:
            code = (
                ReasonCode.SCHEMA_VIOLATION
                if isinstance(exc, IdentifierTooLong)
                else ReasonCode.STATE_TOO_LARGE
            )
            return source, [await resolve_writer.reject(source, code, str(exc), type(exc).__name__)]
        except Exception as exc:
            log.exception("resolve failed at %s", source.where)
            code = ReasonCode.INTERNAL_ERROR
            return source, [await resolve_writer.reject(source, code, str(exc), type(exc).__name__)]
        if outcome.evicted:
            metrics.identity_evictions.inc(outcome.evicted)
        outputs = [
            Output(identity, link.merged_key.encode(), link.model_dump_json().encode())
            for link in outcome.merges
        ]
        if outcome.duplicate is not None:
            dup = outcome.duplicate
            outputs.append(
                Output(
                    duplicates,
                    (dup.customer_key or dup.interaction_id).encode(),
                    dup.model_dump_json().encode(),
                    None,
                    metrics.duplicates.labels(kind=dup.kind.value).inc,
                )
            )
        if outcome.interaction is not None:
            ix = outcome.interaction
            assert ix.customer_key is not None
            outputs.append(
                Output(
                    interactions,
                    ix.customer_key.encode(),
                    ix.model_dump_json().encode(),
                    None,
                    metrics.events_out.labels(stage="resolve", channel=channel).inc,
                )
            )
        return source, [await resolve_writer.send(output) for output in outputs]

    async def resolve(stream: faust.StreamT[bytes]) -> None:
        """Dedupe + identity; emits interactions keyed by customer, duplicates, merges."""
        async for events in stream.take_events(**batches):  # type: ignore[attr-defined]
            hold(events)
            decided = []
            for event in events:
                deciding(event)
                decided.append(await resolve_one(event))
            for source, pendings in decided:
                await resolve_writer.settle(source, pendings)
            release(events)

    scored = app.topic(names.scored, **RAW)  # type: ignore[arg-type]
    roles = settings.agent_roles
    if "standardise" in roles:
        app.agent(raw_topic, name="standardise")(standardise)
    if "resolve" in roles:
        app.agent(resolve_topic, name="resolve")(resolve)
    if "score" in roles:
        _add_scoring(app, settings, metrics, interactions, scored, writers[Stage.SCORE], watches)
    if "workflow" in roles:
        add_workflow(
            app,
            settings,
            metrics,
            scored,
            (writers[Stage.WORKFLOW], guard(Stage.WORKFLOW)),
            options,
            watches,
        )
    if budget is not None:
        _add_store_memory(app, budget, metrics)
    _add_offset_watches(app, watches)
    _add_health(app, crumbs, list(writers.values()), lag)
    return app


def _add_health(
    app: faust.App, crumbs: Breadcrumbs, writers: list[Writer], lag: LagMonitor | None
) -> None:
    """The loop heartbeat for the supervisor, and ``/livez`` + ``/readyz`` for Kubernetes.

    ``/livez`` answers while the event loop runs (a blocked loop cannot answer: the probe
    times out, which is the verdict). ``/readyz`` is 503 while a stage is stopped at an input
    it cannot dead-letter, or while this worker holds no partition although its group has lag
    (it left the group, or is stuck joining it)."""

    @app.task  # type: ignore[untyped-decorator]
    async def heartbeat() -> None:
        while True:
            crumbs.beat()
            await asyncio.sleep(HEARTBEAT_S)

    @app.page("/livez")
    async def livez(web: Any, request: Any) -> Any:
        return web.json({"status": "live"})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        problems = [
            f"{w.stage.value} is stopped at {w.blocked_at}" for w in writers if w.blocked_at
        ]
        if lag is not None and fresh(lag.measured_at):
            waiting = sum(part.lag for part in lag.latest.values())
            if waiting and not app.consumer.assignment():
                problems.append(f"no partitions assigned while the group has {waiting} waiting")
        if problems:
            return web.json({"status": "not ready", "problems": problems}, status=503)
        return web.json({"status": "ready"})

    del heartbeat, livez, readyz


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
    score_writer: Writer,
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
        sources: list[Source],
    ) -> tuple[list[tuple[bytes, bytes, str, SourceRef]], list[Exception | None]]:
        """Parse, score and serialise in the worker thread: (key, body, channel, raw source)
        per parsed interaction, and the parse error (or None) of each input."""
        started = time.perf_counter()
        parsed: list[Interaction] = []
        errors: list[Exception | None] = []
        for source in sources:
            try:
                parsed.append(Interaction.model_validate_json(source.value))
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
        keyed: list[tuple[bytes, bytes, str, SourceRef]] = [
            (
                (e.customer_key or e.interaction_id).encode(),
                e.model_dump_json().encode(),
                e.channel,
                e.source,
            )
            for e in out
        ]
        texts = sum(1 for ix in parsed if ix.text)
        if texts and scorer is not None:
            metrics.batch_size.observe(texts)
            metrics.inference.observe(time.perf_counter() - started)
        for ix in parsed:
            metrics.events_in.labels(stage="score", channel=ix.channel).inc()
        return keyed, errors

    watch = watches.stage("score")

    @app.agent(interactions, name="score")
    async def score(stream: faust.StreamT[bytes]) -> None:
        """Micro-batches of interactions, scored off the event loop, out in the same order;
        a batch is committed only after its outputs are on the broker (pipeline/delivery.py)."""
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.score_batch_size, within=settings.score_batch_wait_s
        ):
            hold(events)
            sources = [Source.of(event) for event in events]
            for source in sources:
                watch.saw(source.topic, source.partition, source.offset)
            bodies, errors = await loop.run_in_executor(executor, score_batch, sources)
            scored_bodies = iter(bodies)
            decided: list[tuple[Source, list[Pending]]] = []
            for source, error in zip(sources, errors, strict=True):
                if error is not None:
                    code, why = ReasonCode.SCHEMA_VIOLATION, str(error)
                    pending = await score_writer.reject(source, code, why, type(error).__name__)
                else:
                    key, body, channel, origin = next(scored_bodies)
                    source = source.from_raw(origin)
                    out = metrics.events_out.labels(stage="score", channel=channel)
                    pending = await score_writer.send(Output(scored, key, body, None, out.inc))
                decided.append((source, [pending]))
            for source, pendings in decided:
                await score_writer.settle(source, pendings)
            release(events)
