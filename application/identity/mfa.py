"""The MFA gate of sign-in: does this user need a second factor, and if so, open the challenge.

The sign-in flow (providers area) calls it inside its own unit of work after the first factor
succeeded::

    if gate.required(uow, user.id):
        outcome = gate.challenge(uow, user, amr, client)   # MfaRequired(mfa_token, expires_in)
    else:
        outcome = SignedIn(sessions.start(uow, user, amr, client), user)
    uow.commit()

The ``mfa_token`` is 256 random bits handed to the client once; only its SHA-256 is stored, so a
read of the table cannot complete anybody's sign-in. ``/api/auth/2fa/verify`` finishes it
(:mod:`application.identity.mfa_verify`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from application.identity.mfa_codes import sha256_hex
from application.identity.results import ClientInfo, MfaRequired
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork
from domain.mfa import CHALLENGE_TTL, MfaChallenge
from domain.users import User


class MfaGate:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def required(self, uow: UnitOfWork, user_id: uuid.UUID) -> bool:
        """True when the user has enabled two-factor authentication (a pending setup does not count)."""
        return uow.mfa.is_enabled(user_id)

    def challenge(self, uow: UnitOfWork, user: User, amr: Sequence[str], client: ClientInfo) -> MfaRequired:
        """Store a challenge for ``user`` carrying the first factor's ``amr``; the caller commits."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        uow.mfa.delete_expired_challenges(user.id, now)
        uow.mfa.add_challenge(
            MfaChallenge.open(sha256_hex(token), user.id, amr, now, user_agent=client.user_agent, ip=client.ip)
        )
        return MfaRequired(mfa_token=token, expires_in=int(CHALLENGE_TTL.total_seconds()))
