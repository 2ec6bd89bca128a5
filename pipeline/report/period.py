"""The report's time window and the window before it, of the same length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Period:
    """``start`` (inclusive) to ``end`` (exclusive), aware UTC datetimes."""

    start: datetime
    end: datetime

    @classmethod
    def between(cls, start: datetime | None, end: datetime | None) -> Period:
        """From CLI values: naive times are UTC; ``end`` defaults to now, ``start`` to a week
        before ``end``."""
        stop = _utc(end) if end is not None else datetime.now(UTC)
        begin = _utc(start) if start is not None else stop - timedelta(days=DEFAULT_DAYS)
        if begin >= stop:
            raise ValueError(f"--from {begin.isoformat()} is not before --to {stop.isoformat()}")
        return cls(begin, stop)

    @property
    def length(self) -> timedelta:
        """How long the period is."""
        return self.end - self.start

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - self.length, self.start)

    @property
    def bucket(self) -> timedelta:
        """Time resolution of the volume chart: 5 minutes up to 3 h, hours up to 2 days."""
        if self.length <= timedelta(hours=3):
            return timedelta(minutes=5)
        if self.length <= timedelta(days=2):
            return timedelta(hours=1)
        return timedelta(days=1)

    def describe(self) -> str:
        """E.g. ``2026-12-01 00:00 - 2026-12-08 00:00 UTC``."""
        fmt = "%Y-%m-%d %H:%M"
        return f"{self.start.strftime(fmt)} - {self.end.strftime(fmt)} UTC"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
