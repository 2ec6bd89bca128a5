"""The lake sink: topics → Parquet, exactly once per Kafka record.

It reads every partition of its topics itself (manual assignment: one sink per lake; a lock
file keeps a second one off a local lake), keeps one open batch per partition and writes it
when it holds ``lake_flush_records`` rows or is ``lake_flush_s`` old. Where it starts is read
from the lake (``pipeline.lake.resume``), never only from the consumer group, whose offsets it
commits after each batch so lag is visible to the usual tools. It stops cleanly when asked
(SIGTERM or Ctrl-C: the open batches are written first) or, with ``until_end``, once it has
written everything that was on the topics when it started.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.lake.batches import Batch, KafkaRecord, to_row
from pipeline.lake.compact import compact_directory
from pipeline.lake.files import list_files
from pipeline.lake.resume import ResumePoint, resume_point, tidy
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import TABLES, LakeTable
from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.streaming.security import check_access, client_config

log = logging.getLogger(__name__)
POLL_MS = 500
PROGRESS_EVERY_S = 10.0
REPAIR_TIMEOUT_S = 120.0


class SinkError(RuntimeError):
    """The sink cannot run (a topic is missing, another sink holds the lake)."""


@dataclass
class SinkStats:
    """What one run of the sink wrote."""

    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    compacted: int = 0
    rejected: int = 0
    repaired_rows: int = 0
    removed_leftovers: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Rows written, every table together."""
        return sum(self.rows.values())


@dataclass
class _Partition:
    table: LakeTable
    tp: TopicPartition
    batch: Batch | None = None
    opened_at: float = 0.0
    next_offset: int = 0


