"""Consumer lag of the worker's group: end offset minus committed offset, per topic/partition.

A daemon thread asks the broker (kafka-python admin + consumer) every few seconds and sets
``cxstream_consumer_lag_messages``; a failed poll is logged and retried, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer

from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.streaming.security import client_config

log = logging.getLogger("cxstream.lag")


@dataclass(frozen=True)
class PartitionLag:
    """The group's committed offset of one partition and how far the end is beyond it."""

    committed: int
    lag: int


def measure_lag(
    admin: KafkaAdminClient, consumer: KafkaConsumer, group: str
) -> dict[tuple[str, int], PartitionLag]:
    """``{(topic, partition): PartitionLag}`` for every partition the group has committed."""
    committed = admin.list_group_offsets({group: None}).get(group) or {}
    if not committed:
        return {}
    ends = consumer.end_offsets(list(committed))
    return {
        (tp.topic, tp.partition): PartitionLag(
            int(meta.offset), max(0, int(ends.get(tp, meta.offset)) - int(meta.offset))
        )
        for tp, meta in committed.items()
        if meta.offset is not None and meta.offset >= 0
    }


class LagMonitor(threading.Thread):
    """Polls the group's lag into ``metrics.lag`` until ``stop()``."""

    def __init__(self, settings: Settings, metrics: Metrics, every_s: float = 5.0) -> None:
        super().__init__(name="cxstream-lag", daemon=True)
        self.settings = settings
        self.metrics = metrics
        self.every_s = every_s
        self._stop_event = threading.Event()
        self.latest: dict[tuple[str, int], PartitionLag] = {}
        self.measured_at: float | None = None

    def stop(self) -> None:
        """Ask the thread to finish after the current poll."""
        self._stop_event.set()

    def run(self) -> None:
        """Poll until stopped; connection problems are logged once per failure streak."""
        admin: KafkaAdminClient | None = None
        consumer: KafkaConsumer | None = None
        failing = False
        while not self._stop_event.wait(self.every_s):
            try:
                if admin is None or consumer is None:
                    admin = KafkaAdminClient(**client_config(self.settings))
                    consumer = KafkaConsumer(**client_config(self.settings))
                latest = measure_lag(admin, consumer, self.settings.app_id)
                for (topic, partition), part in latest.items():
                    self.metrics.lag.labels(topic=topic, partition=str(partition)).set(part.lag)
                self.latest = latest
                self.measured_at = time.monotonic()
                failing = False
            except Exception as exc:  # the broker may be restarting: keep trying
                if not failing:
                    log.warning("consumer lag poll failed (will retry): %s", exc)
                failing = True
                admin = consumer = None
