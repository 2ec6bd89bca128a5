"""Exact accounting of a disrupted run: every input once, every alert change once, nothing lost.

Kafka delivers at least once, so after a crash an output may be *redelivered*: the same
decision about the same input record, written again. The pipeline's promise
(docs/reliability.md) is that such copies are identical decisions (same ``interaction_id``,
same kind), never a different one, and that alert changes are never written twice at all.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from pipeline.contracts.records import DuplicateKind, ReasonCode
from pipeline.settings import Settings
from pipeline.streaming.admin import end_offsets
from pipeline.tools.produce import Delivered, Outgoing, produce
from pipeline.tools.synthetic import RawRecord
from tests.waiting import wait_until

# Scenario files written before tests/waiting.py import the wait from here.
wait_for = wait_until

Place = tuple[str, int, int]
REASON_CODES = {code.value for code in ReasonCode}
DUPLICATE_KINDS = {kind.value for kind in DuplicateKind}


def place_of(record: dict[str, Any]) -> Place:
    src = record["source"]
    return (src["topic"], src["partition"], src["offset"])


@dataclass
class Observed:
    """Everything the pipeline wrote for one run, read from its output topics."""

    decisions: dict[Place, list[str]] = field(default_factory=lambda: defaultdict(list))
    interaction_ids: dict[Place, str] = field(default_factory=dict)
    duplicate_of: dict[Place, str] = field(default_factory=dict)
    enriched: Counter[str] = field(default_factory=Counter)
    deadletters: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: int = 1
    reader_holes: list[str] = field(default_factory=list)

    def settled(self, places: set[Place]) -> bool:
        """Every input has a decision and every kept interaction its enriched copy."""
        if not places <= self.decisions.keys():
            return False
        return all(ix in self.enriched for ix in self.interaction_ids.values())


def _decision(topic_kind: str, record: dict[str, Any]) -> str:
    if topic_kind == "interaction":
        return "interaction"
    if topic_kind == "duplicate":
        return str(record["kind"])
    return f"deadletter:{record['reason_code']}"


def _output_kinds(settings: Settings) -> dict[str, str]:
    names = settings.topics
    return {
        names.interactions: "interaction",
        names.duplicates: "duplicate",
        names.deadletter: "deadletter",
        names.enriched: "enriched",
        names.alerts: "alert",
        names.profiles: "profile",
    }


def _take(seen: Observed, kind: str, value: dict[str, Any]) -> None:
    if kind == "enriched":
        seen.enriched[value["interaction_id"]] += 1
    elif kind == "alert":
        seen.alerts.append(value)
    elif kind == "profile":
        seen.profiles[value["customer_key"]] = value
    else:
        where = place_of(value)
        seen.decisions[where].append(_decision(kind, value))
        if kind == "interaction":
            seen.interaction_ids[where] = value["interaction_id"]
        if kind == "duplicate":
            seen.duplicate_of[where] = value["duplicate_of"]
        if kind == "deadletter":
            seen.deadletters.append(value)


def read_outputs(
    settings: Settings,
    places: set[Place],
    *,
    timeout_s: float,
    settle_s: float = 4.0,
    idle_s: float = 30.0,
) -> Observed:
    """Read every output topic from the beginning until all ``places`` are decided and enriched
    (then ``settle_s`` more to catch late copies), or ``timeout_s`` passes.

    The output topics are plain (no compaction, no transactions), so their offsets run without
    holes; a hole in what the client returns is recorded in ``Observed.reader_holes``. When
    nothing new arrives for ``idle_s`` and inputs are still undecided, the read starts over
    with a fresh client (``Observed.reads`` counts the passes), so that a client that missed
    a record cannot pass for a pipeline that lost one."""
    kinds = _output_kinds(settings)
    deadline = time.monotonic() + timeout_s
    reads = 0
    while True:
        reads += 1
        seen, finished = _read_pass(settings, kinds, places, deadline, settle_s, idle_s)
        seen.reads = reads
        if finished or time.monotonic() >= deadline:
            return seen


def _read_pass(
    settings: Settings,
    kinds: dict[str, str],
    places: set[Place],
    deadline: float,
    settle_s: float,
    idle_s: float,
) -> tuple[Observed, bool]:
    """One read from the beginning; True once settled, False when idle or out of time."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    parts = [TopicPartition(t, p) for t in kinds for p in consumer.partitions_for_topic(t) or []]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    seen = Observed()
    last: dict[TopicPartition, int] = {}
    settled_at: float | None = None
    active_at = time.monotonic()
    try:
        while time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                active_at = time.monotonic()
                kind = kinds[tp.topic]
                for rec in records:
                    before = last.get(tp, -1)
                    if rec.offset != before + 1:
                        seen.reader_holes.append(
                            f"{tp.topic}[{tp.partition}] {before}->{rec.offset}"
                        )
                    last[tp] = rec.offset
                    _take(seen, kind, json.loads(rec.value))
            if seen.settled(places):
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle_s:
                    return seen, True
            else:
                settled_at = None
                if time.monotonic() - active_at >= idle_s:
                    return seen, False
        return seen, False
    finally:
        consumer.close()


