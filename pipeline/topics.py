"""Topic names and how they are created."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS: tuple[str, ...] = ("web", "chat", "email", "voice", "survey")


@dataclass(frozen=True)
class TopicNames:
    """Every topic of the pipeline, derived from one prefix (default ``cx.``)."""

    prefix: str = "cx."

    def raw(self, channel: str) -> str:
        """The raw input topic of one channel, e.g. ``cx.raw.chat``."""
        return f"{self.prefix}raw.{channel}"

    @property
    def raw_topics(self) -> list[str]:
        return [self.raw(c) for c in CHANNELS]

    @property
    def resolve(self) -> str:
        """Internal: standardised events waiting for dedupe and identity (1 partition)."""
        return f"{self.prefix}internal.resolve"

    @property
    def interactions(self) -> str:
        return f"{self.prefix}interactions"

    @property
    def enriched(self) -> str:
        """Interactions with scores and provenance (keyed by customer)."""
        return f"{self.prefix}enriched"

    @property
    def scored(self) -> str:
        """Internal: scored interactions and timer ticks for the workflow stage (by customer)."""
        return f"{self.prefix}internal.scored"

    @property
    def alerts(self) -> str:
        """Escalation alerts: opened / updated / resolved / expired (keyed by customer)."""
        return f"{self.prefix}alerts"

    @property
    def profiles(self) -> str:
        """Compacted: the latest profile of every customer."""
        return f"{self.prefix}profiles"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}deadletter"

    @property
    def duplicates(self) -> str:
        """Audit trail: one record per dropped duplicate."""
        return f"{self.prefix}duplicates"

    @property
    def identity(self) -> str:
        """Compacted: identity links and key merges."""
        return f"{self.prefix}identity"

    @property
    def privacy(self) -> str:
        """Erasure requests (``cxstream forget`` or any producer; 1 partition, docs/privacy.md)."""
        return f"{self.prefix}privacy"

    @property
    def erasures(self) -> str:
        """Audit: what each erasure request removed (keyed by request id; no personal data)."""
        return f"{self.prefix}erasures"

    @property
    def trend_samples(self) -> str:
        """Internal: sampled customer messages for the global trend detector (1 partition)."""
        return f"{self.prefix}internal.trends"

    @property
    def trends(self) -> str:
        """Emerging issues as they change (keyed by trend id)."""
        return f"{self.prefix}trends"

    def channel_of(self, topic: str) -> str | None:
        """The channel a raw topic belongs to, or None if it is not a raw topic."""
        head = f"{self.prefix}raw."
        if topic.startswith(head) and topic[len(head) :] in CHANNELS:
            return topic[len(head) :]
        return None


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(
    names: TopicNames, partitions: int, max_message_bytes: int = 1_048_576
) -> list[TopicSpec]:
    """What ``cxstream topics create`` creates (idempotently).

    Every topic takes records up to ``max_message_bytes`` (``CXSTREAM_MAX_RECORD_BYTES``): a
    producer writing more to a raw topic is refused at produce time, and everything the
    pipeline writes is bounded below it (dead letters keep a prefix of a large payload).
    """
    week = str(7 * 24 * 3600 * 1000)
    specs = [TopicSpec(t, partitions, {"retention.ms": week}) for t in names.raw_topics]
    specs += [
        TopicSpec(names.resolve, 1, {"retention.ms": week}),
        TopicSpec(names.interactions, partitions, {"retention.ms": week}),
        TopicSpec(names.scored, partitions, {"retention.ms": week}),
        TopicSpec(names.enriched, partitions, {"retention.ms": week}),
        TopicSpec(names.alerts, partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        TopicSpec(names.profiles, partitions, {"cleanup.policy": "compact"}),
        TopicSpec(names.deadletter, partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        TopicSpec(names.duplicates, partitions, {"retention.ms": week}),
        TopicSpec(names.identity, 1, {"cleanup.policy": "compact"}),
        # requests name a person in clear: kept as long as the raw topics, no longer
        TopicSpec(names.privacy, 1, {"retention.ms": week}),
        # the proof that a request was carried out (no personal data): kept for a year
        TopicSpec(names.erasures, 1, {"retention.ms": str(365 * 24 * 3600 * 1000)}),
        # one partition: emerging issues are decided in one place (docs/architecture.md §16)
        TopicSpec(names.trend_samples, 1, {"retention.ms": week}),
        TopicSpec(names.trends, partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
    ]
    for spec in specs:
        spec.config["max.message.bytes"] = str(max_message_bytes)
    return specs
