"""The workflow agent: cx.internal.scored → routing, alerts, profiles (Faust tables).

::

    cx.internal.scored ──workflow──▶ cx.enriched  (every interaction, with routing)
      ▲   (by customer)     │  ├──▶ cx.alerts    (opened / updated / resolved / expired)
      │                     │  └──▶ cx.profiles  (compacted, one record per change)
      └── timer ticks ◀─────┘  tables: customers, conversations (changelog-backed)

Tables are written only while handling an event of the customer's own partition, so their
changelogs are co-partitioned with the input and ``GET /customers/{key}`` is answered by
whichever worker owns the key (``table_route``). Timers cannot write tables: the timer sends a
*tick* (header ``cx-kind: tick``) keyed by customer to the same topic, and the agent does the
time-driven work (SLA breaches, expiry, idle conversations) when it reads it. The resolve
stage sends *erasure orders* the same way (header ``cx-kind: erase``, keyed by the customer
key): the agent removes the key's state (:mod:`pipeline.workflow.erasure`), tombstones its
profile and writes an audit record to ``cx.erasures``.

Alerts are exact under at-least-once delivery (docs/reliability.md): when a message changes an
alert, the agent waits for the broker to acknowledge the change before it writes the customer's
state, and an :class:`~pipeline.workflow.ledger.AlertLedger` read from the tail of ``cx.alerts``
after every rebalance keeps a replayed message from sending a change that is already there.

Thin: :class:`WorkflowStage` moves records between the topics and the pure
:class:`~pipeline.workflow.engine.Workflow`; table reads and writes and the timer's deadlines
are :mod:`pipeline.workflow.tables`, the customer-pulse metrics :mod:`pipeline.workflow.pulse`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from pipeline.contracts.privacy import ErasureAudit, ErasureOrder
from pipeline.contracts.records import Enriched, ReasonCode
from pipeline.contracts.workflow import Alert, Profile
from pipeline.metrics import Metrics
from pipeline.offers.policy import load_policy
from pipeline.replies.library import load_templates
from pipeline.risk.model import load_model
from pipeline.settings import Settings
from pipeline.streaming.delivery import Output, Pending, Source, Writer, run_stage
from pipeline.streaming.liveness import StageGuard
from pipeline.streaming.offset_watch import OffsetWatch, OffsetWatches
from pipeline.streaming.security import client_config
from pipeline.streaming.web_auth import require_token
from pipeline.workflow.config import cached_rules
from pipeline.workflow.engine import EventOutcome, Workflow
from pipeline.workflow.erasure import erase_customer
from pipeline.workflow.ledger import AlertLedger, Change, read_topic_tail
from pipeline.workflow.pulse import count_pulse, count_risk
from pipeline.workflow.state import conversation_of, profile_of
from pipeline.workflow.tables import Deadlines, WorkflowTables

log = logging.getLogger("cxstream.workflow")

RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
TICK_HEADER = "cx-kind"
ERASE = b"erase"
"""``cx-kind`` of an erasure order (resolve → workflow, keyed by the customer key)."""
TABLE_SIZE_EVERY_S = 15.0
LEDGER_RETRY_S = 2.0


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class PoisonedInput(RuntimeError):
    """The supervisor found this input hangs the workflow: it goes on unrouted."""


def _kind(event: EventT[Any]) -> bytes | None:
    """The ``cx-kind`` header: ``tick`` (timer), ``erase`` (erasure order) or None (event)."""
    kind = (event.headers or {}).get(TICK_HEADER)
    return None if kind is None else _as_bytes(kind)


def _is_tick(event: EventT[Any]) -> bool:
    return _kind(event) == b"tick"


class AlertSender:
    """Alert changes on their way to ``cx.alerts``, each exactly once (module docstring)."""

    def __init__(
        self, writer: Writer, topic: Any, topic_name: str, ledger: AlertLedger, metrics: Metrics
    ) -> None:
        self.writer = writer
        self.topic = topic
        self.topic_name = topic_name
        self.ledger = ledger
        self.metrics = metrics

    async def ensure_ledger(self) -> None:
        """Load the ledger after start and after each rebalance; retry while the broker is away."""
        while not self.ledger.loaded:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.ledger.load)
            except Exception as exc:  # the broker is unreachable: alerts must wait for it
                log.warning("alert ledger: cannot read %s yet (%s); retrying", self.topic_name, exc)
                await asyncio.sleep(LEDGER_RETRY_S)

    async def send(
        self, key: str, changes: list[Alert], suppressed: int
    ) -> list[tuple[Change, Pending]]:
        """Send the changes not on the topic yet; return them with their deliveries."""
        if suppressed:
            self.metrics.alerts_suppressed.inc(suppressed)
        if not changes:
            return []
        await self.ensure_ledger()
        pending: list[tuple[Change, Pending]] = []
        for alert in changes:
            change = (alert.alert_id, alert.revision)
            if change in self.ledger:
                log.info(
                    "alert %s revision %d is already on %s (replayed input): not sent again",
                    *change,
                    self.topic_name,
                )
                self.metrics.alerts_replayed.inc()
                continue
            counter = self.metrics.alerts.labels(
                type=alert.type, severity=alert.severity, status=alert.status
            )
            body = alert.model_dump_json().encode()
            sent = await self.writer.send(Output(self.topic, key.encode(), body, None, counter.inc))
            pending.append((change, sent))
        return pending

    async def acknowledged(self, pending: list[tuple[Change, Pending]]) -> bool:
        """Wait until the broker holds every change (the state may only be written after);
        False if one can never be written (the input then becomes a dead letter)."""
        for change, sent in pending:
            if await self.writer.written(sent) is not None:
                return False
            self.ledger.add(change)
        return True


class WorkflowStage:
    """One worker's workflow stage: reads a scored interaction or a tick, runs the pure
    :class:`~pipeline.workflow.engine.Workflow` on the tables' state, sends what it produced
    and writes the new state in the order the module docstring gives."""

    def __init__(
        self,
        workflow: Workflow,
        tables: WorkflowTables,
        alerts: AlertSender,
        stage: tuple[Writer, StageGuard],
        topics: tuple[Any, Any, Any, Any],
        metrics: Metrics,
        watch: OffsetWatch,
    ) -> None:
        self.workflow = workflow
        self.tables = tables
        self.alerts = alerts
        self.writer, self.guard = stage
        self.scored, self.enriched, self.profiles, self.erasures = topics
        self.metrics = metrics
        self.watch = watch

    async def decide(self, event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """One tick or scored interaction; a bug makes it an internal_error dead letter."""
        source = Source.of(event)
        self.watch.saw(source.topic, source.partition, source.offset)
        try:
            if _is_tick(event):
                return source, await self.on_tick(event)
            if _kind(event) == ERASE:
                return source, await self.on_erase(source)
            return await self.on_event(event)
        except Exception as exc:
            log.exception("workflow agent failed at %s", source.where)
            code = ReasonCode.INTERNAL_ERROR
            return source, [await self.writer.reject(source, code, str(exc), type(exc).__name__)]

    async def on_event(self, event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """Route, alert and profile one scored interaction; its source and pending outputs."""
        source = Source.of(event)
        partition = source.partition  # of cx.internal.scored: the offer budget's key
        body = source.value
        try:
            item = Enriched.model_validate_json(body)
        except ValueError as exc:
            code = ReasonCode.SCHEMA_VIOLATION
            return source, [await self.writer.reject(source, code, str(exc), type(exc).__name__)]
        source = source.from_raw(item.source)
        key = item.customer_key or item.interaction_id
        self.metrics.events_in.labels(stage="workflow", channel=item.channel).inc()
        conv_key = f"{key}/{conversation_of(item)}"
        out_body, outcome = self._run_rules(source, item, (key, conv_key), body, partition)
        out = self.metrics.events_out.labels(stage="workflow", channel=item.channel)
        sent = [
            await self.writer.send(Output(self.enriched, key.encode(), out_body, None, out.inc))
        ]
        self.metrics.observe_latency(item.channel, item.occurred_at, item.received_at)
        if outcome is None:
            self.metrics.processing_errors.labels(stage="workflow").inc()
            return source, sent
        if outcome.duplicate:
            return source, sent
        count_pulse(self.metrics, outcome.enriched, outcome.repeat_contact)
        count_risk(self.metrics, outcome.enriched, outcome.customer.risk, outcome.alerts)
        pending = await self.alerts.send(key, outcome.alerts, outcome.suppressed)
        sent += [p for _, p in pending]
        if outcome.profile is not None:
            sent.append(await self._send_profile(key, outcome.profile))
        if outcome.profile_withdrawn:  # consent to profiling withdrawn: forget the profile
            sent.append(await self.writer.send(Output(self.profiles, key.encode(), None)))
        # the state that records an alert change follows the change itself
        if outcome.alerts and await self.alerts.acknowledged(pending):
            self.tables.write_event_state(key, conv_key, outcome, partition)
        return source, sent

    def _run_rules(
        self, source: Source, item: Enriched, keys: tuple[str, str], body: bytes, partition: int
    ) -> tuple[bytes, EventOutcome | None]:
        """The enriched body to emit and the outcome; on a bug (or a poisoned input) the
        input's own body and None: the interaction goes on unrouted rather than being lost.
        State without an alert change is written here; with one, only after its delivery."""
        key, conv_key = keys
        try:
            if (verdict := self.guard.verdict(*source.place)) is not None:
                raise PoisonedInput(verdict.reason)
            conv = self.tables.conversation(conv_key)
            with self.guard.deciding(*source.place):
                budget = self.tables.budget(partition)
                result = self.workflow.on_event(item, self.tables.customer(key), conv, budget)
            if not result.duplicate and not result.alerts:
                self.tables.write_event_state(key, conv_key, result, partition)
            return result.enriched.model_dump_json().encode(), result
        except Exception:  # a bug must not lose the interaction: it goes on unrouted
            log.exception("workflow failed on %s", item.interaction_id)
            return body, None

    async def on_tick(self, event: EventT[Any]) -> list[Pending]:
        """The time-driven work of one customer: SLA breaches, expiry, idle conversations."""
        key = _as_bytes(event.message.key).decode()
        state = self.tables.customer(key)
        if state is None:
            self.tables.deadlines.forget(key)
            return []
        convs = self.tables.waiting_conversations(key, state)
        outcome = self.workflow.on_tick(state, convs, datetime.now(UTC))
        pending = await self.alerts.send(key, outcome.alerts, outcome.suppressed)
        sent = [p for _, p in pending]
        if outcome.profile is not None:
            sent.append(await self._send_profile(key, outcome.profile))
        if not await self.alerts.acknowledged(pending):
            return sent  # the tick becomes a dead letter; the next tick tries again
        self.tables.write_tick_state(key, outcome)
        return sent

    async def on_erase(self, source: Source) -> list[Pending]:
        """An erasure order for one customer key (from the resolve stage): remove its state,
        tombstone its profile, write the audit record; a malformed order is a dead letter."""
        try:
            order = ErasureOrder.model_validate_json(source.value)
        except ValueError as exc:
            reason = f"erasure order on {source.topic}: {exc}"
            return [await self.writer.reject(source, ReasonCode.SCHEMA_VIOLATION, reason, "")]
        key = order.customer_key
        if source.key != key.encode():  # its state lives on the partition of its own key
            reason = "erasure order not keyed by its customer_key"
            return [await self.writer.reject(source, ReasonCode.SCHEMA_VIOLATION, reason, "")]
        erased = erase_customer(self.tables.customers, self.tables.conversations, key)
        self.tables.deadlines.forget(key)
        audit = ErasureAudit(
            request_id=order.request_id,
            stage="workflow",
            subject_kind=order.subject_kind,
            found=erased.found,
            removed=erased.removed,
            requested_at=order.requested_at,
            erased_at=datetime.now(UTC),
            summary=erased.summary(),
        )
        log.info("erasure %s: %s", order.request_id, audit.summary)
        return [
            await self.writer.send(Output(self.profiles, key.encode(), None)),
            await self.writer.send(
                Output(self.erasures, order.request_id.encode(), audit.model_dump_json().encode())
            ),
        ]

    async def _send_profile(self, key: str, profile: Profile) -> Pending:
        body = profile.model_dump_json().encode()
        return await self.writer.send(Output(self.profiles, key.encode(), body))

    async def send_due_ticks(self) -> None:
        """Send a tick to every customer whose next deadline has passed (rebuilding the
        deadlines from the table first after start or a rebalance)."""
        now = time.time()
        deadlines = self.tables.deadlines
        if deadlines.rescan_due:  # the table was just recovered: this worker's keys may change
            count = deadlines.rescan(self.tables.customers, self.workflow.rules)
            log.info("workflow timer: %d deadlines from the customers table", count)
        for key in deadlines.due(now):
            deadlines.forget(key)
            await self.scored.send(
                key=key.encode(),
                value=json.dumps({"tick": now}).encode(),
                headers={TICK_HEADER: b"tick"},
            )

    def rebalanced(self) -> None:
        """After recovery the timer rebuilds its deadlines from the table (one full scan) and
        the alert ledger is read again (this worker may now own other customers)."""
        self.tables.deadlines.rebalanced()
        self.alerts.ledger.invalidate()


def add_workflow(
    app: faust.App,
    settings: Settings,
    metrics: Metrics,
    scored: Any,
    stage: tuple[Writer, StageGuard],
    table_options: Mapping[str, Any],
    watches: OffsetWatches,
) -> None:
    """Register the workflow agent, its tables, the tick timer and ``GET /customers/{key}``."""
    rules = cached_rules(settings.rules_file)
    risk = load_model(settings.risk_model)
    offers = load_policy(settings.offer_policy) if settings.offer_policy else None
    templates = load_templates(settings.reply_templates)
    workflow = Workflow(rules, risk, offers, settings.partitions, templates)
    writer, _ = stage
    names = settings.topics
    enriched = app.topic(names.enriched, **RAW)
    alerts = app.topic(names.alerts, **RAW)
    profiles = app.topic(names.profiles, **RAW)
    erasures = app.topic(names.erasures, partitions=1, **RAW)
    # bytes → bytes (Faust picks the raw codec from the types): the changelog key is the customer
    # key's own bytes, so table_route's partitioner agrees with the partition the input was
    # produced to; values are pydantic's JSON, validated in Rust on read, no dict round trip.
    customers = app.Table(
        "customers", key_type=bytes, value_type=bytes, options=dict(table_options)
    )
    conversations = app.Table(
        "conversations", key_type=bytes, value_type=bytes, options=dict(table_options)
    )
    log.info("workflow rules %s@%s (%s)", rules.version, rules.fingerprint, settings.rules_file)
    log.info("risk model %s (%s)", risk.version, settings.risk_model or "prior weights")
    budgets = (
        app.Table("offer_budget", key_type=bytes, value_type=bytes, options=dict(table_options))
        if offers
        else None
    )
    if offers:
        log.info("offer policy %s (%s)", offers.label, settings.offer_policy)
        metrics.offer_daily_budget.set(offers.daily_budget)
    tables = WorkflowTables(customers, conversations, Deadlines(), metrics, budgets)
    ledger = AlertLedger(
        lambda: read_topic_tail(
            client_config(settings), names.alerts, settings.alert_ledger_records
        ),
        capacity=settings.alert_ledger_records * settings.partitions,
    )
    sender = AlertSender(writer, alerts, names.alerts, ledger, metrics)
    outputs = (scored, enriched, profiles, erasures)
    watch = watches.stage("workflow")
    decider = WorkflowStage(workflow, tables, sender, stage, outputs, metrics, watch)
    _register(app, settings, metrics, decider, customers)


def _register(
    app: faust.App, settings: Settings, metrics: Metrics, stage: WorkflowStage, customers: Any
) -> None:
    """The agent, the tick and table-size timers, the rebalance hook and the profile page
    (routed to the worker that owns the key of the ``customers`` table)."""

    @app.agent(stage.scored, name="workflow")
    async def workflow_agent(stream: faust.StreamT[bytes]) -> None:
        """Route, alert and profile each scored interaction; handle timer ticks. An input is
        committed only after its outputs are on the broker (pipeline/streaming/delivery.py)."""
        await run_stage(stream, stage.writer, stage.decide, settings, tables=True)

    @app.timer(settings.workflow_tick_s)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        """Send a tick to every customer whose next deadline has passed."""
        await stage.send_due_ticks()

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def rescan_after_rebalance(sender: Any, **_: Any) -> None:
        """Deadlines and the alert ledger are rebuilt (this worker may own other customers)."""
        stage.rebalanced()

    @app.timer(TABLE_SIZE_EVERY_S)  # type: ignore[untyped-decorator]
    async def table_sizes() -> None:
        """State table sizes for ``cxstream_table_keys`` (local partitions of this worker)."""
        for name, table in app.tables.items():
            metrics.table_keys.labels(table=name).set(sum(1 for _ in table))

    @app.page("/customers/{key}")
    @require_token(settings.web_bearer_token())  # before routing: every hop checks it
    @app.table_route(table=customers, match_info="key")
    async def customer_profile(web: Any, request: Any, key: str) -> Any:
        """The live profile of one customer, from the worker that owns its partition."""
        state = stage.tables.customer(key)
        if state is None or not state.profiling:  # never seen, erased, or refused profiling
            return web.json({"error": "no profile for this customer key"}, status=404)
        return web.json(profile_of(state).model_dump(mode="json"))

    del workflow_agent, tick, customer_profile, table_sizes, rescan_after_rebalance
