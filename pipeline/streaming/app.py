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
    cx.enriched ──trends-sample──▶ cx.internal.trends (1 partition) ──trends──▶ cx.trends, cx.alerts

``standardise`` is stateless and scales with the raw topics' partitions. ``resolve`` owns the
identity and dedupe tables; it reads a single-partition topic so that identity links are
globally consistent (see docs/architecture.md). ``score`` is stateless; ``workflow`` keeps
per-customer state co-partitioned with its input (pipeline/workflow/agent.py). The optional
``trends`` role samples ``cx.enriched`` and finds emerging issues in one place
(pipeline/trends/agent.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from pipeline.contracts.records import Stage
from pipeline.metrics import Metrics
from pipeline.resolve.agent import add_erasure, add_resolve
from pipeline.resolve.resolver import Resolver
from pipeline.scoring.agent import add_scoring
from pipeline.settings import Settings
from pipeline.standardise.agent import add_standardise
from pipeline.streaming.delivery import Writer
from pipeline.streaming.lag import LagMonitor
from pipeline.streaming.liveness import (
    HEARTBEAT_S,
    Breadcrumbs,
    PoisonList,
    StageGuard,
    breadcrumbs_path,
    poison_path,
    worker_dir,
)
from pipeline.streaming.offset_watch import OffsetWatches
from pipeline.streaming.security import faust_credentials
from pipeline.streaming.state_store import MemoryBudget, budget_for, store_url, table_options
from pipeline.streaming.transport import GenerationSafeConsumer, broker_urls
from pipeline.streaming.watchdog import fresh
from pipeline.trends.agent import add_trends
from pipeline.workflow.agent import add_workflow
from pipeline.workflow.config import cached_rules

log = logging.getLogger("cxstream")

RAW = {"key_serializer": "raw", "value_serializer": "raw"}
STORE_MEMORY_EVERY_S = 15.0
OFFSET_CHECK_EVERY_S = 10.0


def build_app(
    settings: Settings, metrics: Metrics | None = None, lag: LagMonitor | None = None
) -> faust.App:
    """A configured Faust app with every agent registered; ``metrics`` receives the counts.

    ``SettingsError`` when the web server would bind beyond loopback without a token.
    """
    settings.check_web_exposure()
    metrics = metrics if metrics is not None else Metrics()
    # One RocksDB directory per worker: two workers on one host (distinct web ports) must not
    # share files, and a restarted worker with the same port reopens its own.
    datadir = worker_dir(settings)
    datadir.mkdir(parents=True, exist_ok=True)
    crumbs = Breadcrumbs(breadcrumbs_path(settings))
    poison = PoisonList(poison_path(settings))
    budget = budget_for(settings.store, settings.store_memory_mib)
    options = table_options(budget)
    app = _faust_app(settings, datadir)
    topics = _topics(app, settings)
    resolver = _resolver(app, settings, options)
    watches = OffsetWatches(metrics.offsets_reread, metrics.offsets_skipped)
    writers = {
        stage: Writer(
            stage, topics["deadletter"], metrics, payload_limit=settings.max_payload_bytes
        )
        for stage in Stage
    }
    wiring = _Wiring(app, settings, metrics, watches, writers, crumbs, poison)
    _add_stages(wiring, topics, resolver, options)
    if budget is not None:
        _add_store_memory(app, budget, metrics)
    _add_offset_watches(app, watches)
    _add_commit_hold_count(app, metrics)
    _add_health(app, crumbs, list(writers.values()), lag)
    return app


def _faust_app(settings: Settings, datadir: Path) -> faust.App:
    """The Faust app with the worker's broker, store, producer and web settings."""
    return faust.App(
        settings.app_id,
        broker=broker_urls(settings.bootstrap_servers),
        broker_credentials=faust_credentials(settings),
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
        web_bind=settings.web_host,
        web_host=advertised_web_host(settings),
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


def advertised_web_host(settings: Settings) -> str:
    """The host other workers forward ``GET /customers/{key}`` to: the advertised host, else
    the bind address, else (a wildcard bind) this machine's name."""
    if settings.web_advertised_host:
        return settings.web_advertised_host
    host = settings.web_host.strip("[]")
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:
            return socket.gethostname()
    return settings.web_host


def _topics(app: faust.App, settings: Settings) -> dict[str, Any]:
    """The spine's topics, raw bytes in and out (the scored topic is made with the stages)."""
    names = settings.topics
    return {
        "raw": app.topic(*names.raw_topics, **RAW),  # type: ignore[arg-type]
        "resolve": app.topic(names.resolve, partitions=1, **RAW),  # type: ignore[arg-type]
        "interactions": app.topic(names.interactions, **RAW),  # type: ignore[arg-type]
        "deadletter": app.topic(names.deadletter, **RAW),  # type: ignore[arg-type]
        "duplicates": app.topic(names.duplicates, **RAW),  # type: ignore[arg-type]
        "identity": app.topic(names.identity, partitions=1, **RAW),  # type: ignore[arg-type]
        "privacy": app.topic(names.privacy, partitions=1, **RAW),  # type: ignore[arg-type]
        "erasures": app.topic(names.erasures, partitions=1, **RAW),  # type: ignore[arg-type]
    }


def _resolver(app: faust.App, settings: Settings, options: Mapping[str, Any]) -> Resolver:
    """The identity and dedupe core over its four single-partition tables."""

    def table(name: str) -> Any:
        return app.Table(name, partitions=1, key_type=str, options=dict(options))

    return Resolver(
        settings,
        links=table("identity-links"),
        members=table("identity-members"),
        seen_ids=table("dedupe-ids"),
        recent_texts=table("dedupe-texts"),
    )


@dataclass(frozen=True)
class _Wiring:
    """What every stage is registered with."""

    app: faust.App
    settings: Settings
    metrics: Metrics
    watches: OffsetWatches
    writers: dict[Stage, Writer]
    crumbs: Breadcrumbs
    poison: PoisonList

    def stage(self, name: Stage) -> tuple[Writer, StageGuard]:
        """The stage's writer and its liveness guard."""
        return self.writers[name], StageGuard(name, self.crumbs, self.poison)


def _add_stages(
    w: _Wiring, topics: dict[str, Any], resolver: Resolver, options: Mapping[str, Any]
) -> None:
    """Register the agents of the roles this worker runs (``CXSTREAM_AGENTS``)."""
    app, settings, metrics, watches = w.app, w.settings, w.metrics, w.watches
    scored = app.topic(settings.topics.scored, **RAW)  # type: ignore[arg-type]
    roles = settings.agent_roles
    if "standardise" in roles:
        standardise = (topics["raw"], topics["resolve"])
        add_standardise(app, settings, metrics, standardise, w.stage(Stage.STANDARDISE), watches)
    if "resolve" in roles:
        outputs = {
            "resolve": topics["resolve"],
            "interactions": topics["interactions"],
            "duplicates": topics["duplicates"],
            "identity": topics["identity"],
        }
        add_resolve(app, settings, metrics, outputs, resolver, w.stage(Stage.RESOLVE), watches)
        erasure = {
            "privacy": topics["privacy"],
            "identity": topics["identity"],
            "scored": scored,
            "erasures": topics["erasures"],
        }
        add_erasure(app, settings, erasure, resolver, w.writers[Stage.RESOLVE])
    if "score" in roles:
        rules = cached_rules(settings.rules_file)
        label = f"{rules.version}@{rules.fingerprint}"
        scoring = (topics["interactions"], scored)
        add_scoring(app, settings, metrics, scoring, w.writers[Stage.SCORE], watches, label)
    if "workflow" in roles:
        add_workflow(app, settings, metrics, scored, w.stage(Stage.WORKFLOW), options, watches)
    if "trends" in roles:
        add_trends(app, settings, metrics, w.writers[Stage.TRENDS], options)


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


def _add_commit_hold_count(app: faust.App, metrics: Metrics) -> None:
    """``cxstream_commits_held_total`` from the consumer (pipeline/streaming/transport.py)."""

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def count_held_commits(sender: Any, assigned: Any, **_: Any) -> None:
        consumer = app.consumer
        if isinstance(consumer, GenerationSafeConsumer) and consumer.on_commit_held is None:
            consumer.on_commit_held = lambda tp: metrics.commits_held.labels(topic=tp.topic).inc()


def _add_store_memory(app: faust.App, budget: MemoryBudget, metrics: Metrics) -> None:
    """``cxstream_store_memory_bytes`` from the RocksDB budget, every ``STORE_MEMORY_EVERY_S``."""

    @app.timer(STORE_MEMORY_EVERY_S)  # type: ignore[untyped-decorator]
    async def store_memory() -> None:
        for part, used in budget.usage().items():
            metrics.store_memory.labels(part=part).set(used)
