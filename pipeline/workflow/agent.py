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
time-driven work (SLA breaches, expiry, idle conversations) when it reads it.

Alerts are exact under at-least-once delivery (docs/reliability.md): when a message changes an
alert, the agent waits for the broker to acknowledge the change before it writes the customer's
state, and an :class:`~pipeline.workflow.ledger.AlertLedger` read from the tail of ``cx.alerts``
after every rebalance keeps a replayed message from sending a change that is already there.
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

from pipeline.contracts.records import Enriched, ReasonCode
from pipeline.contracts.table_values import TableValueTooLarge, check_table_value
from pipeline.contracts.workflow import Alert
from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.streaming.delivery import Output, Pending, Source, Writer, run_stage
from pipeline.streaming.liveness import StageGuard
from pipeline.streaming.offset_watch import OffsetWatches
from pipeline.workflow.config import cached_rules
from pipeline.workflow.engine import EventOutcome, Workflow
from pipeline.workflow.ledger import AlertLedger, Change, read_topic_tail
from pipeline.workflow.rules import next_deadline
from pipeline.workflow.state import (
    ConversationState,
    CustomerState,
    conversation_of,
    profile_of,
)

log = logging.getLogger("cxstream.workflow")

RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
TICK_HEADER = "cx-kind"
TABLE_SIZE_EVERY_S = 15.0
LEDGER_RETRY_S = 2.0


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class PoisonedInput(RuntimeError):
    """The supervisor found this input hangs the workflow: it goes on unrouted."""


