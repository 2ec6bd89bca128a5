"""Stall watchdog: a worker that has work but makes no progress restarts itself in place.

faust-streaming can stop consuming after the broker went away and came back (the consumer's
session expired and the group is never rejoined; reports #175 and #640 describe the same
symptom). Kafka's at-least-once delivery makes a restart safe (docs/reliability.md), so the
watchdog turns a silent stall into a logged, counted restart: when partitions assigned to this
worker have lag and no event was processed (and no table recovery moved) for
``CXSTREAM_STALL_TIMEOUT_S``, the process re-executes itself (same pid, same arguments, fresh
Kafka clients, tables reopened from RocksDB and their changelogs).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import faust

from pipeline.streaming.lag import LagMonitor, PartitionLag

log = logging.getLogger("cxstream.watchdog")

EXIT_LOG_FLUSH_S = 0.2
LAG_MAX_AGE_S = 30.0


TP = tuple[str, int]


class StallDetector:
    """Finds partitions that have lag but whose committed offset has not moved for a while."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self.clock = clock
        self.since: dict[TP, tuple[int, float]] = {}
        self.recovery_left: int | None = None

    def stalled(self, partitions: Mapping[TP, PartitionLag], recovery_left: int = 0) -> list[TP]:
        """The partitions stuck for ``timeout_s``: lag > 0 and the same committed offset.

        Table recovery that is still moving (``recovery_left`` changes) counts as progress for
        every partition: a large restore is slow, not stalled."""
        now = self.clock()
        recovering = recovery_left != self.recovery_left and self.recovery_left is not None
        self.recovery_left = recovery_left
        stuck: list[TP] = []
        since: dict[TP, tuple[int, float]] = {}
        for tp, part in partitions.items():
            before = self.since.get(tp)
            if part.lag == 0 or recovering or before is None or before[0] != part.committed:
                since[tp] = (part.committed, now)
                continue
            since[tp] = before
            if now - before[1] >= self.timeout_s:
                stuck.append(tp)
        self.since = since
        return sorted(stuck)


def owned(lag: Mapping[TP, PartitionLag], assigned: set[TP]) -> dict[TP, PartitionLag]:
    """The partitions this worker owns (other workers' lag is theirs to clear); with no
    partitions at all (it left the group and never rejoined), every partition of the group."""
    if not assigned:
        return dict(lag)
    return {tp: part for tp, part in lag.items() if tp in assigned}


def fresh(measured_at: float | None, max_age_s: float = LAG_MAX_AGE_S) -> bool:
    """Whether a lag measurement is recent enough to act on."""
    return measured_at is not None and time.monotonic() - measured_at <= max_age_s


def restart_in_place(reason: str) -> None:
    """Replace this process with a fresh copy of itself (same pid, arguments, environment)."""
    log.error("stall watchdog: %s; restarting the worker in place", reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(EXIT_LOG_FLUSH_S)
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def add_watchdog(app: faust.App, lag: LagMonitor, timeout_s: float) -> None:
    """Register the timer that restarts this worker in place when it is stalled."""
    detector = StallDetector(timeout_s)

    @app.timer(min(5.0, timeout_s / 4))  # type: ignore[untyped-decorator]
    async def stall_watchdog() -> None:
        if not fresh(lag.measured_at):  # the broker is away: nothing can progress, no verdict
            return
        assigned = {(tp.topic, tp.partition) for tp in app.consumer.assignment()}
        recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
        left = recovery.active_remaining_total() if recovery.in_recovery else 0
        stuck = detector.stalled(owned(lag.latest, assigned), left)
        if stuck:
            waiting = sum(lag.latest[tp].lag for tp in stuck)
            names = ", ".join(f"{t}[{p}]" for t, p in stuck[:5])
            restart_in_place(
                f"{waiting} messages wait on {len(stuck)} partitions ({names}) whose committed "
                f"offset has not moved for {timeout_s:.0f} s"
            )

    del stall_watchdog
