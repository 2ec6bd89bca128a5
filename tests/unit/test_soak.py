"""The soak's pure parts: slopes, the flatness verdict, metrics parsing, the traffic model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import generate_latest

from pipeline.metrics import Metrics
from pipeline.tools.soak.measurement import Scraped, parse_metrics
from pipeline.tools.soak.scenario import (
    MIN_CUSTOMERS,
    SoakError,
    check_plan,
    customers_for,
    population_records,
    sample_times,
    short_run_note,
)
from pipeline.tools.soak.verdict import (
    LAG_GROWTH_FLOOR,
    RSS_SLOPE_MAX,
    TABLE_GROWTH_FLOOR,
    Check,
    Sample,
    judge,
    slope_per_min,
)

DURATION_S = 600.0  # ten minutes, sampled every 15 s: the second half is 300 s .. 600 s
TIMES = sample_times(DURATION_S, 15.0)


def samples(
    rss: float = 400.0,
    rss_per_min: float = 0.0,
    tables: dict[str, tuple[float, float]] | None = None,
    lag_per_min: float | None = 0.0,
) -> list[Sample]:
    """A run whose series are linear in time: ``tables`` maps name → (size, keys per minute)."""
    out = []
    for t in TIMES:
        minutes = t / 60
        out.append(
            Sample(
                elapsed_s=t,
                produced=int(t * 50),
                accounted=int(t * 50),
                enriched=int(t * 45),
                rss_mb=rss + rss_per_min * minutes,
                lag=None if lag_per_min is None else 5 + lag_per_min * minutes,
                tables={
                    name: size + per_min * minutes
                    for name, (size, per_min) in (tables or {}).items()
                },
            )
        )
    return out


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# -- slope_per_min -------------------------------------------------------------------------------
def test_slope_of_a_flat_series_is_zero() -> None:
    assert slope_per_min([(0, 7.0), (15, 7.0), (30, 7.0), (45, 7.0)]) == pytest.approx(0.0)


def test_slope_is_per_minute_from_points_in_seconds() -> None:
    assert slope_per_min([(0, 10.0), (60, 12.0), (120, 14.0)]) == pytest.approx(2.0)
    assert slope_per_min([(0, 10.0), (30, 9.0), (60, 8.0)]) == pytest.approx(-2.0)


def test_slope_is_a_least_squares_fit_not_end_minus_start() -> None:
    # A sawtooth (expiry sweeps) that ends on a peak: end - start says +2/min, the fit says ~0.
    points = [(0, 100.0), (60, 104.0), (120, 100.0), (180, 104.0), (240, 100.0), (300, 104.0)]
    fitted = slope_per_min(points)
    assert fitted is not None
    assert abs(fitted) < 0.5


@pytest.mark.parametrize("points", [[], [(0, 1.0)], [(30, 1.0), (30, 5.0)]])
def test_slope_needs_two_distinct_times(points: list[tuple[float, float]]) -> None:
    assert slope_per_min(points) is None


# -- judge ---------------------------------------------------------------------------------------
def test_flat_run_is_flat() -> None:
    checks = judge(
        samples(tables={"dedupe-ids": (8000, 0), "customers": (100, 0)}),
        duration_s=DURATION_S,
        rate=50,
    )
    assert [c.name for c in checks] == [
        "worker RSS",
        "table customers",
        "table dedupe-ids",
        "consumer lag",
    ]
    assert all(c.flat for c in checks), [c.reason for c in checks]
    assert by_name(checks)["worker RSS"].slope_per_min == pytest.approx(0.0)


def test_rss_growing_faster_than_the_threshold_is_not_flat() -> None:
    check = judge(samples(rss_per_min=RSS_SLOPE_MAX * 2), duration_s=DURATION_S, rate=50)[0]
    assert check.name == "worker RSS"
    assert not check.flat
    assert check.slope_per_min == pytest.approx(RSS_SLOPE_MAX * 2)
    assert "MiB/min" in check.reason


def test_rss_just_under_the_threshold_is_flat() -> None:
    check = judge(samples(rss_per_min=RSS_SLOPE_MAX * 0.9), duration_s=DURATION_S, rate=50)[0]
    assert check.flat


def test_warm_up_growth_in_the_first_half_is_ignored() -> None:
    run = samples()
    warmed = [
        Sample(
            s.elapsed_s,
            s.produced,
            s.accounted,
            s.enriched,
            (200 + s.elapsed_s) if s.elapsed_s < DURATION_S / 2 else 520.0,
            s.lag,
            {"customers": min(100.0, s.elapsed_s)},
        )
        for s in run
    ]
    checks = judge(warmed, duration_s=DURATION_S, rate=50)
    assert all(c.flat for c in checks), [c.reason for c in checks]


def test_table_growing_more_than_five_percent_over_the_second_half_is_not_flat() -> None:
    # 10,000 keys growing 200/min: +1,000 over the 5-minute second half, ~10 % of its size.
    checks = by_name(
        judge(samples(tables={"conversations": (9000, 200)}), duration_s=DURATION_S, rate=50)
    )
    check = checks["table conversations"]
    assert not check.flat
    assert "keys/min" in check.reason


def test_table_growing_under_five_percent_is_flat() -> None:
    # ~10,000 keys growing 60/min: +300 over the second half, ~3 %.
    checks = by_name(
        judge(samples(tables={"conversations": (9700, 60)}), duration_s=DURATION_S, rate=50)
    )
    assert checks["table conversations"].flat


def test_small_table_growth_under_the_floor_is_flat() -> None:
    # A 20-key table growing by 40 keys over the second half: 200 % but under the noise floor.
    per_min = TABLE_GROWTH_FLOOR * 0.8 / 5
    checks = by_name(judge(samples(tables={"tiny": (20, per_min)}), duration_s=DURATION_S, rate=1))
    assert checks["table tiny"].flat


def test_growing_lag_is_not_flat() -> None:
    # At 50 events/s the backlog may grow by 500 (10 s of traffic) over the second half.
    checks = by_name(judge(samples(lag_per_min=200), duration_s=DURATION_S, rate=50))
    assert not checks["consumer lag"].flat
    checks = by_name(judge(samples(lag_per_min=LAG_GROWTH_FLOOR / 10), duration_s=600, rate=50))
    assert checks["consumer lag"].flat


def test_lag_is_not_judged_when_the_worker_does_not_report_it() -> None:
    checks = judge(samples(lag_per_min=None), duration_s=DURATION_S, rate=50)
    assert "consumer lag" not in {c.name for c in checks}


def test_too_few_samples_in_the_second_half_is_not_flat() -> None:
    run = [s for s in samples() if s.elapsed_s < DURATION_S / 2 or s.elapsed_s >= 590]
    check = judge(run, duration_s=DURATION_S, rate=50)[0]
    assert not check.flat
    assert check.slope_per_min is None
    assert "too few samples" in check.reason


def test_missing_rss_is_not_flat() -> None:
    run = [
        Sample(s.elapsed_s, s.produced, s.accounted, s.enriched, None, s.lag, s.tables)
        for s in samples()
    ]
    assert not judge(run, duration_s=DURATION_S, rate=50)[0].flat


# -- metrics text --------------------------------------------------------------------------------
def test_parse_metrics_reads_table_keys_lag_and_store_memory() -> None:
    metrics = Metrics()
    metrics.table_keys.labels(table="dedupe-ids").set(7421)
    metrics.table_keys.labels(table="customers").set(97)
    metrics.lag.labels(topic="cx.raw.chat", partition="0").set(3)
    metrics.lag.labels(topic="cx.interactions", partition="4").set(9)
    metrics.duplicates.labels(kind="redelivery").inc(5)
    metrics.store_memory.labels(part="cache").set(48 * 1024 * 1024)
    metrics.store_memory.labels(part="memtables").set(3 * 1024 * 1024 // 2)
    scraped = parse_metrics(generate_latest(metrics.registry).decode())
    assert scraped.tables == {"dedupe-ids": 7421.0, "customers": 97.0}
    assert scraped.lag == 12.0
    assert scraped.store_mb == {"cache": 48.0, "memtables": 1.5}


def test_parse_metrics_without_the_families() -> None:
    text = "# HELP other_total x\n# TYPE other_total counter\nother_total 3.0\n"
    assert parse_metrics(text) == Scraped()
    assert parse_metrics("") == Scraped()


# -- plan and traffic ------------------------------------------------------------------------------
def test_sample_times_cover_the_run_and_its_end() -> None:
    assert sample_times(60, 15) == [0, 15, 30, 45, 60]
    assert sample_times(70, 15) == [0, 15, 30, 45, 60, 70]


def test_check_plan_refuses_short_or_sparse_runs() -> None:
    check_plan(2, 10)
    with pytest.raises(SoakError, match="at least 1"):
        check_plan(0.5, 5)
    with pytest.raises(SoakError, match="samples in the second half"):
        check_plan(1, 20)  # 30 s and 60 s only: two samples


def test_population_grows_with_the_run_but_never_below_the_minimum() -> None:
    assert customers_for(60, 600) == 50
    assert customers_for(1, 60) == MIN_CUSTOMERS


def test_population_records_come_from_a_fixed_population_with_fresh_messages() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    first = population_records(300, customers=12, seed=1, now=now)
    second = population_records(300, customers=12, seed=2, now=now)
    assert len(first) == len(second) == 300
    persons = {r.person for r in first + second if r.person}
    assert persons <= {f"p{i:04d}" for i in range(1, 13)}
    valid = [r for r in first + second if r.expect == "interaction"]
    assert len(valid) > 200
    assert not {r.value for r in first if r in valid} & {r.value for r in second if r in valid}
    assert population_records(300, customers=12, seed=1, now=now) == first


def test_short_runs_are_told_the_dedupe_tables_cannot_settle() -> None:
    assert short_run_note(600) is None
    note = short_run_note(120)
    assert note is not None
    assert "NOT flat" in note
