"""OffsetWatch: replays are counted as read again, holes that never fill as skipped."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from pipeline.metrics import Metrics
from pipeline.streaming.offset_watch import MAX_HOLES, OffsetWatch, OffsetWatches

T = "cx.raw.web"


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


def _value(metrics: Metrics, name: str, stage: str) -> float:
    got = metrics.registry.get_sample_value(name, {"stage": stage})
    return got or 0.0


def _watch(metrics: Metrics, grace_s: float = 30.0) -> OffsetWatch:
    return OffsetWatch(
        "standardise", metrics.offsets_reread, metrics.offsets_skipped, grace_s=grace_s
    )


def test_reading_in_order_counts_nothing(metrics: Metrics) -> None:
    watch = _watch(metrics)
    for offset in range(5, 50):
        watch.saw(T, 0, offset, now=float(offset))
    assert watch.check(now=1000.0) == 0
    assert _value(metrics, "cxstream_offsets_reread_total", "standardise") == 0
    assert _value(metrics, "cxstream_offsets_skipped_total", "standardise") == 0


def test_a_replay_from_the_committed_offset_counts_as_read_again(metrics: Metrics) -> None:
    watch = _watch(metrics)
    for offset in [*range(0, 20), *range(12, 25)]:  # rebalance: back to committed offset 12
        watch.saw(T, 0, offset, now=0.0)
    assert _value(metrics, "cxstream_offsets_reread_total", "standardise") == 8
    assert watch.check(now=1000.0) == 0


def test_a_hole_that_never_fills_is_reported_after_the_grace_period(metrics: Metrics) -> None:
    watch = _watch(metrics, grace_s=30.0)
    for offset in [0, 1, 2, 7, 8]:  # 3..6 never delivered
        watch.saw(T, 1, offset, now=0.0)
    assert watch.check(now=29.0) == 0  # still within the grace period
    assert watch.check(now=31.0) == 4
    assert _value(metrics, "cxstream_offsets_skipped_total", "standardise") == 4
    assert watch.check(now=100.0) == 0  # reported once


def test_a_later_record_first_then_the_earlier_ones_is_no_loss(metrics: Metrics) -> None:
    """After a rebalance Faust may hand over a buffered later record before the replay."""
    watch = _watch(metrics)
    for offset in [0, 1, 2, 9, 3, 4, 5, 6, 7, 8, 9, 10]:
        watch.saw(T, 0, offset, now=0.0)
    assert watch.check(now=1000.0) == 0


def test_a_partly_filled_hole_reports_only_what_is_missing(metrics: Metrics) -> None:
    watch = _watch(metrics)
    for offset in [0, 10, 4, 5]:  # 1..9 jumped over; 4 and 5 arrive later
        watch.saw(T, 0, offset, now=0.0)
    assert watch.check(now=1000.0) == 7  # 1, 2, 3, 6, 7, 8, 9


def test_partitions_are_watched_separately(metrics: Metrics) -> None:
    watch = _watch(metrics)
    watch.saw(T, 0, 100, now=0.0)
    watch.saw(T, 1, 5, now=0.0)
    watch.saw(T, 0, 101, now=0.0)
    watch.saw("cx.raw.chat", 0, 0, now=0.0)
    assert watch.check(now=1000.0) == 0


def test_a_partition_regained_after_another_worker_read_it_starts_afresh(
    metrics: Metrics,
) -> None:
    watches = OffsetWatches(metrics.offsets_reread, metrics.offsets_skipped, grace_s=1.0)
    watch = watches.stage("resolve")
    watches.assigned([(T, 0), (T, 1)])
    watch.saw(T, 0, 10, now=0.0)
    watch.saw(T, 1, 10, now=0.0)
    watches.assigned([(T, 1)])  # T[0] moves to another worker, which reads 11..40
    watches.assigned([(T, 0), (T, 1)])  # and comes back
    watch.saw(T, 0, 41, now=0.0)
    watch.saw(T, 1, 11, now=0.0)
    assert watch.check(now=1000.0) == 0


def test_a_held_partition_keeps_its_history_across_a_rebalance(metrics: Metrics) -> None:
    watches = OffsetWatches(metrics.offsets_reread, metrics.offsets_skipped, grace_s=1.0)
    watch = watches.stage("resolve")
    watches.assigned([(T, 0)])
    watch.saw(T, 0, 10, now=0.0)
    watches.assigned([(T, 0), (T, 1)])  # still held: a jump past 11 is still a loss
    watch.saw(T, 0, 15, now=0.0)
    assert watches.check() == 4


def test_holes_per_partition_are_bounded(metrics: Metrics) -> None:
    watch = _watch(metrics)
    for i in range(MAX_HOLES + 3):
        watch.saw(T, 0, i * 2, now=0.0)  # every other offset missing
    assert len(watch.parts[(T, 0)].holes) == MAX_HOLES
    assert _value(metrics, "cxstream_offsets_skipped_total", "standardise") == 2
