"""A lake table read back as contract records (``cxstream risk fit --lake``, docs/risk.md).

The rows of every visible file of the table are read as a pyarrow dataset with the schema the
contracts give today (a file written before a field was added reads it as null), turned back
into the fields of the contract (:func:`pipeline.lake.schema.row_fields`) and validated. One
row per ``_record_key`` is kept (the first by topic, partition and offset), as the report's
views do: a record the pipeline emitted twice, or a file a crashed compaction left beside its
merged copy, counts once. A row that does not validate is counted, not silently dropped.
The whole table is held in memory, as the Kafka replay holds the topic: the fit needs it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow.dataset as ds
from pyarrow import fs as pafs
from pydantic import BaseModel, ValidationError

from pipeline.lake.files import SUFFIX
from pipeline.lake.schema import row_fields
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import LakeTable


class NoLakeTable(LookupError):
    """The lake has no visible file of the table."""


@dataclass(frozen=True)
class LakeRecords:
    """What a read found: the valid records and how many rows were left out, and why."""

    records: list[BaseModel]
    files: int
    rows: int
    repeated: int
    invalid: int
    first_error: str | None = None


def table_files(store: LakeStore, table: LakeTable) -> list[str]:
    """The visible Parquet files of ``table`` (hidden files being written are skipped)."""
    selector = pafs.FileSelector(store.path(table.name), recursive=True, allow_not_found=True)
    return sorted(
        info.path
        for info in store.fs.get_file_info(selector)
        if info.type == pafs.FileType.File
        and info.base_name.endswith(SUFFIX)
        and not info.base_name.startswith(".")
    )


def read_records(store: LakeStore, table: LakeTable) -> LakeRecords:
    """Every record of ``table`` in the lake, one per record key, in Kafka order.

    Raises:
        NoLakeTable: the lake has no file of the table.
    """
    files = table_files(store, table)
    if not files:
        raise NoLakeTable(f"no {table.name} table in the lake at {store.root}")
    dataset = ds.dataset(files, schema=table.schema, format="parquet", filesystem=store.fs)
    rows: list[dict[str, Any]] = dataset.to_table().to_pylist()
    rows.sort(key=lambda r: (r["_topic"], r["_partition"], r["_offset"]))
    seen: set[str] = set()
    records: list[BaseModel] = []
    repeated = invalid = 0
    first_error: str | None = None
    for row in rows:
        if row["_record_key"] in seen:
            repeated += 1
            continue
        seen.add(row["_record_key"])
        try:
            records.append(table.model.model_validate(row_fields(table.model, row)))
        except (ValidationError, ValueError) as exc:
            invalid += 1
            if first_error is None:
                where = f"{row['_topic']}+{row['_partition']}+{row['_offset']}"
                first_error = f"{where}: {str(exc).splitlines()[0]}"
    return LakeRecords(records, len(files), len(rows), repeated, invalid, first_error)
