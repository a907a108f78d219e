"""Who may see a session: its members. Everyone else is told it does not exist (404, not 403),
so session ids cannot be probed.

``SessionAccess`` is also what the real-time event handler asks before it lets a connection into a
session's group or acts on one of its events.
"""

from __future__ import annotations

import uuid

from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.chat import ChatSession, SessionMember
from domain.errors import ChatSessionNotFound


def require_member(
    uow: UnitOfWork, user_id: uuid.UUID, session_id: uuid.UUID, *, for_update: bool = False
) -> tuple[ChatSession, SessionMember]:
    session = uow.sessions.get_for_update(session_id) if for_update else uow.sessions.get(session_id)
    member = uow.members.get(session_id, user_id) if session is not None else None
    if session is None or session.is_deleted or member is None:
        raise ChatSessionNotFound("Chat session not found.")
    return session, member


def require_membership(uow: UnitOfWork, user_id: uuid.UUID, session_id: uuid.UUID) -> SessionMember:
    """The hot-path check (one query): the member row only. Use it where a later statement refuses a
    deleted session anyway (``MessageRepository.append`` does)."""
    member = uow.members.get(session_id, user_id)
    if member is None:
        raise ChatSessionNotFound("Chat session not found.")
    return member


class SessionAccess:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    def is_member(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        with self._uow_factory() as uow:
            try:
                require_member(uow, user_id, session_id)
            except ChatSessionNotFound:
                return False
            return True

    def session_ids_for_user(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        with self._uow_factory() as uow:
            return uow.members.session_ids_for_user(user_id)
