"""The Parquet lake without Kafka: schemas, file names, atomic batches, resume, compaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.contracts.records import Enriched
from pipeline.lake.batches import Batch, KafkaRecord, to_row
from pipeline.lake.compact import compact_directory
from pipeline.lake.files import OffsetRange, file_name, list_files, parse_file_name, temp_name
from pipeline.lake.resume import resume_point, tidy
from pipeline.lake.schema import UnsupportedType, arrow_type, lake_schema
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import REJECTED, table_named
from tests.unit.lake_factory import kafka_records, write
from tests.unit.workflow_factory import enriched

ENRICHED = table_named("enriched")
TOPIC = "cx.enriched"


def _offsets(store: LakeStore) -> list[int]:
    """Every ``_offset`` in the lake's visible files (all tables)."""
    found: list[int] = []
    for lake_file in list_files(store.fs, store.root):
        found += store.read(lake_file.path, columns=["_offset"]).column("_offset").to_pylist()
    return sorted(found)


def _mixed(n: int) -> list[Enriched]:
    """``n`` interactions over three channels (three partition directories)."""
    channels = ("chat", "email", "voice")
    return [
        enriched(f"text {i}", channel=channels[i % 3], interaction_id=f"i-{i}", minutes=i)
        for i in range(n)
    ]


@dataclass(frozen=True)
class CrashingStore(LakeStore):
    """A lake whose process dies (raises) after ``survive[0]`` more files were published."""

    survive: list[int] = field(default_factory=lambda: [0])

    def publish(self, table: pa.Table, directory: str, name: str) -> str:
        if self.survive[0] <= 0:
            raise SystemExit("killed mid-batch")
        self.survive[0] -= 1
        return super().publish(table, directory, name)


@pytest.fixture
def store(tmp_path: Path) -> LakeStore:
    return LakeStore.open(tmp_path / "lake")


def test_schema_keeps_nested_scores_as_structs() -> None:
    schema = lake_schema(Enriched)
    scores = schema.field("scores").type
    assert pa.types.is_struct(scores)
    sentiment = scores.field("sentiment").type
    assert sentiment.field("label").type == pa.string()
    assert sentiment.field("probabilities").type == pa.map_(pa.string(), pa.float64())
    emotion = scores.field("emotions").type.value_type
    assert pa.types.is_struct(emotion)
    assert (emotion.field("label").type, emotion.field("probability").type) == (
        pa.string(),
        pa.float64(),
    )
    assert schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("attributes").type == pa.string()  # free-form: JSON text
    assert schema.field("source").type.field("offset").type == pa.int64()
    assert not schema.field("interaction_id").nullable
    assert schema.field("customer_key").nullable
    for meta in ("_topic", "_partition", "_offset", "_kafka_timestamp", "_record_key"):
        assert meta in schema.names


def test_unknown_python_types_are_refused() -> None:
    with pytest.raises(UnsupportedType):
        arrow_type(set[int])
    with pytest.raises(UnsupportedType):
        arrow_type(dict[int, str])


