"""The unit of work port: one transaction per use case, with a repository per aggregate.

Usage (cosmicpython style)::

    with uow_factory() as uow:
        uow.sessions.add(session)
        uow.members.add(owner)
        uow.commit()

Leaving the ``with`` block rolls back whatever was not committed, so an exception (or a forgotten
``commit()``) never leaves half a change behind.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from domain.auth_sessions import AuthSessionRepository, RefreshTokenRepository
from domain.identity import PendingLoginRepository
from domain.mfa import MfaRepository
from domain.ports import (
    ChatSessionRepository,
    FileRepository,
    IdentityRepository,
    MessageRepository,
    RateCounterRepository,
    SessionMemberRepository,
    TokenUsageRepository,
    UserRepository,
)


class UnitOfWork(Protocol):
    users: UserRepository
    identities: IdentityRepository
    sessions: ChatSessionRepository
    members: SessionMemberRepository
    messages: MessageRepository
    files: FileRepository
    token_usage: TokenUsageRepository
    auth_sessions: AuthSessionRepository
    refresh_tokens: RefreshTokenRepository
    pending_logins: PendingLoginRepository
    mfa: MfaRepository
    rate_counters: RateCounterRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back anything not committed and releases the connection."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""What use cases receive: a fresh unit of work per call (never share one across requests)."""
