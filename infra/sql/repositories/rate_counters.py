"""Rate-limit counters counted inside the caller's transaction (``RateCounterRepository``).

The standalone ``SqlRateLimiter`` commits every hit on its own connection, because a failed sign-in
guess must count even though the request then fails. A chat send is the opposite case: only an
accepted message should spend budget, and the send is the hottest write path we have, so the hit
rides in the send's own transaction — one connection checkout and one commit instead of two, and a
send that is refused (not a member, a validation error, a rollback) leaves the counter untouched.

The counter row's lock is held until the send commits, so a user's concurrent sends serialize on
it; every transaction takes that row before the session's seq counter, so there is no lock-order
inversion between them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from infra.sql.rate_limiter import counters, increment_statement, storable_bucket, upsert_statement_postgresql
from shared.errors import Unavailable

_INSERT_RACE_RETRIES = 5


class SqlRateCounterRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def hit(self, bucket: str, window_start: datetime, window_end: datetime) -> int:
        bucket = storable_bucket(bucket)
        # Core execution on the session's connection: the ORM's execute path costs more than the
        # statement on this hot path, and there are no ORM objects involved.
        connection = self._session.connection()
        if connection.dialect.name == "postgresql":
            params = {"r_bucket": bucket, "r_window_start": window_start, "r_expires_at": window_end}
            return int(connection.execute(upsert_statement_postgresql(), params).scalar_one())
        increment = increment_statement(bucket, window_start)
        insert = sa.insert(counters).values(bucket=bucket, window_start=window_start, hits=1, expires_at=window_end)
        for _ in range(_INSERT_RACE_RETRIES):
            hits = connection.execute(increment).scalar()
            if hits is not None:
                return int(hits)
            try:
                # SQLite holds the write lock (BEGIN IMMEDIATE), so nobody races this INSERT there;
                # on SQL Server another first hitter can: the savepoint keeps our transaction usable.
                with self._session.begin_nested():
                    connection.execute(insert)
                return 1
            except IntegrityError:
                continue
        raise Unavailable("The rate limit could not be counted; please retry.")
