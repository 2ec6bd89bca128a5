"""The report's sections: each a chart (or a table) and one sentence written from its numbers.

A section whose data is absent says so in a sentence instead of showing an empty chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from pipeline.report import charts, queries
from pipeline.report.period import Period

URGENT_LEVELS = ("high", "critical")


@dataclass(frozen=True)
class Section:
    """One part of the report."""

    title: str
    says: str
    chart: str | None = None
    table: Sequence[tuple[str, ...]] = field(default_factory=list)
    header: tuple[str, ...] = ()


def pct(value: float | None) -> str:
    """``0.1234`` → ``12.3%``; ``n/a`` for nothing."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def versus(current: float, previous: float) -> str:
    """``+25% vs the previous period`` (or that there is nothing to compare with)."""
    if previous == 0:
        return "no data in the previous period" if current else "none in either period"
    change = (current - previous) / previous
    return f"{change:+.0%} vs the previous period"


def duration(hours: float) -> str:
    """``0.25`` → ``15 min``; ``5.5`` → ``5.5 h``."""
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def _share(counts: dict[str, int], key: str) -> float:
    total = sum(counts.values())
    return counts.get(key, 0) / total if total else 0.0


def headline(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Events per channel, negative share and alerts by type, this period vs the previous."""
    events, before = (queries.events_by_channel(con, p) for p in (period, period.previous))
    neg, neg_before = (queries.negative_share(con, p) for p in (period, period.previous))
    opened, opened_before = (queries.alerts_opened(con, p) for p in (period, period.previous))
    rows = [
        ("events", ch, str(events.get(ch, 0)), str(before.get(ch, 0)))
        for ch in sorted(set(events) | set(before))
    ]
    rows.append(("events", "all", str(sum(events.values())), str(sum(before.values()))))
    rows += [
        (
            "negative share",
            ch,
            pct(neg[ch].value if ch in neg else None),
            pct(neg_before[ch].value if ch in neg_before else None),
        )
        for ch in sorted(set(neg) | set(neg_before))
    ]
    rows.append(
        (
            "negative share",
            "all",
            pct(queries.overall(neg).value),
            pct(queries.overall(neg_before).value),
        )
    )
    rows += [
        ("alerts opened", kind, str(opened.get(kind, 0)), str(opened_before.get(kind, 0)))
        for kind in sorted(set(opened) | set(opened_before))
    ]
    total = sum(events.values())
    says = (
        f"{total} events ({versus(total, sum(before.values()))}), "
        f"{pct(queries.overall(neg).value)} of customer messages negative, "
        f"{sum(opened.values())} alerts opened."
    )
    return Section(
        "Headline", says, table=rows, header=("figure", "of", "this period", "previous period")
    )


def volume(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Events per channel over time."""
    series = queries.volume_series(con, period)
    title = "Volume by channel over time"
    if not series:
        return Section(title, "No events in this period.")
    per_channel = {ch: sum(n for _, n in points) for ch, points in series.items()}
    step = int(period.bucket.total_seconds())
    first = int(period.start.timestamp()) // step * step
    buckets = range(first, int(period.end.timestamp()), step)
    filled = {
        ch: [(float(b), dict(points).get(float(b), 0)) for b in buckets]
        for ch, points in series.items()
    }
    top = max(per_channel, key=lambda ch: per_channel[ch])
    total = sum(per_channel.values())
    minutes = period.bucket.total_seconds() / 60
    unit = f"{minutes:.0f} minutes" if minutes < 60 else f"{minutes / 60:.0f} h"
    says = (
        f"{total} events; {top} carried the most ({per_channel[top]}, "
        f"{per_channel[top] / total:.0%}). Counted per {unit} of event time."
    )
    return Section(title, says, chart=charts.lines(filled, label="events"))


def sentiment(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Negative share per channel and its change."""
    now, before = (queries.negative_share(con, p) for p in (period, period.previous))
    title = "Sentiment by channel"
    if not now:
        return Section(title, "No scored customer messages in this period.")
    channels = sorted(now)
    worst = max(channels, key=lambda ch: now[ch].value or 0.0)
    all_now, all_before = queries.overall(now), queries.overall(before)
    says = f"{pct(all_now.value)} of {all_now.whole} customer messages were negative"
    if all_before.whole:
        change = 100 * ((all_now.value or 0.0) - (all_before.value or 0.0))
        says += f" ({change:+.1f} points vs the previous period's {pct(all_before.value)})"
    says += f"; {worst} was the most negative channel at {pct(now[worst].value)}."
    chart = charts.bars(
        channels,
        [now[ch].value or 0.0 for ch in channels],
        [before[ch].value or 0.0 if ch in before else 0.0 for ch in channels] if before else None,
        label="negative share of customer messages",
        percent=True,
    )
    return Section(title, says, chart=chart)


def top_intents(con: duckdb.DuckDBPyConnection, period: Period, top: int = 10) -> Section:
    """The most frequent intents and the ones rising fastest (by share of messages)."""
    now, before = (queries.intents(con, p) for p in (period, period.previous))
    title = "Top intents"
    if not now:
        return Section(title, "No scored customer messages in this period.")
    labels = sorted(now, key=lambda k: (-now[k], k))[:top]
    leader = labels[0]
    says = f"{leader} was the most frequent intent ({now[leader]}, {_share(now, leader):.0%})"
    if before:
        rise = {k: _share(now, k) - _share(before, k) for k in set(now) | set(before)}
        fastest = max(sorted(rise), key=lambda k: rise[k])
        says += (
            f"; {fastest} rose fastest ({100 * rise[fastest]:+.1f} points of share, "
            f"{before.get(fastest, 0)} → {now.get(fastest, 0)})."
        )
    else:
        says += "; no previous period to say which intents are rising."
    chart = charts.bars(
        labels,
        [now[k] for k in labels],
        [before.get(k, 0) for k in labels] if before else None,
        label="customer messages",
    )
    return Section(title, says, chart=chart)


def urgency(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """The urgency mix."""
    now, before = (queries.urgency_levels(con, p) for p in (period, period.previous))
    title = "Urgency mix"
    if not now:
        return Section(title, "No scored customer messages in this period.")
    order: list[str] = [
        lvl for lvl in ("low", "normal", "high", "critical") if lvl in now or lvl in before
    ]
    order += sorted(set(now) - set(order))
    urgent = sum(_share(now, lvl) for lvl in URGENT_LEVELS)
    says = f"{urgent:.0%} of customer messages were high or critical urgency"
    if before:
        urgent_before = sum(_share(before, lvl) for lvl in URGENT_LEVELS)
        says += f" (previous period {urgent_before:.0%})"
    says += f"; {now.get('critical', 0)} critical."
    chart = charts.bars(
        order,
        [_share(now, lvl) for lvl in order],
        [_share(before, lvl) for lvl in order] if before else None,
        label="share of customer messages",
        percent=True,
    )
    return Section(title, says, chart=chart)


def alerts(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Alerts opened by type, with the median time to resolve."""
    now, before = (queries.alerts_opened(con, p) for p in (period, period.previous))
    hours = queries.hours_to_resolve(con, period)
    title = "Alerts by type and time to resolve"
    if not now:
        return Section(title, "No alerts opened in this period.")
    kinds = sorted(now, key=lambda k: (-now[k], k))
    says = f"{sum(now.values())} alerts opened, most of them {kinds[0]} ({now[kinds[0]]})"
    if hours:
        slowest = max(sorted(hours), key=lambda k: hours[k][0])
        says += f"; {slowest} took longest to resolve (median {duration(hours[slowest][0])})."
    else:
        says += "; none of them was resolved in the period."
    table = [
        (
            kind,
            str(now.get(kind, 0)),
            str(before.get(kind, 0)),
            f"{hours[kind][0]:.2f}" if kind in hours else "-",
            str(hours[kind][1]) if kind in hours else "0",
        )
        for kind in kinds
    ]
    chart = charts.bars(
        kinds,
        [now[k] for k in kinds],
        [before.get(k, 0) for k in kinds] if before else None,
        label="alerts opened",
    )
    return Section(
        title,
        says,
        chart=chart,
        table=table,
        header=("type", "opened", "previous", "median hours to resolve", "resolved"),
    )


def sla(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Waiting-time SLA breaches per channel."""
    now = queries.sla_breaches(con, period)
    before = sum(queries.sla_breaches(con, period.previous).values())
    title = "SLA breaches"
    if not now:
        return Section(title, f"No waiting-time SLA breaches in this period (previous: {before}).")
    top = max(sorted(now), key=lambda ch: now[ch])
    total = sum(now.values())
    noun = "conversation" if total == 1 else "conversations"
    says = f"{total} {noun} waited past its SLA ({versus(total, before)}), most on {top}."
    chart = charts.bars(sorted(now), [now[ch] for ch in sorted(now)], label="SLA breaches")
    return Section(title, says, chart=chart)


def repeats(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Customers contacting on several channels, and repeat-contact alerts."""
    share = queries.repeat_contact_customers(con, period)
    opened = queries.alerts_opened(con, period).get("repeat_contact", 0)
    title = "Repeat contacts"
    if not share.whole:
        return Section(title, "No customer messages in this period.")
    says = (
        f"{share.part} of {share.whole} customers ({pct(share.value)}) contacted on two or more "
        f"channels; {opened} repeat-contact alerts opened."
    )
    return Section(title, says)


def risk_and_trends() -> Section:
    """Risk scores and emerging issues: not written by the pipeline yet."""
    return Section(
        "Risk distribution and emerging issues",
        "No risk scores or trend records in the lake yet: the pipeline does not produce them, "
        "so this section is empty until it does.",
    )


def data_quality(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """Dead letters by reason and duplicates by kind."""
    dead, dupes = queries.deadletters(con, period), queries.duplicates(con, period)
    title = "Data quality"
    if not dead and not dupes:
        return Section(title, "No dead letters and no duplicates in this period.")
    parts = []
    if dead:
        top = next(iter(dead))
        parts.append(f"{sum(dead.values())} dead letters, most {top} ({dead[top]})")
    else:
        parts.append("no dead letters")
    if dupes:
        top = next(iter(dupes))
        parts.append(f"{sum(dupes.values())} duplicates dropped, most {top} ({dupes[top]})")
    else:
        parts.append("no duplicates")
    labels = [f"dead letter: {k}" for k in dead] + [f"duplicate: {k}" for k in dupes]
    values = list(dead.values()) + list(dupes.values())
    chart = charts.bars(labels, values, label="records")
    return Section(title, "; ".join(parts) + ".", chart=chart)


def provenance(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    """The model and rules versions behind the numbers."""
    rows = queries.versions(con, period)
    title = "Model and rules versions"
    if not rows:
        return Section(title, "No scored events or alerts in this period.")
    models = {v for what, v, _ in rows if what == "model"}
    says = f"{len(models)} model version{'s' if len(models) != 1 else ''} scored this period" + (
        ": numbers across versions may not be comparable." if len(models) > 1 else "."
    )
    return Section(
        title,
        says,
        table=[(what, version, str(n)) for what, version, n in rows],
        header=("what", "version", "records"),
    )


def all_sections(con: duckdb.DuckDBPyConnection, period: Period) -> list[Section]:
    """Every section, in reading order."""
    return [
        headline(con, period),
        volume(con, period),
        sentiment(con, period),
        top_intents(con, period),
        urgency(con, period),
        alerts(con, period),
        sla(con, period),
        repeats(con, period),
        risk_and_trends(),
        data_quality(con, period),
        provenance(con, period),
    ]
