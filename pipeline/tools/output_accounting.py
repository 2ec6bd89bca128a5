"""Reading the pipeline's output topics back: accounting for every input, for demo and tests."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.settings import Settings
from pipeline.streaming.security import client_config
from pipeline.trends.alerts import ALL_CUSTOMERS


@dataclass
class Outputs:
    """Everything read from cx.interactions, cx.duplicates, cx.deadletter and cx.identity."""

    interactions: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    deadletters: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    interaction_keys: list[bytes | None] = field(default_factory=list)
    enriched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        """Inputs accounted for: each is one interaction, one duplicate or one dead letter."""
        return len(self.interactions) + len(self.duplicates) + len(self.deadletters)

    def summary(self) -> dict[str, Any]:
        """Counts by kind, reason and channel."""
        channels = Counter(i["channel"] for i in self.interactions)
        return {
            "interactions": len(self.interactions),
            "duplicates": dict(sorted(Counter(d["kind"] for d in self.duplicates).items())),
            "deadletters": dict(
                sorted(Counter(d["reason_code"] for d in self.deadletters).items())
            ),
            "channels": dict(sorted(channels.items())),
            "customers": len({i["customer_key"] for i in self.interactions}),
            "identity_merges": len(self.merges),
            "enriched": len(self.enriched),
            "scored": sum(1 for e in self.enriched if e["scored"]),
            "unsupported_language": sum(
                1 for e in self.enriched if e.get("unscored_reason") == UNSUPPORTED_LANGUAGE
            ),
            "urgency_levels": dict(
                sorted(
                    Counter(
                        e["scores"]["urgency"]["level"] for e in self.enriched if e["scored"]
                    ).items()
                )
            ),
        }


def read_all(settings: Settings, topic: str, *, idle_ms: int = 1500) -> list[dict[str, Any]]:
    """Every JSON message of ``topic`` from the beginning (stops after ``idle_ms`` of quiet)."""
    consumer = KafkaConsumer(
        **client_config(settings),
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def most_within(times: list[datetime], window_s: float) -> int:
    """The most of ``times`` that fall within any ``window_s`` seconds (a window starts at one
    of them; one exactly ``window_s`` later is outside it, as in the workflow's rate limit)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while (at - ordered[start]).total_seconds() >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def alert_summary(
    alerts: list[dict[str, Any]], profiles: list[dict[str, Any]], window_s: float = 3600.0
) -> dict[str, Any]:
    """Alert counts by type and status, and the most alerts any one customer got: in all, and
    within any ``window_s`` (the workflow's per-customer rate window, by event time).

    Alerts about a pattern across customers (``emerging_issue``, customer key ``*``) count in
    the totals and as ``emerging_issues``, never as one customer's alerts: the per-customer rate
    limit does not apply to them.
    """
    opened = [a for a in alerts if a["status"] == "opened"]
    per_customer = Counter(a["customer_key"] for a in opened if a["customer_key"] != ALL_CUSTOMERS)
    emerging = {a["alert_id"]: a for a in opened if a["customer_key"] == ALL_CUSTOMERS}
    latest = {p["customer_key"]: p for p in profiles}
    return {
        "alerts_opened": dict(sorted(Counter(a["type"] for a in opened).items())),
        "alert_changes": dict(sorted(Counter(a["status"] for a in alerts).items())),
        "alerted_customers": len(per_customer),
        "max_alerts_per_customer": max(per_customer.values(), default=0),
        "max_alerts_per_customer_in_window": max(
            (most_within(times, window_s) for times in _opened_times(opened).values()), default=0
        ),
        "alerts_suppressed": sum(p.get("alerts_suppressed", 0) for p in latest.values()),
        "duplicate_alert_ids": len(opened) - len({a["alert_id"] for a in opened}),
        "emerging_issues": [a["reasons"][0] for a in emerging.values()],
    }


def _opened_times(opened: list[dict[str, Any]]) -> dict[str, list[datetime]]:
    """When each customer's alerts opened (event time), one per alert id."""
    seen: dict[str, dict[str, datetime]] = {}
    for alert in opened:
        if alert["customer_key"] != ALL_CUSTOMERS:
            at = datetime.fromisoformat(alert["opened_at"])
            seen.setdefault(alert["customer_key"], {})[alert["alert_id"]] = at
    return {key: list(ids.values()) for key, ids in seen.items()}


def newest_timestamp(settings: Settings, topics: list[str]) -> float:
    """Wall-clock seconds of the newest record over ``topics`` (Kafka timestamps)."""
    consumer = KafkaConsumer(**client_config(settings))
    try:
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        for tp, end in ends.items():
            consumer.seek(tp, max(0, end - 1))
        newest = 0
        pending = {tp for tp, end in ends.items() if end}
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                newest = max([newest, *(r.timestamp for r in records)])
                pending.discard(tp)
        return newest / 1000
    finally:
        consumer.close()


def output_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.interactions, t.duplicates, t.deadletter, t.identity, t.enriched]


def collect(
    settings: Settings,
    expected: int,
    *,
    start: dict[TopicPartition, int] | None = None,
    timeout_s: float = 120.0,
    settle_s: float = 2.0,
    progress: Callable[[Outputs], None] | None = None,
    wait_enriched: bool = False,
    until: Callable[[Outputs], bool] | None = None,
) -> Outputs:
    """Read outputs until ``expected`` inputs are accounted for (then ``settle_s`` more, to catch
    extras) or ``timeout_s`` passes. ``start`` gives offsets to begin at (default: beginning).
    With ``wait_enriched``, also wait until every interaction has its enriched copy; with
    ``until``, also until that predicate holds."""
    names = settings.topics
    topics = output_topics(settings)
    consumer = KafkaConsumer(
        **client_config(settings),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
    )
    parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or []]
    consumer.assign(parts)
    for tp in parts:
        consumer.seek(tp, (start or {}).get(tp, 0))
    out = Outputs()
    deadline = time.monotonic() + timeout_s
    settled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500, max_records=2000)
            for tp, records in batch.items():
                for rec in records:
                    value = json.loads(rec.value)
                    if tp.topic == names.interactions:
                        out.interactions.append(value)
                        out.interaction_keys.append(rec.key)
                    elif tp.topic == names.duplicates:
                        out.duplicates.append(value)
                    elif tp.topic == names.deadletter:
                        out.deadletters.append(value)
                    elif tp.topic == names.enriched:
                        out.enriched.append(value)
                    else:
                        out.merges.append(value)
            if progress is not None and batch:
                progress(out)
            done = out.accounted >= expected
            if wait_enriched:
                done = done and len(out.enriched) >= len(out.interactions)
            if until is not None:
                done = done and until(out)
            if done:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle_s:
                    break
        return out
    finally:
        consumer.close()
