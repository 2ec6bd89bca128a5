"""Options shared by every state table: bounded memory per RocksDB database.

Faust's defaults give each table partition a 2 GiB block cache and 3 x 64 MiB memtables; a worker
holds about 16 such databases (6 tables, by partition). These bounds cap memtables and caches at
16 x (2 x 8 + 16) MiB = 512 MiB. They do not make RocksDB's resident memory flat: the soak
(docs/reliability.md) still sees it rise ~5-6 MiB/min after 10 minutes, also with 2 MiB
memtables and 4 MiB caches, while the in-memory store stays flat — the next suspects are the
per-file index/filter blocks outside the cache (``cache_index_and_filter_blocks``) and the
number of open SST files, which Faust's RocksDB options do not expose.
"""

from __future__ import annotations

from typing import Any

MIB = 1024 * 1024

TABLE_OPTIONS: dict[str, Any] = {
    "write_buffer_size": 8 * MIB,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 * MIB,
}
