"""RocksDB table store with one memory budget for the whole worker.

Faust's RocksDB store gives every database (one per table partition; a worker holds about 16)
its own block cache and memtables, and keeps index and filter blocks outside any cache. Each of
those grows until its own bound, so a worker's resident memory climbed for tens of minutes
(soak: +4.7 to +6.5 MiB/min, docs/reliability.md) although every table was flat.

``rocksdb://`` in cxstream therefore means Faust's RocksDB store with one ``MemoryBudget`` per
worker process:

* one LRU block cache shared by every database, holding data blocks **and** index and filter
  blocks (``cache_index_and_filter_blocks``; level-0 ones pinned so lookups stay fast);
* one write-buffer manager that charges every memtable to that cache and flushes the largest
  once memtables together pass half the budget;
* small memtable arena blocks (128 KiB), so that many partitions' memtables holding a little
  each do not fill that half on their own.

So memtables + cached blocks stay under ``CXSTREAM_STORE_MEMORY_MIB`` together, whatever the
number of tables and partitions. ``memory://`` keeps Faust's in-memory store (state rebuilt from
the changelogs on every start).
"""

from __future__ import annotations

from typing import Any

import faust
import faust.stores
import rocksdict
from faust.stores import rocksdb as faust_rocksdb
from faust.types import AppT, CollectionT
from yarl import URL

MIB = 1024 * 1024
SCHEME = "rocksdb"
BUDGETED_SCHEME = "cxrocksdb"
BUDGET_OPTION = "cxstream_memory_budget"
WRITE_BUFFER_SIZE = 8 * MIB  # one memtable's ceiling; the budget flushes earlier when shared
MAX_WRITE_BUFFERS = 2
# A memtable holding anything reserves at least one arena block: RocksDB's default (1/8 of the
# write buffer, 1 MiB here) times ~50 databases of a worker owning many partitions would exceed
# the memtable half of the budget and make it flush tiny memtables over and over.
ARENA_BLOCK_SIZE = 128 * 1024


class MemoryBudget:
    """One block cache for every table's RocksDB database, with the memtables charged to it."""

    def __init__(self, total_bytes: int) -> None:
        if total_bytes < 4 * MIB:
            raise ValueError(f"a RocksDB memory budget below 4 MiB cannot work: {total_bytes}")
        self.total_bytes = total_bytes
        self.cache = rocksdict.Cache(total_bytes)
        self.write_buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            total_bytes // 2, False, self.cache
        )

    def usage(self) -> dict[str, int]:
        """Bytes now held: ``cache`` (blocks and the memtables charged to it), ``memtables``
        alone, ``pinned`` (entries in use, which the cache may not evict)."""
        return {
            "cache": self.cache.get_usage(),
            "memtables": self.write_buffers.get_usage(),
            "pinned": self.cache.get_pinned_usage(),
        }


class BudgetedOptions(faust_rocksdb.RocksDBOptions):
    """Faust's RocksDB options with the cache and memtables of a shared ``MemoryBudget``."""

    def __init__(self, budget: MemoryBudget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.budget = budget

    def as_options(self) -> rocksdict.Options:
        """Options of one database: shared cache, charged memtables, bloom filters."""
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(-1 if self.max_open_files is None else self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_arena_block_size(ARENA_BLOCK_SIZE)
        options.set_write_buffer_manager(self.budget.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_block_cache(self.budget.cache)
        table.set_bloom_filter(self.bloom_filter_size, True)
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


class BudgetedRocksDBStore(faust_rocksdb.Store):
    """Faust's RocksDB store (rocksdict driver) whose databases share one ``MemoryBudget``.

    The budget travels in the table's options under ``BUDGET_OPTION`` (see ``table_options``).
    """

    def __init__(
        self,
        url: str | URL,
        app: AppT,
        table: CollectionT,
        *,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        own = dict(options or {})
        budget = own.pop(BUDGET_OPTION, None)
        if not isinstance(budget, MemoryBudget):
            raise ValueError(
                f"table {table.name!r}: the {BUDGETED_SCHEME}:// store needs a MemoryBudget "
                f"in its options (pipeline.streaming.state_store.table_options)"
            )
        own["driver"] = "rocksdict"
        super().__init__(url, app, table, options=own, **kwargs)
        self.rocksdb_options = BudgetedOptions(
            budget,
            write_buffer_size=WRITE_BUFFER_SIZE,
            max_write_buffer_number=MAX_WRITE_BUFFERS,
            use_rocksdict=True,
        )


faust.stores.STORES[BUDGETED_SCHEME] = f"{__name__}:{BudgetedRocksDBStore.__name__}"


def is_rocksdb(configured: str) -> bool:
    """Whether ``CXSTREAM_STORE`` names RocksDB (any case)."""
    scheme, sep, _ = configured.partition(":")
    return bool(sep) and scheme.lower() == SCHEME


def store_url(configured: str) -> str:
    """The Faust store URL for ``CXSTREAM_STORE``: ``rocksdb://`` becomes the budgeted store."""
    if is_rocksdb(configured):
        return BUDGETED_SCHEME + configured[len(SCHEME) :]
    return configured


def table_options(budget: MemoryBudget | None) -> dict[str, Any]:
    """The ``options=`` of every ``app.Table``: the worker's budget (ignored by ``memory://``)."""
    return {} if budget is None else {BUDGET_OPTION: budget}


def budget_for(configured_store: str, memory_mib: int) -> MemoryBudget | None:
    """A worker's budget when its tables live in RocksDB, else None."""
    return MemoryBudget(memory_mib * MIB) if is_rocksdb(configured_store) else None
