"""What the running worker and the output topics show: samples, counts, the maximum rate."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from pipeline.settings import Settings
from pipeline.streaming.admin import end_offsets
from pipeline.streaming.state_store import MIB
from pipeline.tools.output_accounting import collect, newest_timestamp
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.soak.scenario import (
    CALIBRATION_EVENTS,
    MIN_CUSTOMERS,
    SoakError,
    Traffic,
    population_records,
)
from pipeline.tools.soak.verdict import Sample


@dataclass(frozen=True)
class Scraped:
    """What a worker's ``/metrics`` says: table sizes, summed lag, RocksDB memory (MiB)."""

    tables: dict[str, float] = field(default_factory=dict)
    lag: float | None = None
    store_mb: dict[str, float] = field(default_factory=dict)


def parse_metrics(text: str) -> Scraped:
    """``cxstream_table_keys`` by table, ``cxstream_consumer_lag_messages`` summed (None when
    the worker does not report lag yet) and ``cxstream_store_memory_bytes`` by part in MiB, from a
    Prometheus text exposition."""
    tables: dict[str, float] = {}
    store: dict[str, float] = {}
    lag: float | None = None
    for family in text_string_to_metric_families(text):
        if family.name == "cxstream_table_keys":
            for sample in family.samples:
                tables[sample.labels["table"]] = sample.value
        elif family.name == "cxstream_consumer_lag_messages" and family.samples:
            lag = sum(sample.value for sample in family.samples)
        elif family.name == "cxstream_store_memory_bytes":
            for sample in family.samples:
                store[sample.labels["part"]] = round(sample.value / MIB, 2)
    return Scraped(tables, lag, store)


@dataclass
class Counts:
    """Records on the output topics since ``base``."""

    interactions: int
    duplicates: int
    deadletters: int
    enriched: int

    @property
    def accounted(self) -> int:
        return self.interactions + self.duplicates + self.deadletters


def output_counts(settings: Settings, base: dict[TopicPartition, int]) -> Counts:
    t = settings.topics
    ends = end_offsets(settings, [t.interactions, t.duplicates, t.deadletter, t.enriched])

    def count(topic: str) -> int:
        return sum(end - base.get(tp, 0) for tp, end in ends.items() if tp.topic == topic)

    return Counts(
        count(t.interactions), count(t.duplicates), count(t.deadletter), count(t.enriched)
    )


def scrape(url: str) -> Scraped:
    """What the worker's ``/metrics`` says (empty if it does not answer)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return parse_metrics(response.read().decode())
    except OSError:
        return Scraped()


def measure_max_rate(settings: Settings, events: int = CALIBRATION_EVENTS) -> float:
    """Closed loop (as ``cxstream bench`` full_eps): ``events`` at once, raw events/s until the
    last enriched record. Uses the soak population, so it adds no customers of its own."""
    records = population_records(events, customers=MIN_CUSTOMERS, seed=1, now=datetime.now(UTC))
    wall = time.time()
    delivered = produce(
        settings, [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    )
    out = collect(settings, len(delivered), timeout_s=600, wait_enriched=True)
    if out.accounted < len(delivered) or len(out.enriched) < len(out.interactions):
        raise SoakError(
            f"calibration incomplete: {out.accounted}/{len(delivered)} accounted, "
            f"{len(out.enriched)}/{len(out.interactions)} enriched after 600 s"
        )
    return len(delivered) / (newest_timestamp(settings, [settings.topics.enriched]) - wall)


def take_sample(
    elapsed_s: float,
    worker: WorkerProcess,
    traffic: Traffic,
    settings: Settings,
    base: dict[TopicPartition, int],
) -> Sample:
    """RSS, table sizes, lag and output counts now."""
    counts = output_counts(settings, base)
    scraped = scrape(metrics_url(settings))
    return Sample(
        round(elapsed_s, 1),
        traffic.sent,
        counts.accounted,
        counts.enriched,
        worker.rss_mb(),
        scraped.lag,
        scraped.tables,
        scraped.store_mb,
    )


def progress_line(sample: Sample) -> str:
    minutes, seconds = divmod(int(sample.elapsed_s), 60)
    rss = "n/a" if sample.rss_mb is None else f"{sample.rss_mb:,.1f}"
    lag = "n/a" if sample.lag is None else f"{sample.lag:,.0f}"
    tables = " ".join(f"{k}={v:,.0f}" for k, v in sorted(sample.tables.items())) or "(none yet)"
    store = " ".join(f"{k}={v:,.1f}" for k, v in sorted(sample.store_mb.items()))
    return (
        f"[soak] {minutes:3d}:{seconds:02d}  produced {sample.produced:,}  "
        f"accounted {sample.accounted:,}  enriched {sample.enriched:,}  rss {rss} MiB  "
        f"lag {lag}  tables {tables}" + (f"  rocksdb MiB {store}" if store else "")
    )


def wait_drained(
    settings: Settings, base: dict[TopicPartition, int], produced: int, timeout_s: float
) -> Counts:
    """Wait until every produced event is accounted for and every interaction enriched."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = output_counts(settings, base)
        done = counts.accounted >= produced and counts.enriched >= counts.interactions
        if done or time.monotonic() >= deadline:
            return counts
        time.sleep(1.0)


@dataclass
class Run:
    """What the traffic phase observed."""

    samples: list[Sample]
    produced: int
    final: Counts
    peak_rss_mb: float | None


def metrics_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.metrics_port}/metrics"
