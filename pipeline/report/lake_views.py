"""The lake opened in DuckDB: one view per table, one row per record.

Tables are read as pyarrow datasets over the lake's filesystem (any pyarrow URI works, and
hidden temporary files are skipped), with the schema the contracts give today, so files
written before a field was added read it as null. The views keep one row per ``_record_key``:
a record the pipeline emitted twice (an at-least-once replay) counts once.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from pyarrow import fs as pafs

from pipeline.lake.files import SUFFIX
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import TABLES


def connect(store: LakeStore) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per lake table (empty when it has no files)."""
    con = duckdb.connect()
    for table in TABLES:
        path = store.path(table.name)
        files = [
            info.path
            for info in store.fs.get_file_info(
                pafs.FileSelector(path, recursive=True, allow_not_found=True)
            )
            if info.base_name.endswith(SUFFIX) and not info.base_name.startswith(".")
        ]
        source: pa.Table | ds.Dataset
        if files:
            source = ds.dataset(files, schema=table.schema, format="parquet", filesystem=store.fs)
        else:
            source = table.schema.empty_table()
        con.register(f"{table.name}_rows", source)
        con.execute(
            f"CREATE VIEW {table.name} AS SELECT * FROM {table.name}_rows "
            "QUALIFY row_number() OVER (PARTITION BY _record_key "
            "ORDER BY _topic, _partition, _offset) = 1"
        )
    return con
