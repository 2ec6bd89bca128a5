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
from dataclasses import dataclass
from typing import Any

import faust

from pipeline.lag import LagMonitor

log = logging.getLogger("cxstream.watchdog")

EXIT_LOG_FLUSH_S = 0.2
LAG_MAX_AGE_S = 30.0


@dataclass
class Progress:
    """One look at the worker: events handled so far, recovery left, lag of its partitions."""

    events: int
    recovery_left: int
    lag: int


class StallDetector:
    """Decides, from successive :class:`Progress` samples, whether the worker is stalled."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self.clock = clock
        self.last: Progress | None = None
        self.since = clock()

    def stalled(self, now: Progress) -> bool:
        """True when there is lag and neither events nor recovery moved for ``timeout_s``."""
        moved = (
            self.last is None
            or now.events != self.last.events
            or now.recovery_left != self.last.recovery_left
            or now.lag == 0
        )
        self.last = now
        if moved:
            self.since = self.clock()
            return False
        return self.clock() - self.since >= self.timeout_s

    def idle_for(self) -> float:
        return self.clock() - self.since


def assigned_lag(lag: Mapping[tuple[str, int], int], assigned: set[tuple[str, int]]) -> int:
    """Total lag of the partitions this worker owns (other workers' lag is theirs to clear);
    with no partitions at all (it left the group and never rejoined), the group's lag."""
    if not assigned:
        return sum(lag.values())
    return sum(v for tp, v in lag.items() if tp in assigned)


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
        assigned = {(tp.topic, tp.partition) for tp in app.consumer.assignment()}
        recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
        now = Progress(
            events=app.monitor.events_total,
            recovery_left=recovery.active_remaining_total() if recovery.in_recovery else 0,
            # Unknown lag (the broker is away, so nothing can progress) never restarts anyone.
            lag=assigned_lag(lag.latest, assigned) if fresh(lag.measured_at) else 0,
        )
        if detector.stalled(now):
            restart_in_place(
                f"{now.lag} messages wait on this worker's partitions and nothing was processed "
                f"for {detector.idle_for():.0f} s"
            )

    del stall_watchdog
