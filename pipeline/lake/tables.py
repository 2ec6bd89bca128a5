"""Which topics the lake keeps, as which tables, partitioned how, and each record's key.

A table is one topic's records (``enriched`` ← ``cx.enriched``). Rows are partitioned
Hive-style by the UTC date of the record's own time (event time for interactions, the change
for alerts) and, for interactions, by channel: ``enriched/date=2026-12-07/channel=chat/``.

Exactly once per Kafka record: every offset of a topic is one row (see ``pipeline.lake.sink``).
A record the pipeline emitted twice at two offsets (an at-least-once replay of the worker) is
two rows with the same ``_record_key``; queries that count business records take one row per
key (``pipeline.report.lake_views`` does, and the README shows how).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from pipeline.contracts.records import DeadLetter, DuplicateDrop, Enriched
from pipeline.contracts.workflow import Alert
from pipeline.lake.schema import META_FIELDS, lake_schema
from pipeline.topics import TopicNames

REJECTED = "rejected"
"""The table of records that are not their topic's contract (kept whole, with the error)."""


@dataclass(frozen=True)
class LakeTable:
    """One topic's records in the lake."""

    name: str
    model: type[BaseModel]
    topic_of: Callable[[TopicNames], str]
    time_of: Callable[[Any], datetime]
    record_key: Callable[[Any], str]
    channel_of: Callable[[Any], str] | None = None

    @property
    def schema(self) -> pa.Schema:
        """The table's Arrow schema (contract fields + Kafka columns)."""
        return lake_schema(self.model)

    def partition_dir(self, record: BaseModel) -> str:
        """The Hive partition path of one record, e.g. ``date=2026-12-07/channel=chat``."""
        path = f"date={self.time_of(record).astimezone(UTC).date().isoformat()}"
        if self.channel_of is not None:
            path += f"/channel={self.channel_of(record)}"
        return path


TABLES: tuple[LakeTable, ...] = (
    LakeTable(
        "enriched",
        Enriched,
        lambda t: t.enriched,
        lambda r: r.occurred_at,
        lambda r: r.interaction_id,
        channel_of=lambda r: r.channel,
    ),
    LakeTable(
        "alerts",
        Alert,
        lambda t: t.alerts,
        lambda r: r.updated_at,
        lambda r: f"{r.alert_id}:{r.revision}",
    ),
    LakeTable(
        "deadletter",
        DeadLetter,
        lambda t: t.deadletter,
        lambda r: r.failed_at,
        lambda r: f"{r.stage}:{r.source.topic}:{r.source.partition}:{r.source.offset}",
    ),
    LakeTable(
        "duplicates",
        DuplicateDrop,
        lambda t: t.duplicates,
        lambda r: r.dropped_at,
        lambda r: r.interaction_id,
    ),
)
"""The tables a sink writes by default. Trend and risk records join here once they exist."""

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("error", pa.string(), nullable=False),
        pa.field("value", pa.binary()),
        *META_FIELDS,
    ]
)


def rejected_dir(topic: str, kafka_time: datetime) -> str:
    """Partition path of a rejected record: by its topic and the date Kafka stamped it."""
    return f"topic={topic}/date={kafka_time.astimezone(UTC).date().isoformat()}"


def table_named(name: str) -> LakeTable:
    """The table called ``name`` (``enriched``, ``alerts``, ``deadletter``, ``duplicates``)."""
    for table in TABLES:
        if table.name == name:
            return table
    raise KeyError(f"no lake table {name!r}; tables: {', '.join(t.name for t in TABLES)}")


def kafka_time(timestamp_ms: int | None) -> datetime:
    """A Kafka record timestamp (ms) as an aware datetime (epoch when the record has none)."""
    return datetime.fromtimestamp((timestamp_ms or 0) / 1000, tz=UTC)
