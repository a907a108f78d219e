"""``/api/auth/2fa/verify``: completes a sign-in whose first factor succeeded (``MfaGate.challenge``).

Order of checks, each chosen so that failures teach an attacker nothing and cost them something:

1. the ``mfa_token`` must name a live challenge (unknown, expired after 5 minutes, consumed, or
   out of its 5 attempts: all one ``invalid_mfa_token`` 401 — start the sign-in again);
2. the account must not be locked (429 with ``Retry-After``; not counted as an attempt);
3. the attempt is counted on the challenge, then the TOTP code (fresh time step only) or an unused
   recovery code is checked against *the challenge's* user — so another user's ``mfa_token`` with my
   valid code fails, and counts against that account's lockout;
4. a wrong code is committed (attempt + failure) before the 401/429 is raised;
5. success consumes the challenge and starts the session through the tokens area's
   ``SessionIssuer`` with ``amr`` = the first factor's methods + ``otp`` or ``recovery``.

Rows are read ``FOR UPDATE`` (challenge first, then credential, everywhere), so two concurrent
requests with the same token or code cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from application.identity.mfa_codes import SecondFactor, sha256_hex
from application.identity.results import ClientInfo, SignedIn, TokenPair
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.mfa import InvalidMfaRequest, InvalidMfaToken
from domain.users import User

_INVALID_TOKEN = "The two-factor sign-in has expired or is no longer valid; sign in again."  # noqa: S105


class SessionStarter(Protocol):
    """What verify needs from the tokens area (``application.identity.sessions.SessionIssuer``)."""

    def start(self, uow: UnitOfWork, user: User, amr: Sequence[str], client: ClientInfo) -> TokenPair: ...


class VerifyTwoFactor:
    def __init__(self, uow_factory: UnitOfWorkFactory, factor: SecondFactor, sessions: SessionStarter) -> None:
        self._uow_factory = uow_factory
        self._factor = factor
        self._sessions = sessions

    def execute(
        self, mfa_token: str, client: ClientInfo, *, code: str | None = None, recovery_code: str | None = None
    ) -> SignedIn:
        if (code is None) == (recovery_code is None):
            raise InvalidMfaRequest("Send either a code or a recovery_code.")
        factor = self._factor
        now = factor.clock.now()
        with self._uow_factory() as uow:
            challenge = uow.mfa.get_challenge(sha256_hex(mfa_token), for_update=True)
            if challenge is None:
                raise InvalidMfaToken(_INVALID_TOKEN)
            challenge.ensure_usable(now)
            credential = uow.mfa.get_credential(challenge.user_id, for_update=True)
            user = uow.users.get(challenge.user_id)
            if credential is None or not credential.is_enabled or user is None or user.is_disabled:
                raise InvalidMfaToken(_INVALID_TOKEN)  # 2FA turned off or account disabled meanwhile
            credential.ensure_not_locked(now)
            challenge.record_attempt()
            if code is not None:
                ok, method = factor.totp_ok(credential, code, now), "otp"
            else:
                ok, method = factor.recovery_ok(uow.mfa, credential, recovery_code or "", now), "recovery"
            if not ok:
                uow.mfa.save_challenge(challenge)
                factor.reject(uow, credential, now)
            challenge.consume(now)
            uow.mfa.save_challenge(challenge)
            uow.mfa.save_credential(credential)
            amr = [*challenge.amr, method]
            tokens = self._sessions.start(uow, user, amr, client)
            uow.commit()
        return SignedIn(tokens=tokens, user=user)
