"""The SQL rate limiter on SQLite and PostgreSQL: shared counts across instances, atomic under
concurrency, fixed windows that roll over, cleanup of expired rows, and a 429 through HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import azure.functions as func
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from infra.sql.engine import create_engine_for
from infra.sql.models import RateLimitCounterRow
from infra.sql.rate_limiter import SqlRateLimiter, storable_bucket
from shared.errors import RateLimited
from tests.unit.mfa.fakes import FakeClock

counters = RateLimitCounterRow.__table__
START = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)  # aligned on every window size used below


@pytest.fixture
def engine(uow_factory, migrated_engine) -> Engine:  # uow_factory empties the tables first
    return migrated_engine


@pytest.fixture
def second_engine(engine, db_url) -> Iterator[Engine]:
    """Another connection pool on the same database: what a second Function instance has."""
    other = create_engine_for(db_url, pool_size=10)
    yield other
    other.dispose()


def _admitted(limiter: SqlRateLimiter, bucket: str, attempts: int, *, limit: int, window: int = 60) -> int:
    admitted = 0
    for _ in range(attempts):
        try:
            limiter.hit(bucket, limit=limit, window_seconds=window)
            admitted += 1
        except RateLimited:
            pass
    return admitted


def test_admits_exactly_limit_hits_per_window_then_429s_until_the_window_ends(engine):
    clock = FakeClock(START)
    limiter = SqlRateLimiter(engine, clock)
    for _ in range(3):
        limiter.hit("ip:login:10.0.0.1", limit=3, window_seconds=60)
    clock.advance(20)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("ip:login:10.0.0.1", limit=3, window_seconds=60)
    assert refused.value.retry_after_seconds == 40  # until the window ends, not a whole window
    assert refused.value.details == {"retry_after": 40}
    # Other buckets are independent.
    limiter.hit("ip:login:10.0.0.2", limit=3, window_seconds=60)


def test_two_instances_on_one_database_share_the_count(engine, second_engine):
    clock = FakeClock(START)
    first, second = SqlRateLimiter(engine, clock), SqlRateLimiter(second_engine, clock)
    assert _admitted(first, "acct:mfa:u1", 3, limit=5) == 3
    assert _admitted(second, "acct:mfa:u1", 3, limit=5) == 2
    with pytest.raises(RateLimited):
        first.hit("acct:mfa:u1", limit=5, window_seconds=60)
    assert first.hits("acct:mfa:u1", window_seconds=60) == 7  # refused hits count too


def test_window_rollover_starts_a_fresh_count(engine):
    clock = FakeClock(START)
    limiter = SqlRateLimiter(engine, clock)
    assert _admitted(limiter, "b", 4, limit=2) == 2
    clock.advance(59.9)
    assert _admitted(limiter, "b", 1, limit=2) == 0  # still the same window
    clock.advance(0.1)
    assert _admitted(limiter, "b", 3, limit=2) == 2  # new window, new budget


def test_concurrent_hits_from_many_threads_and_two_instances_never_exceed_the_limit(engine, second_engine):
    clock = FakeClock(START)
    limiters = [SqlRateLimiter(engine, clock), SqlRateLimiter(second_engine, clock)]
    limit, threads_count, per_thread = 7, 8, 4
    admitted: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_count)

    def worker(index: int) -> None:
        limiter = limiters[index % 2]
        barrier.wait()
        for _ in range(per_thread):
            try:
                limiter.hit("ip:token:198.51.100.9", limit=limit, window_seconds=60)
                admitted.append(1)
            except RateLimited:
                pass
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(admitted) == limit
    assert limiters[0].hits("ip:token:198.51.100.9", window_seconds=60) == threads_count * per_thread


def test_first_hits_racing_to_insert_the_row_all_count(engine, second_engine):
    """Every thread's first statement finds no row: the INSERT race must resolve, not fail."""
    clock = FakeClock(START)
    limiters = [SqlRateLimiter(engine, clock), SqlRateLimiter(second_engine, clock)]
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        barrier.wait()
        try:
            limiters[index % 2].hit("fresh", limit=100, window_seconds=60)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert limiters[0].hits("fresh", window_seconds=60) == 10


def test_expired_windows_are_cleaned_up_opportunistically(engine):
    clock = FakeClock(START)
    limiter = SqlRateLimiter(engine, clock)
    limiter.hit("old", limit=5, window_seconds=60)
    clock.advance(minutes=10)
    limiter.hit("new", limit=5, window_seconds=60)
    with engine.connect() as connection:
        buckets = set(connection.execute(sa.select(counters.c.bucket)).scalars())
    assert buckets == {"new"}


def test_long_buckets_are_stored_hashed_and_still_counted(engine):
    limiter = SqlRateLimiter(engine, FakeClock(START))
    bucket = "ua:" + "x" * 500
    assert _admitted(limiter, bucket, 3, limit=2) == 2
    assert len(storable_bucket(bucket)) <= 200


def test_a_refused_request_answers_429_with_retry_after_through_http(engine, monkeypatch):
    from interface import dependencies
    from interface.http.endpoint import http_endpoint
    from interface.http.rate_limit import IP_LIMITS, rate_limited

    clock = FakeClock(START)

    class Services:
        rate_limiter = SqlRateLimiter(engine, clock)

    monkeypatch.setattr(dependencies, "_provider", lambda: Services())

    @http_endpoint
    @rate_limited("mfa")
    def handler(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    def request(ip: str) -> func.HttpResponse:
        return handler(func.HttpRequest("POST", "http://localhost/api/x", headers={"X-Forwarded-For": f"{ip}:1"},
                                        body=b""))

    limit, _ = IP_LIMITS["mfa"]
    assert all(request("203.0.113.5").status_code == 200 for _ in range(limit))
    clock.advance(15)
    refused = request("203.0.113.5")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert json.loads(refused.get_body())["error"]["code"] == "rate_limited"
    assert request("203.0.113.6").status_code == 200  # another address has its own budget
