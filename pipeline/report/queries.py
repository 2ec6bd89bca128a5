"""The report's numbers, each one SQL query over the lake views (``lake_views.connect``).

Every function takes a period and returns plain Python values, so the report's sentences and
the tests read the same numbers. "Customer messages" are scored interactions written by the
customer (agents' and bots' messages are scored too, but they are not the customer's mood).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from pipeline.report.period import Period

CUSTOMER_MESSAGES = "scored AND author_role = 'customer'"
IN_PERIOD = "{column} >= ? AND {column} < ?"


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, period: Period, *extra: Any
) -> list[tuple[Any, ...]]:
    return con.execute(sql, [period.start, period.end, *extra]).fetchall()


def _counts(con: duckdb.DuckDBPyConnection, sql: str, period: Period) -> dict[str, int]:
    return {str(key): int(n) for key, n in _rows(con, sql, period)}


def events_by_channel(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Enriched interactions (every event, scored or not) per channel, by event time."""
    where = IN_PERIOD.format(column="occurred_at")
    return _counts(
        con, f"SELECT channel, count(*) FROM enriched WHERE {where} GROUP BY 1 ORDER BY 1", period
    )


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole``."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        """The share, or None when there is nothing to share."""
        return self.part / self.whole if self.whole else None


def negative_share(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, Share]:
    """Customer messages labelled negative, per channel."""
    where = IN_PERIOD.format(column="occurred_at")
    rows = _rows(
        con,
        "SELECT channel, count(*) FILTER (WHERE scores.sentiment.label = 'negative'), count(*) "
        f"FROM enriched WHERE {where} AND {CUSTOMER_MESSAGES} GROUP BY 1 ORDER BY 1",
        period,
    )
    return {str(channel): Share(int(neg), int(total)) for channel, neg, total in rows}


def overall(shares: dict[str, Share]) -> Share:
    """All channels together."""
    return Share(sum(s.part for s in shares.values()), sum(s.whole for s in shares.values()))


def volume_series(
    con: duckdb.DuckDBPyConnection, period: Period
) -> dict[str, list[tuple[float, int]]]:
    """Events per channel per time bucket: ``{channel: [(bucket start epoch s, count)]}``."""
    seconds = int(period.bucket.total_seconds())
    where = IN_PERIOD.format(column="occurred_at")
    rows = _rows(
        con,
        f"SELECT channel, floor(epoch(occurred_at) / {seconds}) * {seconds} AS bucket, count(*) "
        f"FROM enriched WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
        period,
    )
    series: dict[str, list[tuple[float, int]]] = {}
    for channel, bucket, n in rows:
        series.setdefault(str(channel), []).append((float(bucket), int(n)))
    return series


def intents(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Customer messages per CX intent."""
    where = IN_PERIOD.format(column="occurred_at")
    return _counts(
        con,
        f"SELECT scores.intent.label, count(*) FROM enriched WHERE {where} AND "
        f"{CUSTOMER_MESSAGES} AND scores.intent IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
        period,
    )


def urgency_levels(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Customer messages per urgency level."""
    where = IN_PERIOD.format(column="occurred_at")
    return _counts(
        con,
        f"SELECT scores.urgency.level, count(*) FROM enriched WHERE {where} AND "
        f"{CUSTOMER_MESSAGES} AND scores.urgency IS NOT NULL GROUP BY 1 ORDER BY 1",
        period,
    )


def alerts_opened(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Alerts opened in the period, per type."""
    where = IN_PERIOD.format(column="opened_at")
    return _counts(
        con,
        f"SELECT type, count(*) FROM alerts WHERE status = 'opened' AND {where} "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        period,
    )


def hours_to_resolve(
    con: duckdb.DuckDBPyConnection, period: Period
) -> dict[str, tuple[float, int]]:
    """Median hours from opened to resolved, and how many were resolved, per alert type
    (alerts opened in the period; expired ones are not resolutions)."""
    where = IN_PERIOD.format(column="opened_at")
    rows = _rows(
        con,
        "SELECT type, median(epoch(closed_at) - epoch(opened_at)) / 3600.0, count(*) "
        f"FROM alerts WHERE status = 'resolved' AND closed_at IS NOT NULL AND {where} "
        "GROUP BY 1 ORDER BY 1",
        period,
    )
    return {str(kind): (float(hours), int(n)) for kind, hours, n in rows}


def sla_breaches(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Waiting-time SLA breaches opened in the period, per channel of the unanswered message."""
    where = IN_PERIOD.format(column="opened_at")
    return _counts(
        con,
        "SELECT coalesce(evidence[1].channel, 'unknown'), count(*) FROM alerts "
        f"WHERE type = 'waiting_sla' AND status = 'opened' AND {where} GROUP BY 1 ORDER BY 1",
        period,
    )


def repeat_contact_customers(con: duckdb.DuckDBPyConnection, period: Period) -> Share:
    """Customers who wrote on two or more channels, of all customers who wrote."""
    where = IN_PERIOD.format(column="occurred_at")
    rows = _rows(
        con,
        "SELECT count(*) FILTER (WHERE channels >= 2), count(*) FROM ("
        "SELECT customer_key, count(DISTINCT channel) AS channels FROM enriched "
        f"WHERE {where} AND author_role = 'customer' AND customer_key IS NOT NULL "
        "GROUP BY 1)",
        period,
    )
    part, whole = rows[0]
    return Share(int(part), int(whole))


def deadletters(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Dead letters per reason code."""
    where = IN_PERIOD.format(column="failed_at")
    return _counts(
        con,
        f"SELECT reason_code, count(*) FROM deadletter WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1",
        period,
    )


def duplicates(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, int]:
    """Dropped duplicates per kind."""
    where = IN_PERIOD.format(column="dropped_at")
    return _counts(
        con,
        f"SELECT kind, count(*) FROM duplicates WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1",
        period,
    )


def versions(con: duckdb.DuckDBPyConnection, period: Period) -> list[tuple[str, str, int]]:
    """What produced the numbers: ``(what, version, records)`` for models and rules files."""
    scored = IN_PERIOD.format(column="occurred_at")
    opened = IN_PERIOD.format(column="opened_at")
    rows = con.execute(
        "SELECT 'model', ai.model || ' ' || ai.version || ' (sha256 ' || left(ai.sha256, 12) "
        f"|| '…)', count(*) FROM enriched WHERE {scored} AND ai IS NOT NULL GROUP BY 1, 2 "
        "UNION ALL SELECT 'routing rules', routing.rules_version, count(*) FROM enriched "
        f"WHERE {scored} AND routing IS NOT NULL GROUP BY 1, 2 "
        "UNION ALL SELECT 'alert rules', rules_version, count(*) FROM alerts "
        f"WHERE {opened} GROUP BY 1, 2 ORDER BY 1, 3 DESC",
        [period.start, period.end] * 3,
    ).fetchall()
    return [(str(what), str(version), int(n)) for what, version, n in rows]


def latest_event(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Event time of the newest interaction in the lake (None: no interactions)."""
    row = con.execute("SELECT epoch(max(occurred_at)) FROM enriched").fetchone()
    return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], tz=UTC)


def lake_tables(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records per lake table, all time (to say which sections have data)."""
    names = ("enriched", "alerts", "deadletter", "duplicates")
    return {name: int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in names}  # type: ignore[index]
