"""The topics ``cxstream topics create`` makes, as the broker reports them."""

from __future__ import annotations

from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.settings import Settings
from pipeline.topics import topic_specs
from tests.waiting import wait_until


def _described_policies(admin: KafkaAdminClient, topics: list[str]) -> dict[str, str]:
    """``cleanup.policy`` of the topics the broker describes (a topic created a moment ago
    can come back with no configs while its metadata spreads: absent here)."""
    described: dict[str, Any] = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics], config_filter="all"
    )
    by_name = described.get("topic", {})
    return {
        t: str(by_name[t]["cleanup.policy"]["value"])
        for t in topics
        if "cleanup.policy" in by_name.get(t, {})
    }


def _cleanup_policies(settings: Settings, topics: list[str]) -> dict[str, str]:
    """``cleanup.policy`` of each topic, as the broker reports it."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    seen: dict[str, str] = {}
    try:

        def every_topic_described() -> bool:
            seen.update(_described_policies(admin, topics))
            return len(seen) == len(topics)

        wait_until(
            "every topic's configs described",
            every_topic_described,
            timeout_s=30,
            detail=lambda: sorted(set(topics) - set(seen)),
        )
    finally:
        admin.close()
    return seen


def test_identity_and_profiles_are_compacted_and_nothing_else(
    pipeline_settings: Settings,
) -> None:
    names = pipeline_settings.topics
    topics = [s.name for s in topic_specs(names, pipeline_settings.partitions)]
    assert len(topics) == len(set(topics)) >= 12

    policies = _cleanup_policies(pipeline_settings, topics)

    compacted = {names.identity, names.profiles}
    assert compacted == {
        f"{pipeline_settings.topic_prefix}identity",
        f"{pipeline_settings.topic_prefix}profiles",
    }
    assert {t: p for t, p in policies.items() if t in compacted} == dict.fromkeys(
        compacted, "compact"
    )
    assert {t: p for t, p in policies.items() if t not in compacted} == dict.fromkeys(
        set(topics) - compacted, "delete"
    )
