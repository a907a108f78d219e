"""Database health probe for the health endpoint (satisfies ``application.ports.health.HealthProbe``).

The query runs on a worker thread with a deadline: a black-holed server can otherwise hang a
connect for the driver's full login timeout, and a health endpoint that hangs is worse than one
that says "down".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import Engine

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _shared_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-health")
        return _executor


class DatabaseProbe:
    name = "database"

    def __init__(self, engine: Engine, *, timeout_seconds: float = 3.0) -> None:
        self._engine = engine
        self._timeout = timeout_seconds

    def check(self) -> None:
        future = _shared_executor().submit(self._select_one)
        try:
            future.result(timeout=self._timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"database did not answer within {self._timeout:g} s") from None

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
