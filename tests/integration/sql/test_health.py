from __future__ import annotations

import pytest
import sqlalchemy as sa

from application.ports.health import HealthProbe
from infra.sql.engine import create_engine_for
from infra.sql.health import DatabaseProbe


def test_probe_passes_on_a_live_database(migrated_engine: sa.Engine) -> None:
    probe: HealthProbe = DatabaseProbe(migrated_engine)
    assert probe.name == "database"
    probe.check()


def test_probe_raises_when_the_server_is_down() -> None:
    engine = create_engine_for("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(Exception, match=r"(?i)connect|refused"):
            DatabaseProbe(engine).check()
    finally:
        engine.dispose()


def test_probe_does_not_queue_behind_a_sqlite_writer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_for(f"sqlite:///{tmp_path / 'busy.db'}")
    try:
        with engine.begin() as writer:  # holds the write lock (BEGIN IMMEDIATE)
            writer.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            DatabaseProbe(engine).check()
    finally:
        engine.dispose()