@dataclass
class Report:
    """The numbers a scenario prints (and docs/reliability.md quotes)."""

    scenario: str
    inputs: int
    interactions: int
    duplicates: int
    deadletters: int
    redelivered_decisions: int
    redelivered_enriched: int
    alert_changes: int
    alerts_opened: int
    recovery_s: float
    drain_s: float
    reads: int
    reader_holes: list[str]
    problems: list[str]
    lost: list[Place] = field(default_factory=list)

    def line(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "lost"}, sort_keys=True)


def _kept(where: Place, seen: Observed, expected: dict[Place, str]) -> str:
    """For a record dropped as a duplicate: the input it was found a copy of, and what that
    input was expected to be (tells a reordering from a wrong rule)."""
    kept_id = seen.duplicate_of.get(where)
    if kept_id is None:
        return ""
    places = [p for p, ix in seen.interaction_ids.items() if ix == kept_id]
    if not places:
        return f" of {kept_id}"
    return f" of {kept_id} at {places[0]} (expected {expected.get(places[0], '?') or 'any'})"


def check(
    scenario: str,
    records: list[RawRecord],
    delivered: list[Delivered],
    seen: Observed,
    *,
    recovery_s: float,
    drain_s: float,
) -> Report:
    """Compare what came out with the ground truth of every input; list every violation."""
    problems: list[str] = []
    pairs = zip(delivered, records, strict=True)
    expected = {(d.topic, d.partition, d.offset): r.expect for d, r in pairs}
    redelivered = 0
    lost: list[Place] = []
    for where, expect in expected.items():
        got = seen.decisions.get(where, [])
        if not got:
            problems.append(f"lost: {where} (expected {expect})")
            lost.append(where)
            continue
        if len(set(got)) > 1:
            problems.append(f"two different decisions for {where}: {sorted(set(got))}")
        if expect and got[0] != expect:  # "" = no ground truth: any one decision will do
            kept = _kept(where, seen, expected)
            problems.append(f"{where}: expected {expect}, got {got[0]}{kept}")
        redelivered += len(got) - 1
    extra = set(seen.decisions) - expected.keys()
    if extra:
        problems.append(f"{len(extra)} outputs for inputs never produced: {sorted(extra)[:3]}")
    for dead in seen.deadletters:
        if dead["reason_code"] not in REASON_CODES or not dead["reason"]:
            problems.append(f"dead letter without a known reason code: {dead}")
    missing = [ix for ix in seen.interaction_ids.values() if ix not in seen.enriched]
    if missing:
        problems.append(f"{len(missing)} interactions never enriched, e.g. {missing[:3]}")
    changes = Counter((a["alert_id"], a["revision"]) for a in seen.alerts)
    twice = [c for c, n in changes.items() if n > 1]
    if twice:
        problems.append(f"alert changes written more than once: {twice[:5]}")
    revisions: dict[str, set[int]] = defaultdict(set)
    for alert_id, revision in changes:
        revisions[alert_id].add(revision)
    gaps = [a for a, revs in revisions.items() if revs != set(range(1, max(revs) + 1))]
    if gaps:
        problems.append(f"alerts with a lost change (revision gap): {gaps[:5]}")
    return Report(
        scenario=scenario,
        inputs=len(expected),
        interactions=sum(1 for got in seen.decisions.values() if got[0] == "interaction"),
        duplicates=sum(1 for got in seen.decisions.values() if got[0] in DUPLICATE_KINDS),
        deadletters=sum(1 for got in seen.decisions.values() if got[0].startswith("deadletter")),
        redelivered_decisions=redelivered,
        redelivered_enriched=sum(n - 1 for n in seen.enriched.values()),
        alert_changes=len(seen.alerts),
        alerts_opened=sum(1 for a in seen.alerts if a["status"] == "opened"),
        recovery_s=round(recovery_s, 1),
        drain_s=round(drain_s, 1),
        reads=seen.reads,
        reader_holes=seen.reader_holes[:5],
        problems=problems,
        lost=lost,
    )


