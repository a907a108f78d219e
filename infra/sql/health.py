"""Database health probe for the health endpoint (satisfies ``application.ports.health.HealthProbe``).

The deadline is the caller's job (``application.health.CheckHealth`` runs each probe on a worker
thread and stops waiting after HEALTH_CHECK_TIMEOUT_SECONDS), so a black-holed server cannot hang
the health endpoint.
"""

from __future__ import annotations

from sqlalchemy import Engine


class DatabaseProbe:
    name = "database"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def check(self) -> None:
        self._select_one()

    def _select_one(self) -> None:
        # A raw DBAPI cursor, outside SQLAlchemy's transaction events: on SQLite the engine's
        # BEGIN IMMEDIATE would make the probe queue behind a long writer and report "down".
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back whatever the driver began
        if row is None or row[0] != 1:
            raise RuntimeError(f"unexpected answer to SELECT 1: {row!r}")
