"""Compaction: many small batch files of one directory become one file.

A sink flushing every minute writes one small file per partition directory per batch; readers
pay per file. Once a directory holds ``min_files`` files smaller than ``TARGET_FILE_BYTES`` of
one topic partition, they are merged (rows in offset order) into one ``.compacted.parquet``
file named after the whole range, published atomically, and only then the small files are
deleted. A sink that dies in between leaves rows in both; ``resume.tidy`` removes the copies
at the next start, checking offsets, not names.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from pipeline.lake.files import LakeFile, OffsetRange, file_name, list_files
from pipeline.lake.store import LakeStore

TARGET_FILE_BYTES = 128 * 1024 * 1024
"""Files at least this large are left alone (a good size for readers and object stores)."""


def compact_directory(store: LakeStore, directory: str, min_files: int) -> list[str]:
    """Compact each topic partition's small files in ``directory``; return the files written."""
    groups: dict[tuple[str, int], list[LakeFile]] = defaultdict(list)
    for lake_file in list_files(store.fs, directory):
        if lake_file.directory == directory and lake_file.size < TARGET_FILE_BYTES:
            groups[(lake_file.range.topic, lake_file.range.partition)].append(lake_file)
    written = []
    for (topic, partition), small in sorted(groups.items()):
        if len(small) < min_files:
            continue
        tables = [store.read(f.path) for f in small]
        merged = pa.concat_tables(tables, promote_options="default").sort_by("_offset")
        offsets = OffsetRange(
            topic, partition, min(f.range.first for f in small), max(f.range.last for f in small)
        )
        written.append(store.publish(merged, directory, file_name(offsets, compacted=True)))
        for lake_file in small:
            store.delete(lake_file.path)
    return written
