"""Session membership and read positions."""

from __future__ import annotations

import builtins
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.chat import MemberRole, SessionMember
from domain.errors import AlreadyMember
from infra.sql.models import chat_sessions
from infra.sql.models import session_members as members


def _to_member(row: Any) -> SessionMember:
    return SessionMember(
        session_id=row.session_id,
        user_id=row.user_id,
        role=MemberRole(row.role),
        joined_at=row.joined_at,
        last_read_seq=row.last_read_seq,
    )


class SqlSessionMemberRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, member: SessionMember) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    sa.insert(members).values(
                        session_id=member.session_id,
                        user_id=member.user_id,
                        role=member.role.value,
                        joined_at=member.joined_at,
                        last_read_seq=member.last_read_seq,
                    )
                )
        except IntegrityError as exc:
            if self.get(member.session_id, member.user_id) is None:
                raise
            raise AlreadyMember("the user is already a member of this session") from exc

    def remove(self, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        result = self._session.execute(
            sa.delete(members).where(members.c.session_id == session_id, members.c.user_id == user_id)
        )
        return bool(result.rowcount)

    def get(self, session_id: uuid.UUID, user_id: uuid.UUID) -> SessionMember | None:
        row = self._session.execute(
            sa.select(members).where(members.c.session_id == session_id, members.c.user_id == user_id)
        ).first()
        return _to_member(row) if row else None

    def list(self, session_id: uuid.UUID) -> builtins.list[SessionMember]:
        stmt = (
            sa.select(members)
            .where(members.c.session_id == session_id)
            .order_by(members.c.joined_at, members.c.user_id)
        )
        return [_to_member(row) for row in self._session.execute(stmt)]

    def mark_read(self, session_id: uuid.UUID, user_id: uuid.UUID, seq: int) -> None:
        # The "only forward" rule is in the WHERE clause, so concurrent receipts cannot race it back.
        self._session.execute(
            sa.update(members)
            .where(
                members.c.session_id == session_id,
                members.c.user_id == user_id,
                members.c.last_read_seq < seq,
            )
            .values(last_read_seq=seq)
        )

    def set_role(self, session_id: uuid.UUID, user_id: uuid.UUID, role: MemberRole) -> None:
        self._session.execute(
            sa.update(members)
            .where(members.c.session_id == session_id, members.c.user_id == user_id)
            .values(role=role.value)
        )

    def session_ids_for_user(self, user_id: uuid.UUID) -> builtins.list[uuid.UUID]:
        stmt = (
            sa.select(members.c.session_id)
            .join(chat_sessions, chat_sessions.c.id == members.c.session_id)
            .where(members.c.user_id == user_id, chat_sessions.c.deleted_at.is_(None))
            .order_by(members.c.session_id)
        )
        return [row.session_id for row in self._session.execute(stmt)]