class LakeSink:
    """Writes the pipeline's output topics into a Parquet lake."""

    def __init__(
        self,
        settings: Settings,
        store: LakeStore,
        *,
        tables: tuple[LakeTable, ...] = TABLES,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tables = tables
        self.metrics = metrics
        self.stats = SinkStats()
        self._parts: dict[TopicPartition, _Partition] = {}
        self._consumer: KafkaConsumer | None = None
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}

    def run(
        self,
        should_stop: Callable[[], bool] = lambda: False,
        *,
        until_end: bool = False,
        max_seconds: float | None = None,
    ) -> SinkStats:
        """Sink until ``should_stop()``, ``max_seconds`` or (``until_end``) the topics' ends."""
        started = time.monotonic()
        with _lake_lock(self.store), self._consumer_open() as consumer:
            self.stats.removed_leftovers = len(tidy(self.store))
            self._assign(consumer)
            ends = consumer.end_offsets(list(self._parts)) if until_end else {}
            last_progress = time.monotonic()
            while not should_stop():
                if max_seconds is not None and time.monotonic() - started >= max_seconds:
                    break
                if until_end and self._reached(consumer, ends):
                    break
                self._take(consumer.poll(timeout_ms=POLL_MS, max_records=5000))
                self._flush(due_only=True)
                if time.monotonic() - last_progress >= PROGRESS_EVERY_S:
                    last_progress = time.monotonic()
                    self._progress(started)
            self._flush(due_only=False)
        self.stats.seconds = time.monotonic() - started
        self._progress(started)
        return self.stats

    @contextmanager
    def _consumer_open(self) -> Any:
        check_access(self.settings)
        consumer = KafkaConsumer(
            **client_config(self.settings),
            group_id=f"{self.settings.app_id}-lake",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=self.settings.max_record_bytes,
        )
        self._consumer = consumer
        try:
            yield consumer
        finally:
            self._consumer = None
            consumer.close(autocommit=False)

    def _assign(self, consumer: KafkaConsumer) -> None:
        files = list_files(self.store.fs, self.store.root)
        for table in self.tables:
            topic = table.topic_of(self.settings.topics)
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                raise SinkError(f"topic {topic} does not exist (cxstream topics create)")
            for p in sorted(partitions):
                tp = TopicPartition(topic, p)
                self._parts[tp] = _Partition(table, tp)
        consumer.assign(list(self._parts))
        repairs = []
        for tp, part in self._parts.items():
            point = resume_point(self.store, files, tp.topic, tp.partition)
            if point.next_offset is None:
                consumer.seek_to_beginning(tp)
                part.next_offset = consumer.position(tp)
            else:
                consumer.seek(tp, point.next_offset)
                part.next_offset = point.next_offset
            if point.repair is not None:
                repairs.append((part, point))
        for part, point in repairs:
            self._repair(consumer, part, point)
            consumer.seek(part.tp, part.next_offset)
        for tp, part in self._parts.items():
            log.info("lake: %s[%d] starts at offset %d", tp.topic, tp.partition, part.next_offset)

    def _repair(self, consumer: KafkaConsumer, part: _Partition, point: ResumePoint) -> None:
        """Read the last batch again and write the rows a crash kept out of the lake."""
        assert point.repair is not None
        tp, repair = part.tp, point.repair
        if len(point.present) == repair.last - repair.first + 1:
            return  # every offset of the range is a row: nothing can be missing
        consumer.pause(*[other for other in self._parts if other != tp])
        consumer.seek(tp, repair.first)
        batch = Batch(tp.topic, tp.partition, repair.first)
        deadline = time.monotonic() + REPAIR_TIMEOUT_S
        try:
            while consumer.position(tp) <= repair.last:
                if time.monotonic() > deadline:
                    raise SinkError(
                        f"{tp.topic}[{tp.partition}]: offsets {repair.first}-{repair.last} "
                        f"not readable within {REPAIR_TIMEOUT_S:.0f} s"
                    )
                for message in consumer.poll(timeout_ms=POLL_MS).get(tp, []):
                    if message.offset > repair.last:
                        break
                    row = None if message.offset in point.present else self._row(part, message)
                    batch.add(message.offset, row)
        finally:
            consumer.resume(*[other for other in self._parts if other != tp])
        batch.last = repair.last  # the same name as the files the batch already wrote
        self._write(batch)
        self.stats.repaired_rows += batch.count
        log.warning(
            "lake: %s[%d] offsets %d-%d: wrote %d rows a stopped sink had not written",
            tp.topic,
            tp.partition,
            repair.first,
            repair.last,
            batch.count,
        )

    def _row(self, part: _Partition, message: Any) -> Any:
        record = KafkaRecord(
            message.topic, message.partition, message.offset, message.timestamp, message.value
        )
        return to_row(part.table, record)

    def _take(self, polled: dict[TopicPartition, list[Any]]) -> None:
        for tp, messages in polled.items():
            part = self._parts[tp]
            for message in messages:
                if part.batch is None:
                    part.batch = Batch(tp.topic, tp.partition, message.offset)
                    part.opened_at = time.monotonic()
                part.batch.add(message.offset, self._row(part, message))
                part.next_offset = message.offset + 1
                if part.batch.last - part.batch.first + 1 >= self.settings.lake_flush_records:
                    self._close(part)

    def _flush(self, *, due_only: bool) -> None:
        """Write the open batches (only those ``lake_flush_s`` old with ``due_only``)."""
        now = time.monotonic()
        for part in self._parts.values():
            if part.batch is None:
                continue
            if due_only and now - part.opened_at < self.settings.lake_flush_s:
                continue
            self._close(part)
        if self._uncommitted and self._consumer is not None:
            try:
                self._consumer.commit(self._uncommitted, timeout_ms=10_000)
            except Exception as exc:  # lag monitoring only: the lake is the position
                log.warning("lake: consumer group commit failed (%s); the lake is unaffected", exc)
            self._uncommitted = {}

    def _close(self, part: _Partition) -> None:
        """Write a partition's open batch; the next record opens a new one."""
        assert part.batch is not None
        self._write(part.batch)
        self._uncommitted[part.tp] = OffsetAndMetadata(part.batch.last + 1, "", -1)
        part.batch = None

    def _write(self, batch: Batch) -> None:
        written = batch.write(self.store)
        self.stats.files += len(written)
        self.stats.rejected += batch.rejected
        for table, rows in batch.table_counts().items():
            self.stats.rows[table] = self.stats.rows.get(table, 0) + rows
            if self.metrics is not None:
                self.metrics.lake_rows.labels(table).inc(rows)
        if self.metrics is not None:
            for path in written:
                self.metrics.lake_files.labels(_table_of(self.store, path), "batch").inc()
        for directory in sorted(batch.rows):
            merged = compact_directory(
                self.store, self.store.path(directory), self.settings.lake_compact_files
            )
            self.stats.compacted += len(merged)
            if self.metrics is not None:
                for path in merged:
                    self.metrics.lake_files.labels(_table_of(self.store, path), "compacted").inc()

    def _reached(self, consumer: KafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        # the consumer's position, not the last record's offset + 1: it also moves past
        # offsets that hold no record (transaction markers, compacted-away records)
        return all(consumer.position(tp) >= end for tp, end in ends.items())

    def _progress(self, started: float) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        log.info(
            "lake: %d rows (%.0f/s) in %d files, %d compacted, %d rejected; %s",
            self.stats.total_rows,
            self.stats.total_rows / elapsed,
            self.stats.files,
            self.stats.compacted,
            self.stats.rejected,
            ", ".join(f"{t} {n}" for t, n in sorted(self.stats.rows.items())) or "nothing yet",
        )


def _table_of(store: LakeStore, path: str) -> str:
    return path[len(store.root) + 1 :].split("/", 1)[0]


@contextmanager
def _lake_lock(store: LakeStore) -> Any:
    """Hold ``_sink.lock`` in a local lake for the whole run (a second sink fails at once)."""
    if not store.local:
        yield
        return
    handle: IO[str] = open(store.path("_sink.lock"), "a")  # noqa: SIM115
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SinkError(f"another sink is writing {store.root}") from exc
        yield
    finally:
        handle.close()
