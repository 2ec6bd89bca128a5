"""``cxstream risk fit --lake``: the lake's enriched table gives the same fit as the records."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import CHURN_EVENTS, RETENTION_EVENTS
from pipeline.lake.batches import Batch, to_row
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import table_named
from pipeline.risk.model import load_model
from pipeline.tools.risk_fit.history import read_enriched_lake
from pipeline.tools.risk_fit.run import fit_history
from pipeline.tools.synthetic.outcomes import outcome_history
from pipeline.workflow.config import load_rules
from tests.unit.lake_factory import kafka_records, write

RULES = load_rules()
ENRICHED = table_named("enriched")
TOPIC = "cx.enriched"
HORIZONS = {"churn_horizon_days": 7.0, "escalation_horizon_h": 24.0, "train_share": 0.7}


@cache
def history() -> list[Enriched]:
    return outcome_history(60, 40, seed=3)


def _sink(store: LakeStore, records: list[Enriched]) -> None:
    """The records as two topic partitions, each in two batches, the way the sink writes them;
    plus one record emitted twice (an at-least-once replay) and one row that breaks the
    contract (a file from a writer that did not validate)."""
    halves = {0: records[0::2], 1: records[1::2]}
    for partition, part in halves.items():
        kafka = kafka_records(TOPIC, [*part, part[0]], partition=partition)
        middle = len(kafka) // 2
        write(store, ENRICHED, kafka[:middle])
        write(store, ENRICHED, kafka[middle:])
    message = next(r for r in records if r.scores is not None and r.scores.urgency is not None)
    (broken,) = kafka_records(TOPIC, [message], partition=2)
    row = to_row(ENRICHED, broken)
    row.values.update(interaction_id="broken-1", _record_key="broken-1")
    row.values["scores"]["urgency"]["score"] = 7.0  # the contract says 0..1
    batch = Batch(TOPIC, 2, 0)
    batch.add(0, row)
    batch.write(store)


def test_the_lake_gives_back_the_records_in_event_time_order(tmp_path: Path) -> None:
    records = history()
    assert any(r.event_name in CHURN_EVENTS for r in records)  # outcome track events
    assert any(r.event_name in RETENTION_EVENTS for r in records)
    store = LakeStore.open(tmp_path / "lake")
    _sink(store, records)
    found = read_enriched_lake(tmp_path / "lake")
    assert (found.repeated, found.invalid) == (2, 1)
    assert found.first_error is not None and found.first_error.startswith(f"{TOPIC}+2+0")
    expected = sorted(records, key=lambda e: (e.occurred_at, e.interaction_id))
    assert [r.interaction_id for r in found.records] == [r.interaction_id for r in expected]
    assert found.records == expected  # every field, nested scores and JSON attributes included
    assert "1 rows that do not validate" in found.source and str(tmp_path) in found.source


def test_a_fit_from_the_lake_equals_the_fit_from_the_same_records(tmp_path: Path) -> None:
    records = history()
    _sink(LakeStore.open(tmp_path / "lake"), records)
    direct = fit_history(records, RULES, tmp_path / "direct", source="records", **HORIZONS)
    result = CliRunner().invoke(
        app,
        [
            "risk",
            "fit",
            "--lake",
            str(tmp_path / "lake"),
            "--churn-horizon-days",
            "7",
            "--out",
            str(tmp_path / "lake-fit"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"{direct.examples} decisions from {len(records)} enriched records" in result.output
    assert "1 enriched rows do not validate" in result.output
    model = load_model(tmp_path / "lake-fit" / "risk_model.json")
    assert (model.churn, model.escalation) == (direct.model.churn, direct.model.escalation)
    card = (tmp_path / "lake-fit" / "RISK_CARD.md").read_text("utf-8")
    assert f"the lake {tmp_path / 'lake'}" in card


def test_lake_and_kafka_options_exclude_each_other_and_an_empty_lake_is_one_line(
    tmp_path: Path,
) -> None:
    both = CliRunner().invoke(app, ["risk", "fit", "--lake", str(tmp_path), "--synthetic", "10"])
    assert both.exit_code == 1 and "--lake reads the lake, not Kafka" in both.output
    empty = CliRunner().invoke(app, ["risk", "fit", "--lake", str(tmp_path / "none")])
    assert empty.exit_code == 1
    (line,) = empty.output.strip().splitlines()
    assert line.startswith("error: no enriched table in the lake at") and "cxstream sink" in line


def test_a_file_written_before_a_nested_field_existed_reads_back(tmp_path: Path) -> None:
    """``scores.reply_template`` was added after lakes were written: old files still read."""
    message = next(r for r in history() if r.scores is not None)
    row = to_row(ENRICHED, kafka_records(TOPIC, [message])[0]).values
    del row["scores"]["reply_template"]
    scores = ENRICHED.schema.field("scores")
    old_scores = pa.struct([f for f in scores.type if f.name != "reply_template"])
    old = ENRICHED.schema.set(
        ENRICHED.schema.get_field_index("scores"), scores.with_type(old_scores)
    )
    directory = tmp_path / "lake" / "enriched" / "date=2026-12-01" / "channel=chat"
    directory.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=old), directory / f"{TOPIC}+0+0-0.parquet")
    found = read_enriched_lake(tmp_path / "lake")
    assert (found.records, found.invalid) == ([message], 0)
