"""The SQL rate limiter: fixed-window counters in ``rate_limit_counters``, shared by every instance.

Azure Functions scales out to many worker processes on many machines, so an in-memory counter
would let an attacker multiply their budget by the number of instances. The counters live in the
app's database instead, one row per ``(bucket, window_start)``.

Counting is atomic and portable (SQLite, PostgreSQL, Azure SQL) without dialect-specific upserts:

1. ``UPDATE ... SET hits = hits + 1 WHERE bucket = :b AND window_start = :w RETURNING hits`` —
   the row lock serializes concurrent hitters, and RETURNING (OUTPUT on SQL Server) hands back the
   count *including* this hit, so no separate read can race;
2. no row yet: ``INSERT`` it with ``hits = 1``;
3. two first hitters raced and one INSERT hit the primary key: that one starts over at step 1
   (in a fresh transaction, since PostgreSQL aborts a transaction after an error).

Each hit is its own short transaction on its own connection — never the request's unit of work —
so the count is committed even when the request then fails (a failed guess must still count).

Fixed windows let a client burst up to twice the limit across a window boundary; for abuse limits
on sign-in endpoints that is an acceptable trade for one row and one statement per hit (a sliding
window would need a second read of the previous window on every request).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from application.ports.clock import Clock
from domain.rate_windows import retry_after_seconds, window_bounds
from infra.sql.models import RateLimitCounterRow
from infra.sql.outages import outages_as_unavailable
from shared.errors import RateLimited, Unavailable

log = logging.getLogger(__name__)

counters = RateLimitCounterRow.__table__

MAX_BUCKET_LENGTH = 200  # the column's size
_INSERT_RACE_RETRIES = 5
CLEANUP_INTERVAL = timedelta(minutes=5)


def storable_bucket(bucket: str) -> str:
    """Buckets longer than the column (long user agents, odd keys) are stored as their hash."""
    if len(bucket) <= MAX_BUCKET_LENGTH:
        return bucket
    return "sha256:" + hashlib.sha256(bucket.encode("utf-8")).hexdigest()


@functools.cache
def upsert_statement_postgresql() -> sa.Insert:
    """PostgreSQL: the whole count in one atomic statement, ``INSERT ... ON CONFLICT (bucket,
    window_start) DO UPDATE SET hits = hits + 1 RETURNING hits``; run in autocommit it is one round
    trip instead of BEGIN + UPDATE (+ INSERT) + COMMIT. Same semantics: the row lock serializes
    concurrent hitters and the returned count includes this hit. Built once, with bind parameters
    ``r_bucket``, ``r_window_start``, ``r_expires_at``."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    insert = pg_insert(counters).values(
        bucket=sa.bindparam("r_bucket", type_=counters.c.bucket.type),
        window_start=sa.bindparam("r_window_start", type_=counters.c.window_start.type),
        hits=1,
        expires_at=sa.bindparam("r_expires_at", type_=counters.c.expires_at.type),
    )
    return insert.on_conflict_do_update(
        index_elements=[counters.c.bucket, counters.c.window_start], set_={"hits": counters.c.hits + 1}
    ).returning(counters.c.hits)


def increment_statement(bucket: str, window_start: datetime) -> sa.Update:
    """``UPDATE ... SET hits = hits + 1 ... RETURNING hits`` (``OUTPUT inserted.hits`` on SQL Server)."""
    return (
        sa.update(counters)
        .where(counters.c.bucket == bucket, counters.c.window_start == window_start)
        .values(hits=counters.c.hits + 1)
        .returning(counters.c.hits)
    )


class SqlRateLimiter:
    """``application.ports.rate_limit.RateLimiter`` over SQL; safe to share across threads."""

    def __init__(self, engine: Engine, clock: Clock, *, cleanup_interval: timedelta = CLEANUP_INTERVAL) -> None:
        self._engine = engine
        self._clock = clock
        self._cleanup_interval = cleanup_interval
        self._next_cleanup: datetime | None = None
        self._cleanup_lock = threading.Lock()

    def hit(self, bucket: str, *, limit: int, window_seconds: int) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be positive")
        now = self._clock.now()
        window_start, window_end = window_bounds(now, window_seconds)
        hits = self._count(storable_bucket(bucket), window_start, window_end)
        self._maybe_clean_up(now)
        if hits > limit:
            retry_after = retry_after_seconds(now, window_end)
            raise RateLimited(f"Too many attempts; retry in {retry_after} seconds.", retry_after_seconds=retry_after)

    def hits(self, bucket: str, *, window_seconds: int) -> int:
        """The count of the current window (diagnostics and tests)."""
        window_start, _ = window_bounds(self._clock.now(), window_seconds)
        stmt = sa.select(counters.c.hits).where(
            counters.c.bucket == storable_bucket(bucket), counters.c.window_start == window_start
        )
        with self._engine.connect() as connection:
            return int(connection.execute(stmt).scalar() or 0)

    def _count(self, bucket: str, window_start: datetime, window_end: datetime) -> int:
        if self._engine.dialect.name == "postgresql":
            return self._count_postgresql(bucket, window_start, window_end)
        increment = increment_statement(bucket, window_start)
        insert = sa.insert(counters).values(bucket=bucket, window_start=window_start, hits=1, expires_at=window_end)
        with outages_as_unavailable():
            for _ in range(_INSERT_RACE_RETRIES):
                try:
                    with self._engine.begin() as connection:
                        hits = connection.execute(increment).scalar()
                        if hits is not None:
                            return int(hits)
                        connection.execute(insert)
                        return 1
                except IntegrityError:
                    continue  # another instance inserted the row first: count on it
        raise Unavailable("The rate limit could not be counted; please retry.")

    def _count_postgresql(self, bucket: str, window_start: datetime, window_end: datetime) -> int:
        with outages_as_unavailable(), \
                self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            params = {"r_bucket": bucket, "r_window_start": window_start, "r_expires_at": window_end}
            return int(connection.execute(upsert_statement_postgresql(), params).scalar_one())

    def _maybe_clean_up(self, now: datetime) -> None:
        """Deletes expired windows at most once per interval per instance; never fails a request."""
        with self._cleanup_lock:
            if self._next_cleanup is not None and now < self._next_cleanup:
                return
            self._next_cleanup = now + self._cleanup_interval
        try:
            with self._engine.begin() as connection:
                connection.execute(sa.delete(counters).where(counters.c.expires_at <= now))
        except DBAPIError:
            log.warning("expired rate-limit counters could not be deleted; will retry later", exc_info=True)
