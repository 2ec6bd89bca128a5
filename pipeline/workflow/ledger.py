"""Which alert changes are already on ``cx.alerts``: exactly one copy of each, across crashes.

Kafka delivers at least once: after a crash the workflow re-reads the interactions whose offsets
were not committed yet, and recomputes their alert changes from the state its changelog kept.
Two orders of events are possible for each change:

* the customer state was written **after** the change was acknowledged by the broker (the agent
  waits for the acknowledgement before it writes the state of an event that changed an alert),
  so a recovered state never claims a change that is missing from the topic;
* the change reached the topic but the state write did not: the replay computes the same change
  again (``alert_id`` and ``revision`` are deterministic), and this ledger, loaded from the tail
  of ``cx.alerts`` after every rebalance, says it is already there — it is not sent twice.

A change is identified by ``(alert_id, revision)``: "opened" is revision 1.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

log = logging.getLogger("cxstream.workflow")

Change = tuple[str, int]
TailReader = Callable[[], Iterable[bytes]]


def read_topic_tail(
    client: Mapping[str, Any], topic: str, per_partition: int, timeout_s: float = 60.0
) -> list[bytes]:
    """The last ``per_partition`` record values of every partition of ``topic``; ``client``:
    the kafka-python options (bootstrap servers and security) of the worker."""
    consumer = KafkaConsumer(
        **client,
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    try:
        found = consumer.partitions_for_topic(topic) or set()
        parts = [TopicPartition(topic, p) for p in sorted(found)]
        if not parts:
            return []
        consumer.assign(parts)
        ends: dict[TopicPartition, int] = consumer.end_offsets(parts)
        begins: dict[TopicPartition, int] = consumer.beginning_offsets(parts)
        pending = {tp for tp in parts if ends[tp] > begins[tp]}
        for tp in parts:
            consumer.seek(tp, max(begins[tp], ends[tp] - per_partition))
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                values += [r.value for r in records if r.value is not None]
                if records and records[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        if pending:
            raise TimeoutError(f"read {topic} tail: {len(pending)} partitions not read in time")
        return values
    finally:
        consumer.close()


class AlertLedger:
    """The ``(alert_id, revision)`` pairs known to be on the alerts topic (bounded, newest kept)."""

    def __init__(self, reader: TailReader, capacity: int) -> None:
        self.reader = reader
        self.capacity = capacity
        self.known: OrderedDict[Change, None] = OrderedDict()
        self.loaded = False

    def invalidate(self) -> None:
        """Partitions moved (rebalance): the next check reloads from the topic."""
        self.loaded = False

    def load(self) -> int:
        """Read the topic's tail (blocking: call it in an executor); return the changes found."""
        started = time.monotonic()
        found: OrderedDict[Change, None] = OrderedDict()
        for value in self.reader():
            try:
                record = json.loads(value)
                found[(str(record["alert_id"]), int(record["revision"]))] = None
            except (ValueError, KeyError, TypeError):
                continue  # not ours to judge: the ledger only needs ids it can read
        self.known = found
        self._trim()
        self.loaded = True
        log.info(
            "alert ledger: %d alert changes on the topic (%.1f s)",
            len(found),
            time.monotonic() - started,
        )
        return len(found)

    def __contains__(self, change: Change) -> bool:
        return change in self.known

    def add(self, change: Change) -> None:
        """Record a change the broker acknowledged."""
        self.known[change] = None
        self.known.move_to_end(change)
        self._trim()

    def _trim(self) -> None:
        while len(self.known) > self.capacity:
            self.known.popitem(last=False)
