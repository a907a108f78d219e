"""SQLite engine settings the app depends on (no server needed, so no PostgreSQL twin)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.sql.engine import create_engine_for


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine_for(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'app.db'}")
    yield engine
    engine.dispose()


def test_creates_the_parent_folder_and_sets_pragmas(engine: sa.Engine, tmp_path: Path) -> None:
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert (tmp_path / "nested" / "dir" / "app.db").exists()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] >= 5000


def test_transactions_begin_immediate(engine: sa.Engine, tmp_path: Path) -> None:
    """With BEGIN IMMEDIATE the write lock is taken at BEGIN, even before any write: a second
    writer is refused right away instead of failing later in a read-then-write upgrade."""
    other = sqlite3.connect(tmp_path / "nested" / "dir" / "app.db", timeout=0, isolation_level=None)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_savepoints_work(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        nested = connection.begin_nested()
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        nested.rollback()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]


def test_in_memory_database_works() -> None:
    engine = create_engine_for("sqlite://")
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
