"""Logging out: this session (``Logout``) or every session of the user (``LogoutAll``).

Revoking the session is enough to stop everything it holds: its access tokens fail the session
check of :class:`AuthenticateAccessToken` at once, and its refresh tokens fail because the session
is no longer active. The unspent refresh tokens are also marked spent, so the family is closed in
storage too.
"""

from __future__ import annotations

from application.identity.results import Principal
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.auth_sessions import REVOKED_LOGOUT, REVOKED_LOGOUT_ALL


class Logout:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def __call__(self, principal: Principal) -> None:
        with self._uow_factory() as uow:
            now = self._clock.now()
            uow.auth_sessions.revoke(principal.session_id, now, REVOKED_LOGOUT)
            uow.refresh_tokens.spend_family(principal.session_id, now)
            uow.commit()


class LogoutAll:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def __call__(self, principal: Principal) -> int:
        """Revokes every live session of the caller (this one included); returns how many."""
        with self._uow_factory() as uow:
            now = self._clock.now()
            count = uow.auth_sessions.revoke_all_for_user(principal.user_id, now, REVOKED_LOGOUT_ALL)
            uow.commit()
        return count
