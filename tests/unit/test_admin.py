"""``topics create`` reports the partitions a topic really has (no broker needed)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.streaming.admin import partition_count
from pipeline.topics import TopicSpec

SPEC = TopicSpec("cx.interactions", 6, {})


def _partitions(n: int) -> list[dict[str, Any]]:
    return [{"partition_index": i, "leader_id": 1, "error_code": 0} for i in range(n)]


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # Described normally: what the broker says, even when it differs from what we ask for.
        ({"name": "cx.interactions", "error_code": 0, "partitions": _partitions(6)}, 6),
        ({"name": "cx.interactions", "error_code": 0, "partitions": _partitions(12)}, 12),
        # Just created, metadata not propagated yet: this printed "(0 partitions)" (issue 20).
        ({"name": "cx.interactions", "error_code": 3, "partitions": []}, 6),
        ({"name": "cx.interactions", "error_code": 5, "partitions": []}, 6),
        ({"name": "cx.interactions", "error_code": 0, "partitions": []}, 6),
        ({"name": "cx.interactions"}, 6),
        (None, 6),
    ],
)
def test_partition_count(meta: dict[str, Any] | None, expected: int) -> None:
    assert partition_count(meta, SPEC) == expected