def _record_at(consumer: KafkaConsumer, where: Place) -> str:
    """What the broker holds at one input place (the producer reported it there)."""
    tp = TopicPartition(where[0], where[1])
    consumer.assign([tp])
    consumer.seek(tp, where[2])
    for records in consumer.poll(timeout_ms=5000, max_records=1).values():
        for rec in records:
            return f"offset {rec.offset}: {len(rec.value or b'')} bytes, key {rec.key!r}"
    return "nothing readable there"


def trace_lost(settings: Settings, lost: list[Place], *, timeout_s: float = 60.0) -> list[str]:
    """For each lost input: the record the broker holds at its place, where a second, fresh
    read of the decision topics finds it (if it does, the first read missed it), and whether
    its copy reached the internal resolve topic (if not, standardise never passed it on)."""
    if not lost:
        return []
    t = settings.topics
    decision_topics = [t.interactions, t.duplicates, t.deadletter]
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    found: dict[Place, list[str]] = defaultdict(list)
    try:
        raw = {where: _record_at(consumer, where) for where in lost}
        parts = [
            TopicPartition(topic, p)
            for topic in [t.resolve, *decision_topics]
            for p in consumer.partitions_for_topic(topic) or []
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(consumer.position(tp) < ends[tp] for tp in parts):
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                for rec in records:
                    value = json.loads(rec.value)
                    src = (
                        value["interaction"]["source"] if tp.topic == t.resolve else value["source"]
                    )
                    where = (src["topic"], src["partition"], src["offset"])
                    if where in raw:
                        found[where].append(f"{tp.topic}[{tp.partition}]@{rec.offset}")
    finally:
        consumer.close()
    return [
        f"{where} holds {raw[where]}; found again on: {found[where] or 'nothing'}" for where in lost
    ]


class Producer(threading.Thread):
    """Sends the records at a fixed rate in the background (load while the test disrupts)."""

    def __init__(self, settings: Settings, records: list[RawRecord], rate: float) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.records = records
        self.rate = rate
        self.delivered: list[Delivered] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            topics = self.settings.topics
            outgoing = [Outgoing(topics.raw(r.channel), r.key, r.value) for r in self.records]
            self.delivered = produce(self.settings, outgoing, rate=self.rate)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self, timeout_s: float) -> list[Delivered]:
        self.join(timeout_s)
        if self.is_alive():
            raise TimeoutError(f"producer still sending after {timeout_s:.0f}s")
        if self.error is not None:
            raise self.error
        return self.delivered


def decided(settings: Settings) -> int:
    """Outputs written so far on cx.interactions, cx.duplicates and cx.deadletter (progress)."""
    t = settings.topics
    return sum(end_offsets(settings, [t.interactions, t.duplicates, t.deadletter]).values())


def group_state(settings: Settings) -> tuple[str, int]:
    """The worker group's state on the broker and its number of members."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        group = admin.describe_groups([settings.app_id])[settings.app_id]
    finally:
        admin.close()
    return str(group["group_state"]), len(group["members"])
