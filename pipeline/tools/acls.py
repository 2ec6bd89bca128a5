"""The ACLs a secured Kafka must grant: the worker's principal and a read-only alert desk.

The grants are data (:class:`Grant`), listed once here and in docs/security.md's table (a unit
test keeps the two equal); :func:`apply_grants` writes them with an admin client. Names follow
the settings: topics under ``CXSTREAM_TOPIC_PREFIX``, Faust's changelog and leader topics and the
consumer groups under ``CXSTREAM_APP_ID``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourceType,
)

from pipeline.settings import Settings

CLUSTER = "kafka-cluster"
TOPIC_OPERATIONS = ("CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ", "WRITE")


@dataclass(frozen=True)
class Grant:
    """Operations allowed on a resource: a topic, a consumer group or the cluster."""

    resource: str  # TOPIC, GROUP or CLUSTER
    name: str
    pattern: str  # LITERAL or PREFIXED
    operations: tuple[str, ...]
    why: str


def worker_grants(settings: Settings) -> list[Grant]:
    """What a worker (and the ``topics``, ``produce``, ``tail``, ``sink`` commands) needs."""
    return [
        Grant(
            "TOPIC",
            settings.topic_prefix,
            "PREFIXED",
            TOPIC_OPERATIONS,
            "the pipeline's topics: created at start, read and written by the agents",
        ),
        Grant(
            "TOPIC",
            f"{settings.app_id}-",
            "PREFIXED",
            TOPIC_OPERATIONS,
            "Faust's table changelogs and leader topic, created by the worker",
        ),
        Grant(
            "GROUP",
            settings.app_id,
            "PREFIXED",
            ("READ", "DESCRIBE"),
            "the worker's consumer group, the sink's (<app id>-lake) and the lag monitor",
        ),
        Grant(
            "CLUSTER",
            CLUSTER,
            "LITERAL",
            ("IDEMPOTENT_WRITE",),
            "the idempotent producer (brokers before Kafka 2.8 ask for it; WRITE on a topic "
            "suffices since)",
        ),
    ]


def desk_grants(settings: Settings) -> list[Grant]:
    """An alert desk that may only read ``cx.alerts`` (by partition assignment, no group)."""
    return [
        Grant(
            "TOPIC",
            settings.topics.alerts,
            "LITERAL",
            ("DESCRIBE", "READ"),
            "follow alert changes (`cxstream alerts`)",
        )
    ]


def acls(principal: str, grants: Iterable[Grant]) -> list[ACL]:
    """kafka-python ACL entries allowing ``principal`` (``User:<name>``) the grants, any host."""
    return [
        ACL(
            principal=principal,
            host="*",
            operation=ACLOperation[operation],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(
                ResourceType[grant.resource],
                grant.name,
                ACLResourcePatternType[grant.pattern],
            ),
        )
        for grant in grants
        for operation in grant.operations
    ]


def apply_grants(admin: KafkaAdminClient, principal: str, grants: Iterable[Grant]) -> int:
    """Create the ACLs of ``grants`` for ``principal``; return how many. Raises on a refusal."""
    entries = acls(principal, grants)
    result = admin.create_acls(entries)
    if result["failed"]:
        raise RuntimeError(f"the broker refused ACLs for {principal}: {result['failed']}")
    return len(entries)