def test_a_row_reads_back_as_the_record(store: LakeStore) -> None:
    record = enriched(
        "where is my parcel", negative=0.7, intent="delivery", attributes={"plan": ["a", 1]}
    )
    page_view = enriched(None, interaction_id="web-1", channel="web")
    write(store, ENRICHED, kafka_records(TOPIC, [record, page_view], first=41))
    (lake_file, web_file) = list_files(store.fs, store.root)
    unscored = store.read(web_file.path).to_pylist()[0]
    assert (unscored["scored"], unscored["scores"], unscored["ai"]) == (False, None, None)
    assert lake_file.directory.endswith("enriched/date=2026-11-02/channel=chat")
    row = store.read(lake_file.path).to_pylist()[0]
    assert row["interaction_id"] == record.interaction_id
    assert row["scores"]["sentiment"]["label"] == "negative"
    assert dict(row["scores"]["sentiment"]["probabilities"])["negative"] == pytest.approx(0.7)
    assert row["scores"]["intent"]["label"] == "delivery"
    assert json.loads(row["attributes"]) == {"plan": ["a", 1]}
    assert row["occurred_at"] == record.occurred_at
    assert (row["_topic"], row["_partition"], row["_offset"]) == (TOPIC, 0, 41)
    assert row["_record_key"] == record.interaction_id
    metadata = pq.read_metadata(lake_file.path)
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_a_record_that_breaks_the_contract_is_kept_as_rejected(store: LakeStore) -> None:
    good = enriched("fine", interaction_id="ok")
    records = kafka_records(TOPIC, [good, b'{"interaction_id": 3}', None])
    batch = write(store, ENRICHED, records)
    assert batch.rejected == 2
    assert batch.table_counts() == {"enriched": 1, REJECTED: 2}
    rejected = [f for f in list_files(store.fs, store.root) if f"/{REJECTED}/" in f.path]
    (lake_file,) = rejected
    assert f"topic={TOPIC}" in lake_file.directory
    rows = store.read(lake_file.path).to_pylist()
    assert [r["value"] for r in rows] == [b'{"interaction_id": 3}', None]
    assert rows[0]["error"].startswith("ValidationError")
    assert "tombstone" in rows[1]["error"]


def test_file_names_carry_topic_partition_and_offsets() -> None:
    offsets = OffsetRange("cx.enriched", 3, 100, 199)
    assert file_name(offsets) == "cx.enriched+3+100-199.parquet"
    assert parse_file_name(file_name(offsets)) == (offsets, False)
    assert parse_file_name(file_name(offsets, compacted=True)) == (offsets, True)
    assert parse_file_name(temp_name(file_name(offsets))) is None
    assert parse_file_name("notes.parquet") is None
    assert parse_file_name("_sink.lock") is None


def test_a_file_being_written_is_invisible(store: LakeStore, tmp_path: Path) -> None:
    directory = store.path("enriched", "date=2026-11-02", "channel=chat")
    Path(directory).mkdir(parents=True)
    Path(directory, temp_name("cx.enriched+0+0-9.parquet")).write_bytes(b"PAR1 half")
    assert list_files(store.fs, store.root) == []
    assert tidy(store) == [f"{directory}/{temp_name('cx.enriched+0+0-9.parquet')}"]
    assert list(Path(directory).iterdir()) == []


def test_writing_the_same_batch_again_adds_nothing(store: LakeStore) -> None:
    records = kafka_records(TOPIC, _mixed(9))
    write(store, ENRICHED, records)
    write(store, ENRICHED, records)
    assert _offsets(store) == list(range(9))
    assert len(list_files(store.fs, store.root)) == 3


def test_resume_after_a_crash_between_two_files_writes_only_what_is_missing(
    tmp_path: Path,
) -> None:
    records = kafka_records(TOPIC, _mixed(30))
    whole = LakeStore.open(tmp_path / "lake")
    write(whole, ENRICHED, records[:12])  # a whole first batch, offsets 0-11
    crashing = CrashingStore(whole.fs, whole.root, survive=[1])
    with pytest.raises(SystemExit):
        write(crashing, ENRICHED, records[12:24])  # second batch: 1 of its 3 files lands
    assert len(_offsets(whole)) == 12 + 4

    point = resume_point(whole, list_files(whole.fs, whole.root), TOPIC, 0)
    assert point.next_offset == 24
    assert point.repair == OffsetRange(TOPIC, 0, 12, 23)
    assert len(point.present) == 4

    # What the sink does: read the batch again, skip what is there, keep the batch's name.
    redo = Batch(TOPIC, 0, 12)
    for record in records[12:24]:
        present = record.offset in point.present
        redo.add(record.offset, None if present else to_row(ENRICHED, record))
    redo.last = point.repair.last
    redo.write(whole)
    write(whole, ENRICHED, records[24:])
    assert _offsets(whole) == list(range(30))


