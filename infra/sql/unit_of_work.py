"""The SQL unit of work: one SQLAlchemy ``Session`` (one transaction) per use case.

Database outages surface as :class:`shared.errors.Unavailable` (a retryable 503), so the interface
layer never needs to know SQLAlchemy exception types.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from infra.sql.outages import UNAVAILABLE_MESSAGE, is_outage
from infra.sql.repositories import (
    SqlChatSessionRepository,
    SqlFileRepository,
    SqlIdentityRepository,
    SqlMessageRepository,
    SqlSessionMemberRepository,
    SqlTokenUsageRepository,
    SqlUserRepository,
)
from infra.sql.repositories.auth_sessions import SqlAuthSessionRepository, SqlRefreshTokenRepository
from infra.sql.repositories.mfa import SqlMfaRepository
from infra.sql.repositories.pending_logins import SqlPendingLoginRepository
from infra.sql.repositories.rate_counters import SqlRateCounterRepository
from shared.errors import Unavailable


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: repositories return detached dataclasses anyway, nothing to reload.
    return sessionmaker(engine, expire_on_commit=False)


class SqlUnitOfWork:
    users: SqlUserRepository
    identities: SqlIdentityRepository
    sessions: SqlChatSessionRepository
    members: SqlSessionMemberRepository
    messages: SqlMessageRepository
    files: SqlFileRepository
    token_usage: SqlTokenUsageRepository
    auth_sessions: SqlAuthSessionRepository
    refresh_tokens: SqlRefreshTokenRepository
    pending_logins: SqlPendingLoginRepository
    mfa: SqlMfaRepository
    rate_counters: SqlRateCounterRepository

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session, for infra adapters (search, ...) that join this transaction."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it in a 'with' block")
        return self._session

    def __enter__(self) -> Self:
        session = self._session_factory()
        self._session = session
        self.users = SqlUserRepository(session)
        self.identities = SqlIdentityRepository(session)
        self.sessions = SqlChatSessionRepository(session)
        self.members = SqlSessionMemberRepository(session)
        self.messages = SqlMessageRepository(session)
        self.files = SqlFileRepository(session)
        self.token_usage = SqlTokenUsageRepository(session)
        self.auth_sessions = SqlAuthSessionRepository(session)
        self.refresh_tokens = SqlRefreshTokenRepository(session)
        self.pending_logins = SqlPendingLoginRepository(session)
        self.mfa = SqlMfaRepository(session)
        self.rate_counters = SqlRateCounterRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        rollback_error: DBAPIError | None = None
        try:
            session.rollback()
        except DBAPIError as error:  # e.g. the connection died mid-transaction
            rollback_error = error
        finally:
            session.close()
        cause = exc if exc is not None else rollback_error
        if is_outage(cause):
            raise Unavailable(UNAVAILABLE_MESSAGE) from cause
        if rollback_error is not None and exc is None:
            raise rollback_error

    def commit(self) -> None:
        try:
            self.session.commit()
        except DBAPIError as exc:
            if is_outage(exc):
                raise Unavailable(UNAVAILABLE_MESSAGE) from exc
            raise

    def rollback(self) -> None:
        self.session.rollback()


def make_uow_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """What the composition root hands to use cases as their ``UnitOfWorkFactory``."""
    session_factory = make_session_factory(engine)
    return lambda: SqlUnitOfWork(session_factory)
