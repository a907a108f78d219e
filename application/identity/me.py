"""``GetMe``: the caller's profile, linked sign-in accounts and current session (``GET /api/me``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from application.identity.results import Principal
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.auth_sessions import AuthSession, InvalidAccessToken
from domain.users import ExternalIdentity, User


class TwoFactorStatus(Protocol):
    """The MFA area's gate answers "is 2FA on for this user?" (``MfaGate.required``)."""

    def required(self, uow: UnitOfWork, user_id: uuid.UUID) -> bool: ...


@dataclass(frozen=True, slots=True)
class MeView:
    user: User
    identities: tuple[ExternalIdentity, ...]
    session: AuthSession
    two_factor_enabled: bool | None  # None: the MFA area is not wired in


class GetMe:
    def __init__(self, uow_factory: UnitOfWorkFactory, two_factor: TwoFactorStatus | None = None) -> None:
        self._uow_factory = uow_factory
        self._two_factor = two_factor

    def __call__(self, principal: Principal) -> MeView:
        with self._uow_factory() as uow:
            user = uow.users.get(principal.user_id)
            session = uow.auth_sessions.get(principal.session_id)
            if user is None or session is None:  # removed between authentication and now
                raise InvalidAccessToken()
            identities = tuple(uow.identities.list_for_user(user.id))
            enabled = self._two_factor.required(uow, user.id) if self._two_factor is not None else None
        return MeView(user=user, identities=identities, session=session, two_factor_enabled=enabled)
