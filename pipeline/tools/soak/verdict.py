"""Flat or not: each series' least-squares slope over the second half against its limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

RSS_SLOPE_MAX = 1.0  # MiB per minute over the second half
TABLE_GROWTH_MAX = 0.05  # share of the table's size, fitted growth over the second half
TABLE_GROWTH_FLOOR = 50.0  # keys: less growth than this is always flat
LAG_GROWTH_MAX_S = 10.0  # seconds of traffic the backlog may grow by over the second half
LAG_GROWTH_FLOOR = 100.0  # messages
MIN_FIT_SAMPLES = 3  # samples needed in the second half to fit a slope


@dataclass(frozen=True)
class Sample:
    """One observation of the running worker (counts are since the soak traffic started)."""

    elapsed_s: float
    produced: int
    accounted: int
    enriched: int
    rss_mb: float | None
    lag: float | None
    tables: dict[str, float] = field(default_factory=dict)
    store_mb: dict[str, float] = field(default_factory=dict)  # RocksDB budget use, by part


@dataclass(frozen=True)
class Check:
    """One series judged over the second half: its slope against the allowed slope."""

    name: str
    unit: str
    slope_per_min: float | None
    limit_per_min: float
    size: float | None  # mean over the second half
    points: int
    flat: bool
    reason: str = ""


def slope_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` points, per minute; None under 2 distinct x."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var_x = sum((x - mean_x) ** 2 for x, _ in points)
    if var_x == 0:
        return None
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return cov / var_x * 60.0


def second_half(samples: Sequence[Sample], duration_s: float) -> list[Sample]:
    """The samples after warm-up (the first half of the run)."""
    return [s for s in samples if s.elapsed_s >= duration_s / 2]


def judge_series(
    name: str, unit: str, points: Sequence[tuple[float, float]], limit_per_min: float
) -> Check:
    """Flat when the fitted slope is at most ``limit_per_min`` (needs ``MIN_FIT_SAMPLES``)."""
    size = sum(y for _, y in points) / len(points) if points else None
    slope = slope_per_min(points) if len(points) >= MIN_FIT_SAMPLES else None
    if slope is None:
        reason = f"too few samples in the second half ({len(points)} < {MIN_FIT_SAMPLES})"
        return Check(name, unit, None, limit_per_min, size, len(points), False, reason)
    flat = slope <= limit_per_min
    reason = "" if flat else f"grows {slope:+,.2f} {unit}/min > {limit_per_min:,.2f} allowed"
    return Check(name, unit, slope, limit_per_min, size, len(points), flat, reason)


def judge(samples: Sequence[Sample], *, duration_s: float, rate: float) -> list[Check]:
    """RSS, every state table and consumer lag, each judged over the second half of the run."""
    late = second_half(samples, duration_s)
    half_min = duration_s / 2 / 60
    rss = [(s.elapsed_s, s.rss_mb) for s in late if s.rss_mb is not None]
    checks = [judge_series("worker RSS", "MiB", rss, RSS_SLOPE_MAX)]
    for table in sorted({t for s in late for t in s.tables}):
        points = [(s.elapsed_s, s.tables[table]) for s in late if table in s.tables]
        size = sum(y for _, y in points) / len(points)
        allowed = max(TABLE_GROWTH_MAX * size, TABLE_GROWTH_FLOOR) / half_min
        checks.append(judge_series(f"table {table}", "keys", points, allowed))
    lag = [(s.elapsed_s, s.lag) for s in late if s.lag is not None]
    if lag:
        allowed = max(LAG_GROWTH_MAX_S * rate, LAG_GROWTH_FLOOR) / half_min
        checks.append(judge_series("consumer lag", "msgs", lag, allowed))
    return checks
