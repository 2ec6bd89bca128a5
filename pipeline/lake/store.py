"""Where the lake lives and how a file appears in it atomically.

``CXSTREAM_LAKE_DIR`` is a local directory or any URI pyarrow's filesystems take
(``s3://bucket/cx-lake``, ``gs://bucket/cx-lake``, ``hdfs://namenode/cx-lake``; credentials
come from the usual environment of each). On a local disk a file is written under a hidden
temporary name, flushed to disk (fsync) and renamed: a reader sees all of it or nothing, also
after SIGKILL or a power loss. An object store has no rename, but an object (a multipart upload
included) becomes visible only when its upload completes, which gives the same guarantee, so
there the file is written under its final name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from pipeline.lake.files import temp_name

ROW_GROUP_ROWS = 128 * 1024
"""Rows per Parquet row group: large enough for good zstd ratios and column skipping."""


@dataclass(frozen=True)
class LakeStore:
    """A lake root on one filesystem."""

    fs: pafs.FileSystem
    root: str

    @classmethod
    def open(cls, location: str | Path, *, create: bool = True) -> LakeStore:
        """The lake at a local path or a filesystem URI (created when missing, if ``create``)."""
        text = str(location)
        if "://" in text:
            fs, root = pafs.FileSystem.from_uri(text)
        else:
            fs, root = pafs.LocalFileSystem(), str(Path(text).resolve())
        if create:
            fs.create_dir(root, recursive=True)
        return cls(fs, root.rstrip("/"))

    @property
    def local(self) -> bool:
        """True for a local directory (temporary name + fsync + rename)."""
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        """A path below the root."""
        return "/".join([self.root, *parts])

    def publish(self, table: pa.Table, directory: str, name: str) -> str:
        """Write ``table`` as ``directory/name`` (zstd Parquet): it appears whole or not at all."""
        self.fs.create_dir(directory, recursive=True)
        final = f"{directory}/{name}"
        if not self.local:
            pq.write_table(
                table,
                final,
                filesystem=self.fs,
                compression="zstd",
                row_group_size=ROW_GROUP_ROWS,
            )
            return final
        tmp = f"{directory}/{temp_name(name)}"
        with open(tmp, "wb") as handle:
            pq.write_table(table, handle, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        _fsync_dir(directory)
        return final

    def exists(self, path: str) -> bool:
        """True when a file is at ``path``."""
        return bool(self.fs.get_file_info(path).type == pafs.FileType.File)

    def read(self, path: str, columns: list[str] | None = None) -> pa.Table:
        """One lake file (only ``columns`` when given)."""
        return pq.read_table(path, columns=columns, filesystem=self.fs)

    def delete(self, path: str) -> None:
        """Remove one file."""
        self.fs.delete_file(path)


def _fsync_dir(directory: str) -> None:
    """Make a rename durable: the directory entry itself is flushed."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
