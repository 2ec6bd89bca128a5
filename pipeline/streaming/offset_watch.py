"""What each stage read, per partition: records read again (replays) and offsets never read.

Faust tracks read and committed offsets itself, and has open reports of records skipped or
read twice around rebalances. A stage calls :meth:`OffsetWatch.saw` for every record it
takes. The watch keeps, per partition this worker owns, the highest offset read and the
*holes* below it: offsets jumped over and not read since. It reports:

* **read again** — an offset at or below the highest already read: the replay after a
  restart or rebalance that at-least-once delivery implies (outputs are idempotent);
* **skipped** — a hole still open ``grace_s`` after it appeared (a replay after a rebalance
  may deliver a later record before the earlier ones, so a hole gets time to fill). On the
  pipeline's own topics and on raw topics written without transactions this means records
  were lost before the stage saw them. A transactional producer leaves one offset per
  transaction to its commit marker, which counts here too.

A partition newly assigned to the worker starts afresh (:meth:`forget`): another worker may
have read it in between.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import Counter

log = logging.getLogger("cxstream.offsets")

GRACE_S = 30.0
MAX_HOLES = 64  # per partition; beyond this the oldest is reported at once
CHECK_EVERY_S = 1.0


@dataclass
class _Hole:
    start: int
    end: int  # inclusive
    since: float


@dataclass
class _Partition:
    high: int
    holes: list[_Hole] = field(default_factory=list)


class OffsetWatch:
    """The offsets one stage read, by ``(topic, partition)``."""

    def __init__(
        self, stage: str, reread: Counter, skipped: Counter, *, grace_s: float = GRACE_S
    ) -> None:
        self.stage = stage
        self.reread = reread.labels(stage=stage)
        self.skipped = skipped.labels(stage=stage)
        self.grace_s = grace_s
        self.parts: dict[tuple[str, int], _Partition] = {}
        self.checked_at = 0.0

    def saw(self, topic: str, partition: int, offset: int, now: float | None = None) -> None:
        """Record one read."""
        now = time.monotonic() if now is None else now
        key = (topic, partition)
        part = self.parts.get(key)
        if part is None:
            self.parts[key] = _Partition(high=offset)
            log.info("%s: reading %s[%d] from offset %d", self.stage, topic, partition, offset)
        elif offset <= part.high:
            self.reread.inc()
            self._fill(part, offset)
        else:
            if offset > part.high + 1:
                part.holes.append(_Hole(part.high + 1, offset - 1, now))
                if len(part.holes) > MAX_HOLES:
                    self._report(key, part.holes.pop(0))
            part.high = offset
        if now - self.checked_at >= CHECK_EVERY_S:
            self.checked_at = now
            self.check(now)

    def check(self, now: float | None = None) -> int:
        """Report the holes older than the grace period; return how many offsets they held."""
        now = time.monotonic() if now is None else now
        total = 0
        for key, part in self.parts.items():
            overdue = [h for h in part.holes if now - h.since >= self.grace_s]
            if overdue:
                part.holes = [h for h in part.holes if now - h.since < self.grace_s]
                total += sum(self._report(key, h) for h in overdue)
        return total

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Start afresh on these partitions (newly assigned: someone else may have read them)."""
        for key in partitions:
            self.parts.pop(key, None)

    def _fill(self, part: _Partition, offset: int) -> None:
        for i, hole in enumerate(part.holes):
            if hole.start <= offset <= hole.end:
                pieces = [
                    _Hole(hole.start, offset - 1, hole.since),
                    _Hole(offset + 1, hole.end, hole.since),
                ]
                part.holes[i : i + 1] = [h for h in pieces if h.start <= h.end]
                return

    def _report(self, key: tuple[str, int], hole: _Hole) -> int:
        count = hole.end - hole.start + 1
        self.skipped.inc(count)
        log.warning(
            "%s: %s[%d] offsets %d..%d were never read (%d records skipped)",
            self.stage,
            key[0],
            key[1],
            hole.start,
            hole.end,
            count,
        )
        return count


class OffsetWatches:
    """One :class:`OffsetWatch` per stage of a worker, told of every new assignment."""

    def __init__(self, reread: Counter, skipped: Counter, *, grace_s: float = GRACE_S) -> None:
        self.reread, self.skipped, self.grace_s = reread, skipped, grace_s
        self.watches: list[OffsetWatch] = []
        self.held: set[tuple[str, int]] = set()

    def stage(self, name: str) -> OffsetWatch:
        """A new watch for one stage."""
        watch = OffsetWatch(name, self.reread, self.skipped, grace_s=self.grace_s)
        self.watches.append(watch)
        return watch

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The worker now holds ``partitions``: forget the new ones and the ones it gave up."""
        now_held = set(partitions)
        changed = (now_held - self.held) | (self.held - now_held)
        for watch in self.watches:
            watch.forget(changed)
        self.held = now_held

    def check(self) -> int:
        """Report overdue holes of every stage (a timer calls this when records stop)."""
        return sum(watch.check() for watch in self.watches)
