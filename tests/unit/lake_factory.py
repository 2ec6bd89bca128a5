"""Records for the lake and report tests: contract objects as the Kafka records a sink reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel

from pipeline.contracts.records import DeadLetter, DuplicateDrop, SourceRef
from pipeline.contracts.workflow import Alert, Routing
from pipeline.lake.batches import Batch, KafkaRecord, to_row
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import LakeTable


def kafka_records(
    topic: str, models: Iterable[BaseModel | bytes | None], partition: int = 0, first: int = 0
) -> list[KafkaRecord]:
    """The records a consumer would read: one offset per model, from ``first`` on."""
    out = []
    for i, model in enumerate(models):
        value = model.model_dump_json().encode() if isinstance(model, BaseModel) else model
        out.append(KafkaRecord(topic, partition, first + i, 1_764_000_000_000 + i, value))
    return out


def write(store: LakeStore, table: LakeTable, records: list[KafkaRecord]) -> Batch:
    """Write ``records`` of one partition as one batch, the way the sink does."""
    batch = Batch(records[0].topic, records[0].partition, records[0].offset)
    for record in records:
        batch.add(record.offset, to_row(table, record))
    batch.write(store)
    return batch


def alert(
    alert_id: str,
    kind: str,
    opened: datetime,
    *,
    status: str = "opened",
    revision: int = 1,
    resolved_after: timedelta | None = None,
    channel: str = "chat",
) -> Alert:
    """One alert change; ``resolved_after`` makes it the resolution that long after opening."""
    closed = opened + resolved_after if resolved_after is not None else None
    return Alert.model_validate(
        {
            "alert_id": alert_id,
            "type": kind,
            "status": status,
            "revision": revision,
            "customer_key": "cus_1",
            "entity": "customer:cus_1",
            "severity": "medium",
            "confidence": 0.8,
            "reasons": ["test"],
            "evidence": [
                {"interaction_id": f"i-{alert_id}", "channel": channel, "occurred_at": opened}
            ],
            "next_action": "call back",
            "route": Routing(
                queue="general", priority="P3", reason="r", human_only=False, rules_version="t@1"
            ),
            "requires_human": False,
            "auto_action_allowed": True,
            "control_reason": "test",
            "opened_at": opened,
            "updated_at": closed or opened,
            "closed_at": closed,
            "close_reason": "answered" if closed else None,
            "rules_version": "t@1",
        }
    )


def dead_letter(reason: str, failed_at: datetime, offset: int) -> DeadLetter:
    """A standardise dead letter of raw chat record ``offset``."""
    return DeadLetter.model_validate(
        {
            "stage": "standardise",
            "reason_code": reason,
            "reason": "test",
            "error_class": "ValueError",
            "payload_b64": "",
            "payload_bytes": 0,
            "source": SourceRef(topic="cx.raw.chat", partition=0, offset=offset),
            "failed_at": failed_at,
        }
    )


def duplicate(kind: str, dropped_at: datetime, n: int) -> DuplicateDrop:
    """A dropped duplicate."""
    return DuplicateDrop.model_validate(
        {
            "kind": kind,
            "interaction_id": f"dup-{n}",
            "duplicate_of": f"orig-{n}",
            "customer_key": "cus_1",
            "source": SourceRef(topic="cx.raw.chat", partition=0, offset=n),
            "dropped_at": dropped_at,
        }
    )
