"""Options shared by every state table: bounded memory per RocksDB database.

Faust's defaults give each table partition a 2 GiB block cache and 3 x 64 MiB memtables; a worker
holds about 16 such databases (6 tables, by partition), so resident memory would keep climbing
for a long time before it levels off. These bounds cap the worst case at about
16 x (2 x 8 + 16) MiB = 512 MiB, and the soak (docs/reliability.md) shows the plateau.
"""

from __future__ import annotations

from typing import Any

MIB = 1024 * 1024

TABLE_OPTIONS: dict[str, Any] = {
    "write_buffer_size": 8 * MIB,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 * MIB,
}
