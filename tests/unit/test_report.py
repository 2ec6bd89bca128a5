"""The CX report on a small hand-built lake: its numbers, sentences and the page itself."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline.contracts.records import Enriched
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import table_named
from pipeline.report import queries, sections
from pipeline.report.build import ReportError, write_report
from pipeline.report.lake_views import connect
from pipeline.report.period import Period
from tests.unit.lake_factory import alert, dead_letter, duplicate, kafka_records, write
from tests.unit.workflow_factory import T0, enriched

PERIOD = Period(T0, T0 + timedelta(hours=1))
NEG, POS = {"negative": 0.7, "positive": 0.1}, {"negative": 0.05, "positive": 0.8}


def _interactions() -> list[Enriched]:
    return [
        # this period: chat 3 (2 negative), email 2, voice 1 agent message, web 1 page view
        enriched("late again", **NEG, intent="delivery", minutes=1, interaction_id="c1"),
        enriched("still late", **NEG, intent="delivery", minutes=5, interaction_id="c2"),
        enriched("thanks", **POS, intent="billing", minutes=9, interaction_id="c3"),
        enriched("invoice?", channel="email", intent="billing", minutes=12, interaction_id="e1"),
        enriched(
            "invoice 2",
            channel="email",
            intent="billing",
            urgency="critical",
            minutes=14,
            interaction_id="e2",
            customer_key="cus_other",
        ),
        enriched("hello", channel="voice", author="agent", minutes=20, interaction_id="v1"),
        enriched(None, channel="web", minutes=30, interaction_id="w1"),
        # the pipeline emitted c1 again (an at-least-once replay): one record, two offsets
        enriched("late again", **NEG, intent="delivery", minutes=1, interaction_id="c1"),
        # the previous period: one negative chat
        enriched("where is it", **NEG, intent="delivery", minutes=-30, interaction_id="p1"),
    ]


def hand_built_lake(tmp_path: Path) -> LakeStore:
    """A lake with the interactions above, alerts, dead letters and a duplicate."""
    store = LakeStore.open(tmp_path / "lake")
    write(store, table_named("enriched"), kafka_records("cx.enriched", _interactions()))
    opened = alert("a1", "negative_streak", T0 + timedelta(minutes=10))
    alerts = [
        opened,
        alert(
            "a1",
            "negative_streak",
            T0 + timedelta(minutes=10),
            status="resolved",
            revision=2,
            resolved_after=timedelta(minutes=30),
        ),
        alert("a2", "waiting_sla", T0 + timedelta(minutes=20), channel="email"),
        opened,  # replayed
        alert("a0", "repeat_contact", T0 - timedelta(minutes=30)),
    ]
    write(store, table_named("alerts"), kafka_records("cx.alerts", alerts))
    dead = [
        dead_letter("invalid_json", T0 + timedelta(minutes=2), 1),
        dead_letter("invalid_json", T0 + timedelta(minutes=3), 2),
        dead_letter("missing_id", T0 - timedelta(minutes=3), 3),
    ]
    write(store, table_named("deadletter"), kafka_records("cx.deadletter", dead))
    dupes = [duplicate("redelivery", T0 + timedelta(minutes=4), 1)]
    write(store, table_named("duplicates"), kafka_records("cx.duplicates", dupes))
    return store


@pytest.fixture
def lake(tmp_path: Path) -> LakeStore:
    return hand_built_lake(tmp_path)


@pytest.fixture
def con(lake: LakeStore) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(lake)
    yield connection
    connection.close()


def test_headline_numbers(con: duckdb.DuckDBPyConnection) -> None:
    assert queries.events_by_channel(con, PERIOD) == {"chat": 3, "email": 2, "voice": 1, "web": 1}
    assert queries.events_by_channel(con, PERIOD.previous) == {"chat": 1}
    shares = queries.negative_share(con, PERIOD)
    assert shares == {"chat": queries.Share(2, 3), "email": queries.Share(0, 2)}
    assert queries.overall(shares).value == pytest.approx(0.4)
    assert queries.alerts_opened(con, PERIOD) == {"negative_streak": 1, "waiting_sla": 1}
    assert queries.alerts_opened(con, PERIOD.previous) == {"repeat_contact": 1}


def test_the_other_numbers(con: duckdb.DuckDBPyConnection) -> None:
    assert queries.intents(con, PERIOD) == {"billing": 3, "delivery": 2}
    assert queries.urgency_levels(con, PERIOD) == {"critical": 1, "normal": 4}
    assert queries.hours_to_resolve(con, PERIOD) == {"negative_streak": (0.5, 1)}
    assert queries.sla_breaches(con, PERIOD) == {"email": 1}
    assert queries.repeat_contact_customers(con, PERIOD) == queries.Share(1, 2)  # chat+email+web
    assert queries.deadletters(con, PERIOD) == {"invalid_json": 2}
    assert queries.duplicates(con, PERIOD) == {"redelivery": 1}
    assert queries.latest_event(con) == T0 + timedelta(minutes=30)
    volume = queries.volume_series(con, PERIOD)
    assert sum(n for _, n in volume["chat"]) == 3
    assert {"model", "routing rules", "alert rules"} >= {
        w for w, _, _ in queries.versions(con, PERIOD)
    }


def test_each_sentence_is_written_from_the_numbers(con: duckdb.DuckDBPyConnection) -> None:
    said = {s.title: s.says for s in sections.all_sections(con, PERIOD)}
    assert said["Headline"] == (
        "7 events (+600% vs the previous period), 40.0% of customer messages negative, "
        "2 alerts opened."
    )
    assert said["Sentiment by channel"].startswith(
        "40.0% of 5 customer messages were negative (-60.0 points vs the previous period's "
        "100.0%); chat was the most negative channel at 66.7%."
    )
    assert said["Top intents"] == (
        "billing was the most frequent intent (3, 60%); billing rose fastest "
        "(+60.0 points of share, 0 → 3)."
    )
    assert said["Alerts by type and time to resolve"] == (
        "2 alerts opened, most of them negative_streak (1); negative_streak took longest to "
        "resolve (median 30 min)."
    )
    assert said["SLA breaches"] == (
        "1 conversation waited past its SLA (no data in the previous period), most on email."
    )
    assert "No risk scores" in said["Risk distribution and emerging issues"]
    assert said["Data quality"] == (
        "2 dead letters, most invalid_json (2); 1 duplicates dropped, most redelivery (1)."
    )


def test_an_empty_period_says_so(con: duckdb.DuckDBPyConnection) -> None:
    empty = Period(T0 + timedelta(days=30), T0 + timedelta(days=31))
    said = {s.title: s for s in sections.all_sections(con, empty)}
    assert said["Sentiment by channel"].says == "No scored customer messages in this period."
    assert said["Sentiment by channel"].chart is None
    assert said["Alerts by type and time to resolve"].says == "No alerts opened in this period."


def test_the_page_is_self_contained(lake: LakeStore, tmp_path: Path) -> None:
    out = write_report(lake, PERIOD, tmp_path / "out" / "report.html")
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 6
    assert all(base64.b64decode(i).lstrip().startswith(b"<?xml") for i in images)
    assert "40.0% of customer messages negative" in page
    assert page.count('class="says"') == len(sections.all_sections(connect(lake), PERIOD))


def test_an_empty_lake_is_an_error_not_an_empty_report(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="holds no records"):
        write_report(LakeStore.open(tmp_path / "nothing"), PERIOD, tmp_path / "r.html")


def test_the_period_before_has_the_same_length() -> None:
    assert PERIOD.previous == Period(T0 - timedelta(hours=1), T0)
    assert PERIOD.bucket == timedelta(minutes=5)
    with pytest.raises(ValueError, match="not before"):
        Period.between(T0, T0)