def _is_tick(event: EventT[Any]) -> bool:
    headers = event.headers or {}
    kind = headers.get(TICK_HEADER)
    return kind is not None and _as_bytes(kind) == b"tick"


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
    workflow = Workflow(rules)
    writer, guard = stage
    names = settings.topics
    enriched = app.topic(names.enriched, **RAW)
    alerts = app.topic(names.alerts, **RAW)
    profiles = app.topic(names.profiles, **RAW)
    # bytes → bytes (Faust picks the raw codec from the types): the changelog key is the customer
    # key's own bytes, so table_route's partitioner agrees with the partition the input was
    # produced to; values are pydantic's JSON, validated in Rust on read, no dict round trip.
    customers = app.Table(
        "customers", key_type=bytes, value_type=bytes, options=dict(table_options)
    )
    conversations = app.Table(
        "conversations", key_type=bytes, value_type=bytes, options=dict(table_options)
    )
    deadlines: dict[str, float] = {}
    scan = {"due": True}  # rebuild deadlines from the table at start and after each rebalance
    log.info("workflow rules %s@%s (%s)", rules.version, rules.fingerprint, settings.rules_file)

    def remember(key: str, deadline: datetime | None) -> None:
        if deadline is None:
            deadlines.pop(key, None)
        else:
            deadlines[key] = deadline.timestamp()

    def load_customer(key: str) -> CustomerState | None:
        raw = customers.get(key.encode())
        return CustomerState.model_validate_json(raw) if raw else None

    def count_pulse(item: Enriched, repeat_contact: bool) -> None:
        """The customer-pulse metrics of one customer message."""
        if item.author_role != "customer":
            return
        if repeat_contact:
            metrics.repeat_contacts.labels(channel=item.channel).inc()
        s = item.scores
        if s is not None and s.sentiment is not None:
            metrics.sentiment.labels(channel=item.channel, sentiment=s.sentiment.label).inc()
        if s is not None and s.urgency is not None:
            metrics.urgency.labels(channel=item.channel, level=s.urgency.level).inc()
        if s is not None and s.intent is not None:
            metrics.intent(s.intent.label)
        if item.routing is not None:
            r = item.routing
            metrics.routed.labels(queue=r.queue, priority=r.priority).inc()

    ledger = AlertLedger(
        lambda: read_topic_tail(
            settings.bootstrap_servers, names.alerts, settings.alert_ledger_records
        ),
        capacity=settings.alert_ledger_records * settings.partitions,
    )

    async def ensure_ledger() -> None:
        """Load the ledger after start and after each rebalance; retry while the broker is away."""
        while not ledger.loaded:
            try:
                await asyncio.get_running_loop().run_in_executor(None, ledger.load)
            except Exception as exc:  # the broker is unreachable: alerts must wait for it
                log.warning("alert ledger: cannot read %s yet (%s); retrying", names.alerts, exc)
                await asyncio.sleep(LEDGER_RETRY_S)

    async def send_alerts(
        key: str, changes: list[Alert], suppressed: int
    ) -> list[tuple[Change, Pending]]:
        """Send the changes not on the topic yet; return them with their deliveries."""
        if suppressed:
            metrics.alerts_suppressed.inc(suppressed)
        if not changes:
            return []
        await ensure_ledger()
        pending: list[tuple[Change, Pending]] = []
        for alert in changes:
            change = (alert.alert_id, alert.revision)
            if change in ledger:
                log.info(
                    "alert %s revision %d is already on %s (replayed input): not sent again",
                    *change,
                    names.alerts,
                )
                metrics.alerts_replayed.inc()
                continue
            counter = metrics.alerts.labels(
                type=alert.type, severity=alert.severity, status=alert.status
            )
            sent = await writer.send(
                Output(alerts, key.encode(), alert.model_dump_json().encode(), None, counter.inc)
            )
            pending.append((change, sent))
        return pending

    async def acknowledged(pending: list[tuple[Change, Pending]]) -> bool:
        """Wait until the broker holds every change (the state may only be written after);
        False if one can never be written (the input then becomes a dead letter)."""
        for change, sent in pending:
            if await writer.written(sent) is not None:
                return False
            ledger.add(change)
        return True

    def write_state(key: str, conv_key: str, outcome: EventOutcome) -> None:
        """Write the customer's and the conversation's new state; both are checked against
        the table value bound first, and if one is over it neither is written (the previous
        state stays, the event has gone on; pipeline/contracts/table_values.py)."""
        customer = outcome.customer.model_dump_json().encode()
        kept = conv_key.removeprefix(f"{key}/") in outcome.customer.conversations
        conversation = (
            outcome.conversation.model_dump_json().encode()
            if outcome.conversation is not None and kept  # a late, already-trimmed one is not
            else None
        )
        try:
            check_table_value("customers", key.encode(), customer)
            if conversation is not None:
                check_table_value("conversations", conv_key.encode(), conversation)
        except TableValueTooLarge as exc:
            log.error("workflow state of %s not written: %s", key, exc)
            metrics.processing_errors.labels(stage="workflow").inc()
            return
        customers[key.encode()] = customer
        if conversation is not None:
            conversations[conv_key.encode()] = conversation
        for name in outcome.dropped_conversations:
            conversations.pop(f"{key}/{name}".encode(), None)
        remember(key, outcome.deadline)

    async def on_event(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """Route, alert and profile one scored interaction; its source and pending outputs."""
        source = Source.of(event)
        body = source.value
        try:
            item = Enriched.model_validate_json(body)
        except ValueError as exc:
            code = ReasonCode.SCHEMA_VIOLATION
            return source, [await writer.reject(source, code, str(exc), type(exc).__name__)]
        source = source.from_raw(item.source)
        key = item.customer_key or item.interaction_id
        metrics.events_in.labels(stage="workflow", channel=item.channel).inc()
        out_body = body
        conv_key = f"{key}/{conversation_of(item)}"
        try:
            if (verdict := guard.verdict(*source.place)) is not None:
                raise PoisonedInput(verdict.reason)
            raw_conv = conversations.get(conv_key.encode())
            conv = ConversationState.model_validate_json(raw_conv) if raw_conv else None
            with guard.deciding(*source.place):
                result = workflow.on_event(item, load_customer(key), conv)
            if not result.duplicate and not result.alerts:
                write_state(key, conv_key, result)
            out_body = result.enriched.model_dump_json().encode()
            outcome: EventOutcome | None = result
        except Exception:  # a bug must not lose the interaction: it goes on unrouted
            log.exception("workflow failed on %s", item.interaction_id)
            outcome = None
        out = metrics.events_out.labels(stage="workflow", channel=item.channel)
        sent = [await writer.send(Output(enriched, key.encode(), out_body, None, out.inc))]
        metrics.observe_latency(item.channel, item.occurred_at, item.received_at)
        if outcome is None:
            metrics.processing_errors.labels(stage="workflow").inc()
            return source, sent
        if outcome.duplicate:
            return source, sent
        count_pulse(outcome.enriched, outcome.repeat_contact)
        pending = await send_alerts(key, outcome.alerts, outcome.suppressed)
        sent += [p for _, p in pending]
        if outcome.profile is not None:
            profile = outcome.profile.model_dump_json().encode()
            sent.append(await writer.send(Output(profiles, key.encode(), profile)))
        # the state that records an alert change follows the change itself
        if outcome.alerts and await acknowledged(pending):
            write_state(key, conv_key, outcome)
        return source, sent

    async def on_tick(event: EventT[Any]) -> list[Pending]:
        key = _as_bytes(event.message.key).decode()
        state = load_customer(key)
        if state is None:
            deadlines.pop(key, None)
            return []
        convs: dict[str, ConversationState] = {}
        for name in state.waiting:
            raw = conversations.get(f"{key}/{name}".encode())
            if raw:
                convs[name] = ConversationState.model_validate_json(raw)
        outcome = workflow.on_tick(state, convs, datetime.now(UTC))
        pending = await send_alerts(key, outcome.alerts, outcome.suppressed)
        sent = [p for _, p in pending]
        if outcome.profile is not None:
            profile = outcome.profile.model_dump_json().encode()
            sent.append(await writer.send(Output(profiles, key.encode(), profile)))
        if not await acknowledged(pending):
            return sent  # the tick becomes a dead letter; the next tick tries again
        if outcome.alerts or outcome.idle_conversations or outcome.profile is not None:
            customers[key.encode()] = outcome.customer.model_dump_json().encode()
        for name in outcome.idle_conversations:
            conversations.pop(f"{key}/{name}".encode(), None)
        remember(key, outcome.deadline)
        return sent

    watch = watches.stage("workflow")

    async def decide(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """One tick or scored interaction; a bug makes it an internal_error dead letter."""
        source = Source.of(event)
        watch.saw(source.topic, source.partition, source.offset)
        try:
            if _is_tick(event):
                return source, await on_tick(event)
            return await on_event(event)
        except Exception as exc:
            log.exception("workflow agent failed at %s", source.where)
            code = ReasonCode.INTERNAL_ERROR
            return source, [await writer.reject(source, code, str(exc), type(exc).__name__)]

    @app.agent(scored, name="workflow")
    async def workflow_agent(stream: faust.StreamT[bytes]) -> None:
        """Route, alert and profile each scored interaction; handle timer ticks. An input is
        committed only after its outputs are on the broker (pipeline/streaming/delivery.py)."""
        await run_stage(
            stream,
            writer,
            decide,
            max_events=settings.stage_batch_size,
            within_s=settings.stage_batch_wait_s,
            tables=True,
        )

    @app.timer(settings.workflow_tick_s)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        """Send a tick to every customer whose next deadline has passed."""
        now = time.time()
        if scan["due"]:  # the table was just recovered: this worker's keys may have changed
            scan["due"] = False
            deadlines.clear()
            for raw_key, raw in list(customers.items()):
                key = raw_key.decode()
                try:
                    state = CustomerState.model_validate_json(raw)
                except ValueError:
                    continue
                remember(key, next_deadline(state, rules))
            log.info("workflow timer: %d deadlines from the customers table", len(deadlines))
        due = [key for key, at in deadlines.items() if at <= now]
        for key in due:
            deadlines.pop(key, None)
            await scored.send(
                key=key.encode(),
                value=json.dumps({"tick": now}).encode(),
                headers={TICK_HEADER: b"tick"},
            )

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def rescan_after_rebalance(sender: Any, **_: Any) -> None:
        """After recovery the timer rebuilds its deadlines from the table (one full scan) and
        the alert ledger is read again (this worker may now own other customers)."""
        scan["due"] = True
        ledger.invalidate()

    @app.timer(TABLE_SIZE_EVERY_S)  # type: ignore[untyped-decorator]
    async def table_sizes() -> None:
        """State table sizes for ``cxstream_table_keys`` (local partitions of this worker)."""
        for name, table in app.tables.items():
            metrics.table_keys.labels(table=name).set(sum(1 for _ in table))

    @app.page("/customers/{key}")
    @app.table_route(table=customers, match_info="key")
    async def customer_profile(web: Any, request: Any, key: str) -> Any:
        """The live profile of one customer, from the worker that owns its partition."""
        state = load_customer(key)
        if state is None:
            return web.json({"error": f"no profile for customer key {key!r}"}, status=404)
        return web.json(profile_of(state).model_dump(mode="json"))

    del workflow_agent, tick, customer_profile, table_sizes, rescan_after_rebalance
