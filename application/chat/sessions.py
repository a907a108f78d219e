"""Session use cases: create, list mine, get, rename."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from application.chat.access import require_member
from application.chat.cursors import decode_cursor, encode_cursor
from application.chat.limits import ChatLimits
from application.chat.publishing import SafeRealtime
from application.chat.views import session_view
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.chat import ChatSession, MemberRole, SessionCursor, SessionMember
from domain.chat_rules import MAX_INITIAL_MEMBERS, require_owner
from domain.errors import InvalidSession, UserNotFound


def require_active_users(uow: UnitOfWork, user_ids: Sequence[uuid.UUID]) -> None:
    """Unknown and disabled users are refused alike (nobody can be added to a room unseen)."""
    for user_id in user_ids:
        user = uow.users.get(user_id)
        if user is None or user.is_disabled:
            raise UserNotFound("User not found.", details={"user_id": str(user_id)})


class CreateSession:
    """The creator becomes the owner; ``member_ids`` join as members. Publishes ``session.created``
    to every member and adds their live connections to the session's group."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock

    def __call__(self, user_id: uuid.UUID, title: str, member_ids: Sequence[uuid.UUID] = ()) -> dict[str, Any]:
        others = [m for m in dict.fromkeys(member_ids) if m != user_id]
        if len(others) > MAX_INITIAL_MEMBERS:
            raise InvalidSession(f"A session can start with at most {MAX_INITIAL_MEMBERS} other members.")
        now = self._clock.now()
        session = ChatSession(title=title, created_by=user_id, created_at=now)
        members = [SessionMember(session.id, user_id, MemberRole.OWNER, joined_at=now)]
        members += [SessionMember(session.id, other, MemberRole.MEMBER, joined_at=now) for other in others]
        with self._uow_factory() as uow:
            require_active_users(uow, [user_id, *others])
            uow.sessions.add(session)
            for member in members:
                uow.members.add(member)
            uow.commit()
        view = session_view(session, members)
        for member in members:
            self._realtime.join(member.user_id, [session.id])
            self._realtime.to_user(member.user_id, "session.created", {"session": view})
        return view


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: list[dict[str, Any]]
    next_cursor: str | None


class ListMySessions:
    """Most recently active first, keyset-paginated with an opaque cursor."""

    def __init__(self, uow_factory: UnitOfWorkFactory, limits: ChatLimits) -> None:
        self._uow_factory = uow_factory
        self._limits = limits

    def __call__(self, user_id: uuid.UUID, *, cursor: str | None = None, limit: int | None = None) -> SessionPage:
        after = decode_cursor(cursor) if cursor else None
        size = self._limits.page_size(limit)
        with self._uow_factory() as uow:
            rows = uow.sessions.list_for_user(user_id, limit=size + 1, after=after)
        page, more = rows[:size], len(rows) > size
        next_cursor = None
        if more and page:
            last = page[-1]
            assert last.updated_at is not None  # set by ChatSession.__post_init__
            next_cursor = encode_cursor(SessionCursor(updated_at=last.updated_at, session_id=last.id))
        return SessionPage(sessions=[session_view(s) for s in page], next_cursor=next_cursor)


class GetSession:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID) -> dict[str, Any]:
        with self._uow_factory() as uow:
            session, _ = require_member(uow, user_id, session_id)
            members = uow.members.list(session_id)
        return session_view(session, members)


class RenameSession:
    """Owners only (see ``domain/chat_rules.py``). Publishes ``session.updated``."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, title: str) -> dict[str, Any]:
        now = self._clock.now()
        with self._uow_factory() as uow:
            session, member = require_member(uow, user_id, session_id, for_update=True)
            require_owner(member)
            renamed = ChatSession(
                id=session.id, title=title, created_by=session.created_by, created_at=session.created_at,
                updated_at=now, last_seq=session.last_seq,
            )
            uow.sessions.rename(session_id, renamed.title, now)
            members = uow.members.list(session_id)
            uow.commit()
        view = session_view(renamed, members)
        self._realtime.to_session(session_id, "session.updated", {"session_id": str(session_id), "session": view})
        return view
