"""The resolve agent: the resolve topic → interactions keyed by customer, duplicate records,
identity merges, or a dead letter; never raises.

Thin: it moves records between Kafka and :class:`~pipeline.resolve.resolver.Resolver` (whose
tables are Faust tables here) through the stage's writer and liveness guard.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from pipeline.contracts.privacy import ErasureAudit, ErasureOrder, ErasureRequest
from pipeline.contracts.records import ReasonCode, Standardised
from pipeline.contracts.table_values import TableValueTooLarge
from pipeline.metrics import Metrics
from pipeline.privacy.pseudonym import Pseudonymiser
from pipeline.resolve.erasure import IdentityEraser, refusal, subject_identifier
from pipeline.resolve.identity import IdentifierTooLong
from pipeline.resolve.resolver import Outcome, Resolver
from pipeline.settings import Settings
from pipeline.streaming.delivery import Output, Pending, Source, Writer, run_stage
from pipeline.streaming.liveness import StageGuard
from pipeline.streaming.offset_watch import OffsetWatches

log = logging.getLogger("cxstream")


def _outputs(
    outcome: Outcome, topics: dict[str, Any], metrics: Metrics, channel: str
) -> list[Output]:
    """The records one decision writes: merges, a duplicate record, the interaction."""
    outputs = [
        Output(topics["identity"], link.merged_key.encode(), link.model_dump_json().encode())
        for link in outcome.merges
    ]
    if outcome.duplicate is not None:
        dup = outcome.duplicate
        counted = metrics.duplicates.labels(kind=dup.kind.value).inc
        key = (dup.customer_key or dup.interaction_id).encode()
        outputs.append(
            Output(topics["duplicates"], key, dup.model_dump_json().encode(), None, counted)
        )
    if outcome.interaction is not None:
        ix = outcome.interaction
        assert ix.customer_key is not None
        counted = metrics.events_out.labels(stage="resolve", channel=channel).inc
        body = ix.model_dump_json().encode()
        outputs.append(
            Output(topics["interactions"], ix.customer_key.encode(), body, None, counted)
        )
    return outputs


def add_resolve(
    app: faust.App,
    settings: Settings,
    metrics: Metrics,
    topics: dict[str, Any],
    resolver: Resolver,
    stage: tuple[Writer, StageGuard],
    watches: OffsetWatches,
) -> None:
    """Register the agent on ``topics["resolve"]``; it writes to ``interactions``,
    ``duplicates`` and ``identity``."""
    writer, guard = stage
    watch = watches.stage("resolve")

    async def reject(source: Source, code: ReasonCode, exc: Exception) -> list[Pending]:
        return [await writer.reject(source, code, str(exc), type(exc).__name__)]

    async def decide(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        """Dedupe + identity of one standardised record; its outputs on their way."""
        source = Source.of(event)
        watch.saw(source.topic, source.partition, source.offset)
        try:
            item = Standardised.model_validate_json(source.value)
            source = source.from_raw(item.interaction.source)
            channel = item.interaction.channel
            metrics.events_in.labels(stage="resolve", channel=channel).inc()
            if (verdict := guard.verdict(*source.place)) is not None:
                return source, [await writer.reject(source, verdict.code, verdict.reason, "")]
            with guard.deciding(*source.place):
                outcome = resolver.process(item, time.time())
        except IdentifierTooLong as exc:
            return source, await reject(source, ReasonCode.SCHEMA_VIOLATION, exc)
        except TableValueTooLarge as exc:
            return source, await reject(source, ReasonCode.STATE_TOO_LARGE, exc)
        except Exception as exc:
            log.exception("resolve failed at %s", source.where)
            return source, await reject(source, ReasonCode.INTERNAL_ERROR, exc)
        if outcome.evicted:
            metrics.identity_evictions.inc(outcome.evicted)
        outputs = _outputs(outcome, topics, metrics, channel)
        return source, [await writer.send(output) for output in outputs]

    async def resolve(stream: faust.StreamT[bytes]) -> None:
        """Dedupe + identity; emits interactions keyed by customer, duplicates, merges."""
        await run_stage(stream, writer, decide, settings, tables=True)

    app.agent(topics["resolve"], name="resolve")(resolve)


ERASE_HEADERS = {"cx-kind": b"erase"}
"""Marks an erasure order among the workflow stage's inputs (pipeline/workflow/agent.py)."""


def _erasure_outputs(
    request: ErasureRequest, eraser: IdentityEraser, subject: str, topics: dict[str, Any]
) -> list[Output]:
    """Erase one person here; the orders for the workflow stage, the ``cx.identity``
    tombstones and the audit record of this stage."""
    kind = request.subject[0]
    erased = eraser.erase(subject, is_key=kind == "customer_key")
    keys = erased.customer_keys
    erased.removed["identity_tombstones"] = len(keys)
    outputs = [Output(topics["identity"], key.encode(), None) for key in keys]
    for key in keys:
        order = ErasureOrder(
            request_id=request.request_id,
            customer_key=key,
            subject_kind=kind,
            requested_at=request.requested_at,
        )
        body = order.model_dump_json().encode()
        outputs.append(Output(topics["scored"], key.encode(), body, ERASE_HEADERS))
    audit = ErasureAudit(
        request_id=request.request_id,
        stage="resolve",
        subject_kind=kind,
        found=erased.found,
        removed=erased.removed,
        customer_keys=len(keys),
        requested_at=request.requested_at,
        erased_at=datetime.now(UTC),
        summary=erased.summary(),
    )
    log.info("erasure %s: %s", request.request_id, audit.summary)
    body = audit.model_dump_json().encode()
    outputs.append(Output(topics["erasures"], request.request_id.encode(), body))
    return outputs


def add_erasure(
    app: faust.App,
    settings: Settings,
    topics: dict[str, Any],
    resolver: Resolver,
    writer: Writer,
) -> None:
    """Register the agent on ``topics["privacy"]`` (one partition, like the identity tables it
    changes): erasure requests → identity and dedupe state removed, ``cx.identity``
    tombstones, one erasure order per customer key to the workflow stage, an audit record on
    ``erasures``. A malformed request is a dead letter; nothing here raises."""
    eraser = IdentityEraser(
        resolver.identity.links, resolver.identity.members, resolver.dedupe.recent_texts
    )
    key = settings.pseudonymise_key
    pseudonym = Pseudonymiser(key).pseudonym if key is not None else None

    async def decide(event: EventT[Any]) -> tuple[Source, list[Pending]]:
        source = Source.of(event)
        try:
            request = ErasureRequest.model_validate_json(source.value)
            subject = subject_identifier(request, pseudonym)
        except ValueError as exc:  # pydantic's ValidationError and MalformedErasure
            code, reason = refusal(source.value, exc)
            return source, [await writer.reject(source, code, reason, type(exc).__name__)]
        try:
            outputs = _erasure_outputs(request, eraser, subject, topics)
        except Exception as exc:
            log.exception("erasure failed at %s", source.where)
            code = ReasonCode.INTERNAL_ERROR
            return source, [await writer.reject(source, code, str(exc), type(exc).__name__)]
        return source, [await writer.send(output) for output in outputs]

    async def erase(stream: faust.StreamT[bytes]) -> None:
        """Forget customers: erasure requests from ``cx.privacy``."""
        await run_stage(stream, writer, decide, settings, tables=True)

    app.agent(topics["privacy"], name="erase")(erase)
