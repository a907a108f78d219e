"""Pooled PostgreSQL connections whose server side went away (a restart, a failover, an idle timeout).

The engine pings a connection only when it sat in the pool longer than the idle threshold
(``infra.sql.engine.ping_when_idle``); these tests kill the server side of a pooled connection with
``pg_terminate_backend`` and check both cases.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from infra.sql import engine as engine_module
from infra.sql.engine import create_engine_for
from infra.sql.unit_of_work import make_uow_factory
from shared.errors import Unavailable


@pytest.fixture
def pg_url(postgres_server) -> Iterator[str]:
    postgres_server.require()
    url = postgres_server.create_database()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        postgres_server.drop_database(url)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(postgres_server, pid: int) -> None:
    with postgres_server.admin_engine().connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.2)


def test_a_connection_that_sat_idle_is_pinged_and_replaced_transparently(postgres_server, pg_url, monkeypatch):
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.3)
    engine = create_engine_for(pg_url, pool_size=1)
    try:
        dead = _backend_pid(engine)
        _terminate(postgres_server, dead)
        time.sleep(0.4)  # idle past the threshold: the checkout pings, fails, reconnects
        assert _backend_pid(engine) != dead
    finally:
        engine.dispose()


def test_a_hot_connection_that_died_fails_once_as_unavailable_then_recovers(postgres_server, pg_url, monkeypatch):
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 60.0)
    engine = create_engine_for(pg_url, pool_size=1)
    uow_factory = make_uow_factory(engine)
    try:
        dead = _backend_pid(engine)
        _terminate(postgres_server, dead)
        with pytest.raises(Unavailable), uow_factory() as uow:  # used a moment ago: not pinged
            uow.session.connection().execute(sa.text("SELECT 1"))
        assert _backend_pid(engine) != dead  # the pool was invalidated: the next checkout reconnects
    finally:
        engine.dispose()
