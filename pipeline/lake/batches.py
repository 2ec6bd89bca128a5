"""Kafka records turned into lake rows, grouped into the files of one batch.

A batch is every record of one topic partition between two offsets. Its rows go to one file
per partition directory, all named after the batch's offset range, so the name alone says
where the rows came from and a second write of the same batch finds its files already there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pydantic import ValidationError

from pipeline.lake.files import OffsetRange, file_name
from pipeline.lake.schema import model_row
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import REJECTED, REJECTED_SCHEMA, LakeTable, kafka_time, rejected_dir


@dataclass(frozen=True)
class KafkaRecord:
    """What the sink needs of one consumed record."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    value: bytes | None


@dataclass(frozen=True)
class LakeRow:
    """One row and the directory (below the lake root) it belongs in."""

    directory: str
    schema: pa.Schema
    values: dict[str, Any]
    rejected: bool = False


def to_row(table: LakeTable, record: KafkaRecord) -> LakeRow:
    """The lake row of one record; a record that is not its topic's contract is ``rejected``."""
    stamped = kafka_time(record.timestamp_ms)
    meta: dict[str, Any] = {
        "_topic": record.topic,
        "_partition": record.partition,
        "_offset": record.offset,
        "_kafka_timestamp": stamped,
    }
    try:
        if record.value is None:
            raise ValueError("the record has no value (a tombstone)")
        parsed = table.model.model_validate_json(record.value)
    except (ValidationError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        values = {"error": f"{type(exc).__name__}: {first_line}", "value": record.value}
        values |= meta | {"_record_key": f"{record.topic}:{record.partition}:{record.offset}"}
        directory = f"{REJECTED}/{rejected_dir(record.topic, stamped)}"
        return LakeRow(directory, REJECTED_SCHEMA, values, rejected=True)
    values = model_row(table.model, parsed.model_dump())
    values |= meta | {"_record_key": table.record_key(parsed)}
    return LakeRow(f"{table.name}/{table.partition_dir(parsed)}", table.schema, values)


@dataclass
class Batch:
    """Rows of one topic partition from offset ``first`` up to ``last`` (inclusive)."""

    topic: str
    partition: int
    first: int
    last: int = -1
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    count: int = 0
    rejected: int = 0

    def add(self, offset: int, row: LakeRow | None) -> None:
        """Take the record at ``offset`` (``row`` None: already in the lake; the range grows)."""
        self.last = max(self.last, offset)
        if row is None:
            return
        self.rows[row.directory].append(row.values)
        self.schemas[row.directory] = row.schema
        self.count += 1
        self.rejected += row.rejected

    @property
    def offsets(self) -> OffsetRange:
        """The batch's range, which names its files."""
        return OffsetRange(self.topic, self.partition, self.first, self.last)

    def write(self, store: LakeStore) -> list[str]:
        """Publish one file per directory; a file already there (same batch) is kept as it is."""
        name = file_name(self.offsets)
        written = []
        for directory, rows in sorted(self.rows.items()):
            target = store.path(directory)
            if store.exists(f"{target}/{name}"):
                continue
            table = pa.Table.from_pylist(rows, schema=self.schemas[directory])
            written.append(store.publish(table, target, name))
        return written

    def table_counts(self) -> dict[str, int]:
        """Rows per lake table (the first part of each directory)."""
        counts: dict[str, int] = defaultdict(int)
        for directory, rows in self.rows.items():
            counts[directory.split("/", 1)[0]] += len(rows)
        return dict(counts)
