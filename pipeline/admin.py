"""Topic administration with kafka-python: idempotent creation and end-offset queries."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.settings import Settings
from pipeline.topics import TopicSpec, topic_specs


@dataclass(frozen=True)
class TopicReport:
    name: str
    partitions: int
    created: bool


def create_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[TopicReport]:
    """Create every pipeline topic that does not exist yet; existing ones are left as they are."""
    wanted = specs if specs is not None else topic_specs(settings.topics, settings.partitions)
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="cxstream-admin"
    )
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
        partitions = _partition_counts(admin, [s.name for s in wanted])
    finally:
        admin.close()
    return [
        TopicReport(s.name, partitions.get(s.name, s.partitions), s.name in created) for s in wanted
    ]


def _partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for meta in admin.describe_topics(names):
        counts[meta["name"]] = len(meta.get("partitions") or [])
    return counts


def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """The current end offset of every partition of ``topics``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="cxstream-offsets")
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
