"""The budgeted RocksDB store: real rocksdict databases sharing one cache and memtable budget."""

from __future__ import annotations

import os
from pathlib import Path

import faust
import pytest

from pipeline.settings import Settings
from pipeline.streaming.app import build_app
from pipeline.streaming.state_store import (
    BUDGET_OPTION,
    MIB,
    BudgetedOptions,
    BudgetedRocksDBStore,
    MemoryBudget,
    budget_for,
    store_url,
    table_options,
)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("rocksdb://", "cxrocksdb://"),
        ("RocksDB://", "cxrocksdb://"),
        ("rocksdb:///custom/path", "cxrocksdb:///custom/path"),
        ("memory://", "memory://"),
    ],
)
def test_store_url_routes_rocksdb_to_the_budgeted_store(configured: str, expected: str) -> None:
    assert store_url(configured) == expected


def test_only_rocksdb_gets_a_budget() -> None:
    assert budget_for("memory://", 64) is None
    assert table_options(None) == {}
    budget = budget_for("rocksdb://", 64)
    assert budget is not None and budget.total_bytes == 64 * MIB
    assert table_options(budget) == {BUDGET_OPTION: budget}


def test_a_budget_too_small_to_work_is_refused() -> None:
    with pytest.raises(ValueError, match="below 4 MiB"):
        MemoryBudget(1 * MIB)


def _fill(dbs: list[object], megabytes: int) -> None:
    """Write ``megabytes`` of distinct 1 KiB values, round-robin over the databases."""
    value = os.urandom(1024)
    for i in range(megabytes * 1024):
        dbs[i % len(dbs)][f"key-{i:08d}".encode()] = value  # type: ignore[index]


def test_databases_share_one_memtable_budget(tmp_path: Path) -> None:
    """Three databases with 8 MiB x 2 memtables each could hold 48 MiB; the 8 MiB budget
    (memtables flushed past half of it) keeps them near 4 MiB, and every write stays readable."""
    budget = MemoryBudget(8 * MIB)
    options = BudgetedOptions(budget, write_buffer_size=8 * MIB, max_write_buffer_number=2)
    dbs = [options.open(tmp_path / f"db{i}") for i in range(3)]
    try:
        _fill(dbs, 30)
        used = budget.usage()
        assert 0 < used["memtables"] <= budget.total_bytes
        assert used["cache"] >= used["memtables"]  # memtables are charged to the shared cache
        assert dbs[1][b"key-00000001"] is not None
        assert dbs[2][f"key-{30 * 1024 - 1:08d}".encode()] is not None
    finally:
        for db in dbs:
            db.close()


def test_many_small_memtables_fit_the_budget_without_flushing(tmp_path: Path) -> None:
    """40 databases holding 100 KiB each: with RocksDB's default 1 MiB arena blocks they would
    reserve 40 MiB, five times the memtable half of this budget, and flush over and over."""
    budget = MemoryBudget(16 * MIB)
    options = BudgetedOptions(budget, write_buffer_size=8 * MIB, max_write_buffer_number=2)
    dbs = [options.open(tmp_path / f"db{i}") for i in range(40)]
    try:
        value = os.urandom(1024)
        for i in range(100):
            for db in dbs:
                db[f"key-{i:04d}".encode()] = value
        assert budget.usage()["memtables"] <= budget.total_bytes // 2
        assert not list(tmp_path.glob("db*/*.sst"))  # nothing was flushed early
    finally:
        for db in dbs:
            db.close()


def test_blocks_read_from_sst_files_land_in_the_shared_cache(tmp_path: Path) -> None:
    budget = MemoryBudget(16 * MIB)
    options = BudgetedOptions(budget, write_buffer_size=1 * MIB, max_write_buffer_number=2)
    db = options.open(tmp_path / "db")
    try:
        _fill([db], 8)  # several 1 MiB memtables flushed to SST files
        db.flush()
        before = budget.cache.get_usage() - budget.write_buffers.get_usage()
        for i in range(0, 8 * 1024, 97):
            assert db[f"key-{i:08d}".encode()] is not None
        after = budget.cache.get_usage() - budget.write_buffers.get_usage()
        assert after > before  # blocks read from SST files land in the one cache
    finally:
        db.close()


def test_worker_tables_open_in_the_budgeted_store(tmp_path: Path) -> None:
    settings = Settings(web_port=0, scoring_enabled=False, state_dir=tmp_path, app_id="t")
    app = build_app(settings)
    app.finalize()
    table = app.tables["customers"]
    store = table.data
    assert isinstance(store, BudgetedRocksDBStore)
    assert isinstance(store.rocksdb_options, BudgetedOptions)
    assert isinstance(app.tables["dedupe-ids"].data, BudgetedRocksDBStore)


def test_the_budgeted_store_needs_its_budget(tmp_path: Path) -> None:
    app = faust.App("t", store="cxrocksdb://", datadir=str(tmp_path))
    table = app.Table("orphan", key_type=bytes, value_type=bytes)
    with pytest.raises(ValueError, match="needs a MemoryBudget"):
        _ = table.data