def test_resume_of_a_whole_lake_goes_on_after_the_last_offset(store: LakeStore) -> None:
    records = kafka_records(TOPIC, _mixed(10), partition=2, first=500)
    write(store, ENRICHED, records)
    point = resume_point(store, list_files(store.fs, store.root), TOPIC, 2)
    assert point.next_offset == 510
    assert point.present == frozenset(range(500, 510))  # nothing to repair
    assert resume_point(store, list_files(store.fs, store.root), TOPIC, 1).next_offset is None


def test_compaction_merges_small_files_in_offset_order(store: LakeStore) -> None:
    chats = [enriched(f"t{i}", interaction_id=f"c-{i}", minutes=i) for i in range(20)]
    records = kafka_records(TOPIC, chats)
    for start in range(0, 20, 4):
        write(store, ENRICHED, records[start : start + 4])
    (directory,) = {f.directory for f in list_files(store.fs, store.root)}
    assert compact_directory(store, directory, min_files=6) == []  # 5 files: below threshold
    (merged,) = compact_directory(store, directory, min_files=5)
    (lake_file,) = list_files(store.fs, store.root)
    assert lake_file.compacted and lake_file.range == OffsetRange(TOPIC, 0, 0, 19)
    assert lake_file.path == merged
    assert store.read(merged).column("_offset").to_pylist() == list(range(20))
    point = resume_point(store, list_files(store.fs, store.root), TOPIC, 0)
    assert (point.next_offset, point.repair) == (20, None)


def test_tidy_removes_copies_a_crashed_compaction_left(store: LakeStore) -> None:
    chats = [enriched(f"t{i}", interaction_id=f"c-{i}", minutes=i) for i in range(12)]
    records = kafka_records(TOPIC, chats)
    for start in range(0, 12, 4):
        write(store, ENRICHED, records[start : start + 4])
    files = list_files(store.fs, store.root)
    directory = files[0].directory
    # The compaction published its file of offsets 0-7 and died before deleting the sources.
    merged = pa.concat_tables([store.read(f.path) for f in files[:2]])
    store.publish(merged, directory, file_name(OffsetRange(TOPIC, 0, 0, 7), compacted=True))
    assert len(_offsets(store)) == 20

    removed = tidy(store)
    assert sorted(removed) == sorted(f.path for f in files[:2])
    assert _offsets(store) == list(range(12))


def test_tidy_keeps_a_file_whose_rows_a_compacted_file_lacks(store: LakeStore) -> None:
    chats = [enriched(f"t{i}", interaction_id=f"c-{i}", minutes=i) for i in range(8)]
    records = kafka_records(TOPIC, chats)
    write(store, ENRICHED, records[:4])
    write(store, ENRICHED, records[4:])
    files = list_files(store.fs, store.root)
    # A compacted file whose range covers the second file without holding its rows.
    only_first = store.read(files[0].path)
    store.publish(
        only_first, files[0].directory, file_name(OffsetRange(TOPIC, 0, 0, 7), compacted=True)
    )
    removed = tidy(store)
    assert removed == [files[0].path]
    assert _offsets(store) == list(range(8))


def _batch_rows(batch: Batch) -> dict[str, Any]:
    return {d: len(rows) for d, rows in batch.rows.items()}


def test_rows_go_to_date_and_channel_directories() -> None:
    batch = Batch(TOPIC, 0, 0)
    for record in kafka_records(TOPIC, _mixed(6)):
        batch.add(record.offset, to_row(ENRICHED, record))
    assert _batch_rows(batch) == {
        "enriched/date=2026-11-02/channel=chat": 2,
        "enriched/date=2026-11-02/channel=email": 2,
        "enriched/date=2026-11-02/channel=voice": 2,
    }
    assert batch.offsets == OffsetRange(TOPIC, 0, 0, 5)


def test_a_record_is_keyed_by_what_makes_it_one_record() -> None:
    alerts = table_named("alerts")
    assert alerts.record_key.__call__  # every table names its key
    record = KafkaRecord(
        TOPIC, 0, 7, None, enriched("x", interaction_id="chat:m-1").model_dump_json().encode()
    )
    assert to_row(ENRICHED, record).values["_record_key"] == "chat:m-1"
