"""Chat sessions, listed per user with keyset pagination (stable under inserts, no OFFSET scans)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.chat import ChatSession, SessionCursor, clamp_page_limit
from infra.sql.models import chat_sessions, session_members


def _to_session(row: Any) -> ChatSession:
    return ChatSession(
        id=row.id,
        title=row.title,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_seq=row.last_seq,
        deleted_at=row.deleted_at,
    )


def list_for_user_statement(user_id: uuid.UUID, limit: int, after: SessionCursor | None) -> sa.Select[Any]:
    """Most recently active first; ties broken by id so the order (and the cursor) is total."""
    stmt = (
        sa.select(chat_sessions)
        .join(session_members, session_members.c.session_id == chat_sessions.c.id)
        .where(session_members.c.user_id == user_id, chat_sessions.c.deleted_at.is_(None))
        .order_by(chat_sessions.c.updated_at.desc(), chat_sessions.c.id.desc())
        .limit(clamp_page_limit(limit))
    )
    if after is not None:
        # Spelled out instead of a row-value comparison, which SQL Server lacks.
        stmt = stmt.where(
            sa.or_(
                chat_sessions.c.updated_at < after.updated_at,
                sa.and_(chat_sessions.c.updated_at == after.updated_at, chat_sessions.c.id < after.session_id),
            )
        )
    return stmt


def lock_session_statement(session_id: uuid.UUID) -> sa.Update:
    """Serializes membership changes of one session until commit."""
    return sa.update(chat_sessions).where(chat_sessions.c.id == session_id).values(last_seq=chat_sessions.c.last_seq)


class SqlChatSessionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, session: ChatSession) -> None:
        self._session.execute(
            sa.insert(chat_sessions).values(
                id=session.id,
                title=session.title,
                created_by=session.created_by,
                created_at=session.created_at,
                updated_at=session.updated_at,
                last_seq=session.last_seq,
                deleted_at=session.deleted_at,
            )
        )

    def get(self, session_id: uuid.UUID) -> ChatSession | None:
        row = self._session.execute(sa.select(chat_sessions).where(chat_sessions.c.id == session_id)).first()
        return _to_session(row) if row else None

    def list_for_user(
        self, user_id: uuid.UUID, *, limit: int = 50, after: SessionCursor | None = None
    ) -> list[ChatSession]:
        return [_to_session(row) for row in self._session.execute(list_for_user_statement(user_id, limit, after))]

    def mark_deleted(self, session_id: uuid.UUID, at: datetime) -> None:
        self._session.execute(
            sa.update(chat_sessions)
            .where(chat_sessions.c.id == session_id, chat_sessions.c.deleted_at.is_(None))
            .values(deleted_at=at)
        )

    def get_for_update(self, session_id: uuid.UUID) -> ChatSession | None:
        # A no-op UPDATE takes the row's write lock on every dialect (SQLAlchemy drops FOR UPDATE
        # when compiling for SQL Server; SQLite's BEGIN IMMEDIATE holds the database lock anyway).
        self._session.execute(lock_session_statement(session_id))
        return self.get(session_id)

    def rename(self, session_id: uuid.UUID, title: str, at: datetime) -> None:
        self._session.execute(
            sa.update(chat_sessions)
            .where(chat_sessions.c.id == session_id, chat_sessions.c.deleted_at.is_(None))
            .values(title=title, updated_at=at)
        )
