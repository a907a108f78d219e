"""Rate limiter pieces that need no database: window alignment, bucket sizes, the SQL Server form."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import mssql, postgresql, sqlite

from infra.sql.rate_limiter import increment_statement, storable_bucket, window_bounds


def test_windows_are_aligned_on_the_epoch_so_every_instance_agrees():
    now = datetime(2030, 1, 1, 12, 0, 42, 500000, tzinfo=UTC)
    assert window_bounds(now, 60) == (datetime(2030, 1, 1, 12, 0, tzinfo=UTC), datetime(2030, 1, 1, 12, 1, tzinfo=UTC))
    start, end = window_bounds(now, 3600)
    assert start == datetime(2030, 1, 1, 12, 0, tzinfo=UTC) and (end - start).total_seconds() == 3600


def test_short_buckets_are_kept_and_long_ones_hashed_to_fit_the_column():
    assert storable_bucket("ip:mfa:2001:db8::1") == "ip:mfa:2001:db8::1"
    long = storable_bucket("x" * 201)
    assert long.startswith("sha256:") and len(long) == 71
    assert storable_bucket("x" * 201) != storable_bucket("x" * 202)


def test_the_increment_is_one_atomic_statement_on_every_dialect():
    stmt = increment_statement("b", datetime(2030, 1, 1, tzinfo=UTC))
    sql_server = str(stmt.compile(dialect=mssql.dialect()))
    assert "SET hits=(rate_limit_counters.hits + :hits_1) OUTPUT inserted.hits WHERE" in sql_server
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        assert str(stmt.compile(dialect=dialect)).endswith(("RETURNING rate_limit_counters.hits", "RETURNING hits"))
