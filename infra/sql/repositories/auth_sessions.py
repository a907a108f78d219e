"""Auth sessions and refresh tokens (Core statements; rows mapped to ``domain.auth_sessions``).

The rotation relies on one atomic statement: ``UPDATE refresh_tokens SET used_at = :now WHERE id =
:id AND used_at IS NULL``, judged by its row count. On PostgreSQL (and Azure SQL) a concurrent
second UPDATE waits for the first transaction's row lock, then re-evaluates ``used_at IS NULL``
and matches nothing; on SQLite every write transaction holds the database lock from its
``BEGIN IMMEDIATE``, so the second refresh only starts after the first committed. Either way one
refresh spends the token and the other sees it spent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from domain.auth_sessions import AuthSession, RefreshToken
from infra.sql.models import auth_sessions, refresh_tokens
from infra.sql.outages import outages_as_unavailable
from infra.sql.read_only import read_only_connection


def _to_session(row: Any) -> AuthSession:
    return AuthSession(
        id=row.id,
        user_id=row.user_id,
        amr=tuple(row.amr.split()),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
        user_agent=row.user_agent,
        ip=row.ip,
    )


def _to_token(row: Any) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        session_id=row.session_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        replaced_by_id=row.replaced_by_id,
    )


class SqlAuthSessionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, session: AuthSession) -> None:
        self._session.execute(
            sa.insert(auth_sessions).values(
                id=session.id,
                user_id=session.user_id,
                amr=" ".join(session.amr),
                created_at=session.created_at,
                last_seen_at=session.last_seen_at or session.created_at,
                expires_at=session.expires_at,
                revoked_at=session.revoked_at,
                revoked_reason=session.revoked_reason,
                user_agent=session.user_agent,
                ip=session.ip,
            )
        )

    def get(self, session_id: uuid.UUID) -> AuthSession | None:
        row = self._session.execute(sa.select(auth_sessions).where(auth_sessions.c.id == session_id)).first()
        return _to_session(row) if row else None

    def touch(self, session_id: uuid.UUID, at: datetime) -> None:
        self._session.execute(sa.update(auth_sessions).where(auth_sessions.c.id == session_id).values(last_seen_at=at))

    def revoke(self, session_id: uuid.UUID, at: datetime, reason: str) -> bool:
        result = self._session.execute(
            sa.update(auth_sessions)
            .where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )
        return bool(result.rowcount == 1)

    def revoke_all_for_user(self, user_id: uuid.UUID, at: datetime, reason: str) -> int:
        result = self._session.execute(
            sa.update(auth_sessions)
            .where(auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )
        return int(result.rowcount)


class SqlAuthSessionLookup:
    """The bearer check's read of one session, outside any unit of work (``AuthSessionLookup``).

    Every authenticated request pays for this read, so it skips what a unit of work costs and a
    single primary-key read does not need: the ORM ``Session``, SQLite's ``BEGIN IMMEDIATE``
    (which also took the database's write lock for a read), and PostgreSQL's ``BEGIN``/``ROLLBACK``
    round trips (see :mod:`infra.sql.read_only`). The statement is built once; SQLAlchemy's
    compiled cache and psycopg's automatic prepare do the rest. A database outage is the same
    ``Unavailable`` (503) that the unit of work raised.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._statement = sa.select(auth_sessions).where(auth_sessions.c.id == sa.bindparam("session_id"))

    def get(self, session_id: uuid.UUID) -> AuthSession | None:
        with outages_as_unavailable(), read_only_connection(self._engine) as connection:
            row = connection.execute(self._statement, {"session_id": session_id}).first()
        return _to_session(row) if row else None


class SqlRefreshTokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: RefreshToken) -> RefreshToken:
        result = self._session.execute(
            sa.insert(refresh_tokens)
            .values(
                session_id=token.session_id,
                token_hash=token.token_hash,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
                replaced_by_id=token.replaced_by_id,
            )
            .returning(refresh_tokens.c.id)
        )
        token.id = int(result.scalar_one())
        return token

    def find_by_hash(self, token_hash: str) -> RefreshToken | None:
        stmt = sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        row = self._session.execute(stmt).first()
        return _to_token(row) if row else None

    def mark_used(self, token_id: int, at: datetime) -> bool:
        result = self._session.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.id == token_id, refresh_tokens.c.used_at.is_(None))
            .values(used_at=at)
        )
        return bool(result.rowcount == 1)

    def link_replacement(self, token_id: int, replaced_by_id: int) -> None:
        self._session.execute(
            sa.update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(replaced_by_id=replaced_by_id)
        )

    def spend_family(self, session_id: uuid.UUID, at: datetime) -> int:
        result = self._session.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.session_id == session_id, refresh_tokens.c.used_at.is_(None))
            .values(used_at=at)
        )
        return int(result.rowcount)
