"""Work outside a unit of work maps a database outage to ``Unavailable`` (503) too."""

from __future__ import annotations

import uuid

import pytest

from infra.sql.engine import create_engine_for
from infra.sql.rate_limiter import SqlRateLimiter
from infra.sql.repositories.auth_sessions import SqlAuthSessionLookup
from shared.clock import SystemClock
from shared.errors import Unavailable

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/none"


@pytest.fixture
def engine():
    engine = create_engine_for(UNREACHABLE)
    yield engine
    engine.dispose()


def test_the_bearer_session_lookup(engine) -> None:
    with pytest.raises(Unavailable):
        SqlAuthSessionLookup(engine).get(uuid.uuid4())


def test_the_standalone_rate_limiter(engine) -> None:
    with pytest.raises(Unavailable):
        SqlRateLimiter(engine, SystemClock()).hit("ip:test", limit=5, window_seconds=60)



def test_a_search(engine) -> None:
    from domain.search import SearchCriteria, parse_query
    from infra.sql.search.postgresql import PostgresMessageSearch

    criteria = SearchCriteria(terms=parse_query("olá").terms)
    with pytest.raises(Unavailable):
        PostgresMessageSearch(engine).search(uuid.uuid4(), criteria, after=None, limit=10)
