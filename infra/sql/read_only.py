"""Pooled connections for read-only work on the request hot path (bearer check, search).

A unit of work (``infra/sql/unit_of_work.py``) is the right tool for use cases that write: one
ORM ``Session``, one transaction, ``BEGIN IMMEDIATE`` on SQLite. For a lookup that only reads it
is pure overhead, measured on the search benchmark's machine (2 vCPU, client and server on the
same cores; p50 of one primary-key read of ``auth_sessions``):

==========  ========================  ===========================  ==========================
dialect     unit of work (ORM)        Core, own transaction        :func:`read_only_connection`
==========  ========================  ===========================  ==========================
SQLite      0.60 ms                   0.30 ms (deferred ``BEGIN``)  0.30 ms (same)
PostgreSQL  1.18 ms                   0.87 ms                      0.44 ms (autocommit)
==========  ========================  ===========================  ==========================

- **SQLite** keeps a transaction, but a deferred one (the engine's ``sqlite_deferred`` option):
  it never takes the write lock, so a read never waits for, or delays, a writer; and a reader
  that runs two statements (search: membership, then the match) sees one snapshot. Autocommit
  is slower there (pysqlite's implicit transactions) and gains nothing.
- **PostgreSQL and Azure SQL** run in autocommit: a single statement is its own consistent
  snapshot, and psycopg would otherwise send ``BEGIN`` and ``ROLLBACK`` as two more round
  trips per request. Only use this for work that is one statement per consistency need. Mind
  the plans: in autocommit psycopg keeps the statements it auto-prepares, and PostgreSQL then
  runs them on a generic plan. That is ideal for a primary-key lookup and wrong for full-text
  search, which therefore runs unprepared (see ``infra/sql/search/postgresql.py``).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine


def read_only_connection(engine: Engine) -> Connection:
    """A connection (use it in a ``with`` block) in the cheapest mode that is correct for reads."""
    connection = engine.connect()
    if engine.dialect.name == "sqlite":
        return connection.execution_options(sqlite_deferred=True)
    return connection.execution_options(isolation_level="AUTOCOMMIT")
