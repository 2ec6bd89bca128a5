"""The lake end to end on the real broker, and the report's headline numbers against the topics.

Synthetic traffic goes through a worker; the worker is stopped so the topics hold still. A
sink (its own process, flushing every few records so it writes many small files and compacts
them) is SIGKILLed as soon as its first file appears, then started again: the lake then holds
every record of the four topics exactly once (by topic, partition and offset, and by each
record's own key), no half-written file was ever visible, and the report's headline numbers
equal the same figures computed here from the topics.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from kafka import KafkaConsumer, TopicPartition

from pipeline.lake.files import list_files
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import TABLES
from pipeline.report import queries
from pipeline.report.lake_views import connect
from pipeline.report.period import Period
from pipeline.settings import Settings
from pipeline.tools.output_accounting import collect
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess, settings_env
from pipeline.tools.synthetic import generate
from tests.waiting import wait_until

N_EVENTS = 400
KEYS = {
    "enriched": lambda r: r["interaction_id"],
    "alerts": lambda r: f"{r['alert_id']}:{r['revision']}",
    "deadletter": lambda r: (
        f"{r['stage']}:{r['source']['topic']}:{r['source']['partition']}:{r['source']['offset']}"
    ),
    "duplicates": lambda r: r["interaction_id"],
}


def _on_topic(settings: Settings, topic: str) -> dict[tuple[int, int], dict[str, Any]]:
    """Every record of ``topic`` by (partition, offset)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        return {(m.partition, m.offset): json.loads(m.value) for m in consumer}
    finally:
        consumer.close()


def _sink(
    settings: Settings, lake: Path, log: Path, *, until_end: bool = True
) -> subprocess.Popen[bytes]:
    env = settings_env(settings) | {
        "CXSTREAM_LAKE_FLUSH_RECORDS": "7",
        "CXSTREAM_LAKE_COMPACT_FILES": "3",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "sink", "--lake", str(lake)]
            + (["--until-end"] if until_end else []),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _lake_rows(store: LakeStore, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for lake_file in list_files(store.fs, store.path(table)):
        rows += store.read(
            lake_file.path, columns=["_partition", "_offset", "_record_key"]
        ).to_pylist()
    return rows


def test_lake_holds_every_record_once_through_a_sigkill_and_the_report_counts_them(
    pipeline_settings: Settings, worker: WorkerProcess, tmp_path: Path
) -> None:
    settings = pipeline_settings
    records = generate(N_EVENTS, seed=5)
    delivered = produce(
        settings, [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    )
    collect(settings, len(delivered), timeout_s=300, settle_s=3, wait_enriched=True)
    assert worker.stop() == 0, worker.log_tail()
    on_topics = {t.name: _on_topic(settings, t.topic_of(settings.topics)) for t in TABLES}
    assert on_topics["enriched"] and on_topics["alerts"] and on_topics["deadletter"]

    lake, log = tmp_path / "lake", tmp_path / "sink.log"
    first = _sink(settings, lake, log)
    wait_until(
        "the sink's first file",
        lambda: first.poll() is not None or any(lake.rglob("*.parquet")),
        timeout_s=120,
        every_s=0.02,
        detail=lambda: log.read_text()[-2000:],
    )
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL, "the sink finished before it was killed"
    visible = list(lake.rglob("*.parquet"))
    assert visible
    for path in visible:  # whole files only: each one reads to its end
        assert pq.read_table(path).num_rows > 0

    second = _sink(settings, lake, log)
    assert second.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert not [p for p in lake.rglob("*") if p.name.endswith(".tmp")]

    store = LakeStore.open(lake)
    files = list_files(store.fs, store.root)
    assert any(f.compacted for f in files), "no compaction happened"
    for table in TABLES:
        rows = _lake_rows(store, table.name)
        places = [(r["_partition"], r["_offset"]) for r in rows]
        assert len(places) == len(set(places)), f"{table.name}: a record is in the lake twice"
        assert set(places) == set(on_topics[table.name]), f"{table.name}: rows missing"
        keys = {KEYS[table.name](r) for r in on_topics[table.name].values()}
        assert {r["_record_key"] for r in rows} == keys
        assert len(rows) == len(keys), f"{table.name}: lake rows != distinct records on the topic"

    # Started again on a whole lake, a sink writes nothing and stops cleanly on SIGTERM.
    third_log = tmp_path / "sink-3.log"
    third = _sink(settings, lake, third_log, until_end=False)
    wait_until(
        "the third sink to take every partition",
        lambda: third_log.read_text().count("starts at offset") == 4 * settings.partitions,
        timeout_s=120,
        detail=lambda: third_log.read_text()[-2000:],
    )
    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=60) == 0, third_log.read_text()[-2000:]
    assert ": 0 rows in 0 files" in third_log.read_text()
    assert list_files(store.fs, store.root) == files

    # The report's headline numbers against the topics.
    now = datetime.now(UTC)
    period = Period(now - timedelta(days=30), now + timedelta(days=2))
    enriched = list(on_topics["enriched"].values())
    by_channel = Counter(e["channel"] for e in {e["interaction_id"]: e for e in enriched}.values())
    customer = [e for e in enriched if e["scored"] and e["author_role"] == "customer"]
    negative = sum(e["scores"]["sentiment"]["label"] == "negative" for e in customer)
    opened = {
        a["alert_id"]: a["type"] for a in on_topics["alerts"].values() if a["status"] == "opened"
    }
    con = connect(store)
    try:
        assert queries.events_by_channel(con, period) == dict(by_channel)
        assert queries.overall(queries.negative_share(con, period)) == queries.Share(
            negative, len(customer)
        )
        assert queries.alerts_opened(con, period) == dict(Counter(opened.values()))
    finally:
        con.close()

    out = tmp_path / "report.html"
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "report",
            "--lake",
            str(lake),
            "--out",
            str(out),
            "--from",
            period.start.strftime("%Y-%m-%dT%H:%M:%S"),
            "--to",
            period.end.strftime("%Y-%m-%dT%H:%M:%S"),
        ],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    total = sum(by_channel.values())
    assert f"{total} events (" in out.read_text(encoding="utf-8")
