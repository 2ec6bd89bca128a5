"""Topic administration with kafka-python: idempotent creation and end-offset queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.settings import Settings
from pipeline.streaming.security import check_access, client_config
from pipeline.topics import TopicSpec, topic_specs


@dataclass(frozen=True)
class TopicReport:
    name: str
    partitions: int
    created: bool


def create_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[TopicReport]:
    """Create every pipeline topic that does not exist yet; existing ones are left as they are."""
    wanted = (
        specs
        if specs is not None
        else topic_specs(settings.topics, settings.partitions, settings.max_record_bytes)
    )
    check_access(settings)
    admin = KafkaAdminClient(**client_config(settings), client_id="cxstream-admin")
    try:
        existing = set(admin.list_topics())
        missing = [s for s in wanted if s.name not in existing]
        created: set[str] = set()
        for spec in missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name=spec.name,
                            num_partitions=spec.partitions,
                            replication_factor=settings.replication_factor,
                            topic_configs=spec.config,
                        )
                    ]
                )
                created.add(spec.name)
            except TopicAlreadyExistsError:
                pass
        described = {meta["name"]: meta for meta in admin.describe_topics([s.name for s in wanted])}
    finally:
        admin.close()
    return [
        TopicReport(s.name, partition_count(described.get(s.name), s), s.name in created)
        for s in wanted
    ]


def partition_count(meta: Mapping[str, Any] | None, spec: TopicSpec) -> int:
    """A topic's partitions from its ``describe_topics`` entry, else the count it was asked for.

    Right after CreateTopics the broker's metadata may not know the topic yet: it answers with an
    error code (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE) and no partitions, which
    ``topics create`` printed as "(0 partitions)" for topics it had just made with 6 (issue 20).
    """
    if meta is None or meta.get("error_code", 0) != 0 or not meta.get("partitions"):
        return spec.partitions
    return len(meta["partitions"])


def end_offsets(settings: Settings, topics: list[str]) -> dict[TopicPartition, int]:
    """The current end offset of every partition of ``topics`` (e.g. where to start reading the
    records a run is about to produce)."""
    consumer = KafkaConsumer(**client_config(settings), client_id="cxstream-offsets")
    try:
        parts = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        result: dict[TopicPartition, int] = consumer.end_offsets(parts)
        return result
    finally:
        consumer.close()
