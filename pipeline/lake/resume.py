"""Where a sink goes on for each topic partition, read back from the lake's file names.

The sink writes one batch of a partition at a time and finishes it before the next, so every
batch but the last one written is whole. The last one may be whole in some directories only
(the sink died between two renames). So a partition resumes at the first offset of its last
batch with the offsets that batch already put in the lake: the batch is read again and only
the missing rows are written, under the same name. No row is written twice and none is lost,
whatever the consumer group committed (the group's offsets are kept for lag monitoring only).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.lake.files import LakeFile, OffsetRange, list_files, list_temp_files
from pipeline.lake.store import LakeStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResumePoint:
    """How one topic partition continues."""

    next_offset: int | None
    """The first offset not in the lake; None: nothing in the lake yet (start at the earliest)."""
    repair: OffsetRange | None = None
    """The last batch, to read again before ``next_offset`` when it may be incomplete."""
    present: frozenset[int] = field(default_factory=frozenset)
    """Offsets of ``repair`` already in the lake (their rows are not written again)."""


def resume_point(
    store: LakeStore, files: list[LakeFile], topic: str, partition: int
) -> ResumePoint:
    """The resume point of ``topic``/``partition`` given every file of the lake."""
    mine = [f for f in files if (f.range.topic, f.range.partition) == (topic, partition)]
    if not mine:
        return ResumePoint(None)
    last = max(f.range.last for f in mine)
    batch_files = [f for f in mine if f.range.last == last and not f.compacted]
    if not batch_files:
        # compaction runs only between whole batches: a compacted file ending here is whole
        return ResumePoint(last + 1)
    first = max(f.range.first for f in batch_files)
    present: set[int] = set()
    for lake_file in mine:
        if lake_file.range.overlaps(first, last):
            offsets = store.read(lake_file.path, columns=["_offset"]).column("_offset")
            present.update(o for o in offsets.to_pylist() if first <= o <= last)
    return ResumePoint(last + 1, OffsetRange(topic, partition, first, last), frozenset(present))


def tidy(store: LakeStore) -> list[str]:
    """Remove what a sink that died left behind; return the paths removed.

    Half-written temporary files, and batch files that a compaction already copied whole into a
    compacted file (it died before deleting them): a file is removed only when every one of its
    offsets is in a compacted file of the same directory.
    """
    removed = list_temp_files(store.fs, store.root)
    for path in removed:
        store.delete(path)
    by_place: dict[tuple[str, str, int], list[LakeFile]] = defaultdict(list)
    for lake_file in list_files(store.fs, store.root):
        key = (lake_file.directory, lake_file.range.topic, lake_file.range.partition)
        by_place[key].append(lake_file)
    for group in by_place.values():
        for compacted in (f for f in group if f.compacted):
            covered: set[int] | None = None
            for other in group:
                if other is compacted or not compacted.range.contains(other.range):
                    continue
                if covered is None:
                    column = store.read(compacted.path, columns=["_offset"]).column("_offset")
                    covered = set(column.to_pylist())
                column = store.read(other.path, columns=["_offset"]).column("_offset")
                if set(column.to_pylist()) <= covered:
                    store.delete(other.path)
                    removed.append(other.path)
    for path in removed:
        log.info("lake: removed %s (left by a sink that stopped mid-write)", path)
    return removed
