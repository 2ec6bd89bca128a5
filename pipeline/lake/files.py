"""Lake file names: each file says which topic, partition and offset range it holds.

``{topic}+{partition}+{first}-{last}.parquet`` (Kafka Connect's convention; ``+`` cannot occur
in a topic name) is one batch of the sink: every row of that topic partition between the two
offsets (inclusive) that belongs to this directory. A compacted file, which replaces several
batches of one directory, ends in ``.compacted.parquet``. Files being written have a name that
starts with ``.`` and ends in ``.tmp``: no reader's ``*.parquet`` glob (DuckDB, pyarrow
datasets) ever sees them, and they become visible only by an atomic rename.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyarrow import fs as pafs

SUFFIX = ".parquet"
COMPACTED_SUFFIX = ".compacted.parquet"
TMP_SUFFIX = ".tmp"
_NAME = re.compile(r"(?P<topic>[A-Za-z0-9._-]+)\+(?P<partition>\d+)\+(?P<first>\d+)-(?P<last>\d+)")


@dataclass(frozen=True, order=True)
class OffsetRange:
    """Where a file's rows came from: one topic partition, offsets ``first``..``last``."""

    topic: str
    partition: int
    first: int
    last: int

    def overlaps(self, first: int, last: int) -> bool:
        """True when this range shares an offset with ``first``..``last``."""
        return self.first <= last and first <= self.last

    def contains(self, other: OffsetRange) -> bool:
        """True when ``other`` lies within this range (same topic partition)."""
        return (
            (self.topic, self.partition) == (other.topic, other.partition)
            and self.first <= other.first
            and other.last <= self.last
        )


@dataclass(frozen=True)
class LakeFile:
    """One visible Parquet file of the lake."""

    path: str
    directory: str
    range: OffsetRange
    compacted: bool
    size: int


def file_name(offsets: OffsetRange, *, compacted: bool = False) -> str:
    """The file name of a batch (or a compacted file) covering ``offsets``."""
    stem = f"{offsets.topic}+{offsets.partition}+{offsets.first}-{offsets.last}"
    return stem + (COMPACTED_SUFFIX if compacted else SUFFIX)


def parse_file_name(name: str) -> tuple[OffsetRange, bool] | None:
    """The range of a lake file name and whether it is compacted; None for any other file."""
    if name.endswith(COMPACTED_SUFFIX):
        stem, compacted = name[: -len(COMPACTED_SUFFIX)], True
    elif name.endswith(SUFFIX):
        stem, compacted = name[: -len(SUFFIX)], False
    else:
        return None
    match = _NAME.fullmatch(stem)
    if match is None:
        return None
    offsets = OffsetRange(
        match["topic"], int(match["partition"]), int(match["first"]), int(match["last"])
    )
    return offsets, compacted


def temp_name(name: str) -> str:
    """The hidden name a file is written under before it is renamed to ``name``."""
    return f".{name}{TMP_SUFFIX}"


def list_files(fs: pafs.FileSystem, root: str) -> list[LakeFile]:
    """Every visible lake file under ``root`` (recursively); nothing when ``root`` is absent."""
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    found = []
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        parsed = parse_file_name(info.base_name)
        if parsed is None:
            continue
        offsets, compacted = parsed
        directory = info.path[: -len(info.base_name) - 1]
        found.append(LakeFile(info.path, directory, offsets, compacted, info.size or 0))
    return sorted(found, key=lambda f: (f.directory, f.range))


def list_temp_files(fs: pafs.FileSystem, root: str) -> list[str]:
    """Paths of files left half-written by a sink that died (safe to delete before a start)."""
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    return [
        info.path
        for info in fs.get_file_info(selector)
        if info.type == pafs.FileType.File
        and info.base_name.startswith(".")
        and info.base_name.endswith(TMP_SUFFIX)
    ]
