"""Live Web PubSub connections in SQL: the presence every Function instance sees.

Each operation is one short transaction of its own (see ``domain.realtime.ConnectionRegistry``):
presence bookkeeping is independent of any business change. The user's row is locked
(``SELECT ... FOR UPDATE``; SQLite already serializes writers with ``BEGIN IMMEDIATE``) before
counting their connections, so two devices connecting or leaving at once are ordered: exactly
one of them is "first" and exactly one is "last".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from domain.realtime import Departure, LiveConnection, RecordedConnection
from infra.sql.models import realtime_connections as connections
from infra.sql.models import users
from infra.sql.outages import outages_as_unavailable

_IN_CHUNK = 500  # stay far below every dialect's bound-parameter limit (SQL Server: 2,100)


class SqlConnectionRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with outages_as_unavailable(), self._engine.begin() as conn:
            yield conn

    @staticmethod
    def _lock_user(conn: Connection, user_id: uuid.UUID) -> bool:
        stmt = sa.select(users.c.id).where(users.c.id == user_id).with_for_update()
        return conn.execute(stmt).first() is not None

    @staticmethod
    def _count(conn: Connection, user_id: uuid.UUID) -> int:
        stmt = sa.select(sa.func.count()).select_from(connections).where(connections.c.user_id == user_id)
        return int(conn.execute(stmt).scalar_one())

    def register(self, connection: LiveConnection) -> bool:
        try:
            with self._transaction() as conn:
                if not self._lock_user(conn, connection.user_id):
                    return False
                known = conn.execute(
                    sa.select(connections.c.user_id).where(connections.c.connection_id == connection.connection_id)
                ).first()
                if known is not None:
                    return False
                first = self._count(conn, connection.user_id) == 0
                conn.execute(
                    sa.insert(connections).values(
                        connection_id=connection.connection_id,
                        user_id=connection.user_id,
                        hub=connection.hub,
                        connected_at=connection.connected_at,
                        last_seen_at=connection.connected_at,
                    )
                )
                return first
        except IntegrityError:
            return False  # the same connection registered concurrently: the other one counted it

    def unregister(self, connection_id: str) -> Departure | None:
        with self._transaction() as conn:
            row = conn.execute(
                sa.select(connections.c.user_id).where(connections.c.connection_id == connection_id)
            ).first()
            if row is None:
                return None
            user_id: uuid.UUID = row.user_id
            self._lock_user(conn, user_id)
            deleted = conn.execute(sa.delete(connections).where(connections.c.connection_id == connection_id))
            if not deleted.rowcount:
                return None  # a concurrent duplicate "disconnected" got there first
            return Departure(user_id=user_id, was_last=self._count(conn, user_id) == 0)

    def online_among(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(dict.fromkeys(user_ids))
        online: set[uuid.UUID] = set()
        with self._transaction() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                stmt = sa.select(connections.c.user_id).where(connections.c.user_id.in_(chunk)).distinct()
                online.update(r.user_id for r in conn.execute(stmt))
        return online

    def unconfirmed_since(self, user_ids: Iterable[uuid.UUID], moment: datetime) -> list[RecordedConnection]:
        wanted = list(dict.fromkeys(user_ids))
        found: list[RecordedConnection] = []
        with self._transaction() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                stmt = sa.select(connections.c.connection_id, connections.c.user_id, connections.c.last_seen_at).where(
                    connections.c.user_id.in_(wanted[start : start + _IN_CHUNK]), connections.c.last_seen_at < moment
                )
                found.extend(RecordedConnection(r.connection_id, r.user_id, r.last_seen_at) for r in conn.execute(stmt))
        return found

    def mark_seen(self, connection_ids: Iterable[str], at: datetime) -> None:
        ids = list(dict.fromkeys(connection_ids))
        if not ids:
            return
        with self._transaction() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                conn.execute(
                    sa.update(connections)
                    .where(connections.c.connection_id.in_(ids[start : start + _IN_CHUNK]))
                    .values(last_seen_at=at)
                )
