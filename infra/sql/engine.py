"""Engine construction with the per-dialect settings the app relies on.

SQLite (the embedded default) needs the most care:
- WAL so readers never block the writer, ``foreign_keys=ON`` (off by default in SQLite), and a busy
  timeout so concurrent writers wait instead of failing.
- every transaction starts with ``BEGIN IMMEDIATE``. A DEFERRED transaction that reads and then
  writes must upgrade its lock and fails at once with "database is locked", whatever the busy
  timeout (see research/performance-limits.md §1b). For SQLAlchemy to emit our own BEGIN, pysqlite's
  transaction handling is switched off (``isolation_level = None``), as the SQLAlchemy docs describe;
  this also makes SAVEPOINTs behave.

Azure SQL can authenticate with a Microsoft Entra token (see :mod:`infra.sql.entra`).

Server databases (PostgreSQL, Azure SQL) ping a pooled connection before handing it out only when
it sat idle for more than ``IDLE_PING_SECONDS`` (see :func:`ping_when_idle`), not on every checkout
as ``pool_pre_ping`` does: on the chat hot path that ping was one extra round trip per transaction.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from infra.sql.entra import EntraConnectHook, EntraTokenProvider

DEFAULT_SQLITE_URL = "sqlite:///.data/tagarela.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 15.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
IDLE_PING_SECONDS = 5.0
_RETURNED_AT = "tagarela_returned_at"


def ping_when_idle(engine: Engine, idle_seconds: float | None = None) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool, and only those.

    A connection returned to the pool less than ``idle_seconds`` ago was working then; pinging it
    again costs a round trip on every transaction for almost no protection. One that sat longer
    (the database may have restarted, a load balancer or Azure SQL may have dropped it) is pinged,
    and a failed ping raises ``DisconnectionError``, which makes the pool replace it transparently
    (SQLAlchemy's documented checkout-event recipe). A connection that dies while hot surfaces as
    ``Unavailable`` (503) for the request using it; SQLAlchemy then invalidates the whole pool, so
    the next checkout reconnects.
    """
    dialect = engine.dialect
    threshold = IDLE_PING_SECONDS if idle_seconds is None else idle_seconds

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < threshold:
            return  # brand new, or used a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError("the pooled connection failed its ping") from error
        if not alive:
            raise exc.DisconnectionError("the pooled connection failed its ping")


def create_engine_for(
    url: str | URL,
    *,
    entra_auth: bool = False,
    pool_size: int = 5,
    pool_timeout: float = 10.0,
    echo: bool = False,
    sqlite_foreign_keys: bool = True,
    entra_token_provider: EntraTokenProvider | None = None,
) -> Engine:
    """Build the engine for ``url``.

    ``sqlite_foreign_keys=False`` is for migrations only: SQLite batch operations recreate tables,
    and with foreign keys on, dropping the old copy would cascade or fail.
    ``entra_token_provider`` lets tests inject a fake credential; by default a provider around
    ``DefaultAzureCredential`` is created.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, pool_size, pool_timeout, echo, sqlite_foreign_keys)
    if backend == "mssql":
        return _mssql_engine(parsed, entra_auth, pool_size, pool_timeout, echo, entra_token_provider)
    if entra_auth:
        raise ValueError("entra_auth is only supported for Azure SQL (mssql+pyodbc) URLs")
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        pool_timeout=pool_timeout,
        echo=echo,
        connect_args=connect_args,
    )
    ping_when_idle(engine)
    return engine


def _sqlite_engine(url: URL, pool_size: int, pool_timeout: float, echo: bool, foreign_keys: bool) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    options: dict[str, Any] = {"echo": echo, "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options.update(pool_size=pool_size, pool_timeout=pool_timeout)
    engine = create_engine(url, **options)
    busy_ms = int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Read-only work (search) opts out with ``execution_options(sqlite_deferred=True)``: a
        # DEFERRED read transaction never takes the write lock, so it never delays a writer.
        deferred = connection.get_execution_options().get("sqlite_deferred", False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


def _mssql_engine(
    url: URL,
    entra_auth: bool,
    pool_size: int,
    pool_timeout: float,
    echo: bool,
    provider: EntraTokenProvider | None,
) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        pool_timeout=pool_timeout,
        # Azure SQL closes idle connections after ~30 min; recycle before that.
        pool_recycle=1800,
        echo=echo,
        deprecate_large_types=True,
    )
    ping_when_idle(engine)
    if entra_auth:
        event.listen(engine, "do_connect", EntraConnectHook(provider or EntraTokenProvider()))
    return engine
