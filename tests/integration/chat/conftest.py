"""The chat use cases built on a real database (SQLite and PostgreSQL) and the real SQL rate
limiter, with a recording real-time fake (the transport is the only thing faked here)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from application.chat.access import SessionAccess
from application.chat.limits import ChatLimits
from application.chat.members import AddMember, LeaveSession, RemoveMember
from application.chat.messages import DeleteMessage, EditMessage, ListMessages, SendMessage
from application.chat.publishing import SafeRealtime
from application.chat.reads import MarkRead, SendTyping
from application.chat.sessions import CreateSession, GetSession, ListMySessions, RenameSession
from domain.users import User
from infra.sql.rate_limiter import SqlRateLimiter
from shared.clock import SystemClock


@dataclass
class RecordingRealtime:
    """Implements RealtimePublisher and RealtimeMembership; ``fail`` makes every call raise."""

    fail: bool = False
    events: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    joins: list[tuple[uuid.UUID, tuple[uuid.UUID, ...]]] = field(default_factory=list)
    leaves: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self) -> None:
        if self.fail:
            raise ConnectionError("web pubsub is down")

    def publish_to_session(
        self, session_id: uuid.UUID, event: str, data: Mapping[str, object], *, exclude_connection: str | None = None
    ) -> None:
        self._check()
        with self._lock:
            self.events.append((f"session:{session_id}", event, dict(data)))

    def publish_to_user(self, user_id: uuid.UUID, event: str, data: Mapping[str, object]) -> None:
        self._check()
        with self._lock:
            self.events.append((f"user:{user_id}", event, dict(data)))

    def add_user_to_sessions(self, user_id: uuid.UUID, session_ids: Sequence[uuid.UUID]) -> None:
        self._check()
        self.joins.append((user_id, tuple(session_ids)))

    def add_connection_to_sessions(self, connection_id: str, session_ids: Sequence[uuid.UUID]) -> None:
        self._check()

    def remove_user_from_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        self._check()
        self.leaves.append((user_id, session_id))

    def of(self, event: str) -> list[dict[str, object]]:
        return [data for _, name, data in self.events if name == event]


class Chat:
    """Every chat use case, wired like bootstrap does, on the test's database."""

    def __init__(self, uow_factory, engine, limits: ChatLimits) -> None:
        clock = SystemClock()
        self.uow_factory = uow_factory
        self.realtime = RecordingRealtime()
        safe = SafeRealtime(self.realtime, self.realtime)
        limiter = SqlRateLimiter(engine, clock)
        self.access = SessionAccess(uow_factory)
        self.create = CreateSession(uow_factory, safe, clock)
        self.list_sessions = ListMySessions(uow_factory, limits)
        self.get = GetSession(uow_factory)
        self.rename = RenameSession(uow_factory, safe, clock)
        self.add_member = AddMember(uow_factory, safe, clock)
        self.remove_member = RemoveMember(uow_factory, safe)
        self.leave = LeaveSession(uow_factory, safe, clock)
        self.send = SendMessage(uow_factory, safe, clock, limits)
        self.edit = EditMessage(uow_factory, safe, clock, limits)
        self.delete = DeleteMessage(uow_factory, safe, clock)
        self.list = ListMessages(uow_factory, limits)
        self.read = MarkRead(uow_factory, safe)
        self.typing = SendTyping(uow_factory, safe, limiter, limits)

    def user(self, name: str = "Ana") -> User:
        user = User(display_name=name)
        with self.uow_factory() as uow:
            uow.users.add(user)
            uow.commit()
        return user

    def room(self, owner: User, *members: User, title: str = "Sala") -> uuid.UUID:
        return uuid.UUID(self.create(owner.id, title, [m.id for m in members])["id"])

    def say(self, user: User, session_id: uuid.UUID, text: str = "olá", client_id: str | None = None):
        return self.send(user.id, session_id, client_id or uuid.uuid4().hex, text)


DEFAULT_LIMITS = ChatLimits(send_rate_limit=0, typing_rate_limit=0, page_size_default=50, page_size_max=100)


@pytest.fixture
def chat(uow_factory, migrated_engine) -> Chat:
    return Chat(uow_factory, migrated_engine, DEFAULT_LIMITS)


@pytest.fixture
def make_chat(uow_factory, migrated_engine):
    def build(limits: ChatLimits) -> Chat:
        return Chat(uow_factory, migrated_engine, limits)

    return build
