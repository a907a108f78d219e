"""``RefreshSession``: exchange a refresh token for a new pair, rotating it, detecting reuse.

Rules (issue 3, item 3):

- Every use spends the token (``UPDATE ... SET used_at WHERE used_at IS NULL``, checked by row
  count, so two concurrent refreshes cannot both spend it) and issues a new refresh token of the
  same family plus a new access token; the spent token is linked to its replacement.
- A *spent* token presented again outside the grace window means someone holds a copy: the whole
  family is revoked — the session (so its access tokens die at the next request) and every
  unspent refresh token in it — and the caller gets 401.
- **Grace** (``REFRESH_TOKEN_REUSE_GRACE_SECONDS``, default 20 s): a spent token presented again
  within the window is exchanged again for a *fresh pair in the same session*, without revoking.
  Why a fresh pair and not a 409 "use the token you already got": two tabs of a SPA that keep
  tokens in memory (or whose shared-storage write has not landed yet) both send the same refresh
  token when the access token expires; the tab that loses the race has no other token to use, so
  a 409 would sign it out. The cost is that, for those few seconds, a thief replaying a token that
  was *just* used also gets a pair; reuse after the window still revokes everything, and every
  branch of the family dies with the session.
- Expiry: the token's idle expiry (``REFRESH_TOKEN_IDLE_TTL_SECONDS``) and the session's
  absolute one (``REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS``, never extended by refreshing).
- A disabled user's session is revoked on its next refresh.

Every failure is the same :class:`InvalidRefreshToken` (401), whatever the reason.
"""

from __future__ import annotations

import logging

from application.identity.results import SignedIn, TokenPair
from application.identity.sessions import SessionIssuer
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.auth_sessions import (
    REVOKED_REUSE,
    REVOKED_USER_DISABLED,
    AuthSession,
    InvalidRefreshToken,
    RefreshToken,
    hash_refresh_token,
)

log = logging.getLogger(__name__)

MAX_REFRESH_TOKEN_LENGTH = 256


class RefreshSession:
    def __init__(self, uow_factory: UnitOfWorkFactory, issuer: SessionIssuer, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._issuer = issuer
        self._clock = clock

    def __call__(self, refresh_token: str) -> SignedIn:
        if not refresh_token or len(refresh_token) > MAX_REFRESH_TOKEN_LENGTH:
            raise InvalidRefreshToken()
        digest = hash_refresh_token(refresh_token)
        with self._uow_factory() as uow:
            now = self._clock.now()
            token = uow.refresh_tokens.find_by_hash(digest)
            if token is None or token.id is None:
                raise InvalidRefreshToken()
            session = uow.auth_sessions.get(token.session_id)
            if session is None or not session.is_active(now):
                raise InvalidRefreshToken()
            user = uow.users.get(session.user_id)
            if user is None or user.is_disabled:
                self._revoke_family(uow, session, REVOKED_USER_DISABLED)
                raise InvalidRefreshToken()

            if not token.is_spent():
                if now >= token.expires_at:
                    raise InvalidRefreshToken()  # idle expiry
                if uow.refresh_tokens.mark_used(token.id, now):
                    tokens, replacement_id = self._issuer.continue_session(uow, session)
                    uow.refresh_tokens.link_replacement(token.id, replacement_id)
                    uow.auth_sessions.touch(session.id, now)
                    uow.commit()
                    return SignedIn(tokens, user)
                # A concurrent refresh spent it between our read and our update: it is a reuse now.
                token = uow.refresh_tokens.find_by_hash(digest)
                if token is None:  # pragma: no cover - rows are never deleted while a session lives
                    raise InvalidRefreshToken()

            tokens_in_grace = self._reuse(uow, token, session)
            return SignedIn(tokens_in_grace, user)

    def _reuse(self, uow: UnitOfWork, token: RefreshToken, session: AuthSession) -> TokenPair:
        """A spent token again: a sibling pair within the grace window, else revoke the family."""
        now = self._clock.now()
        if token.within_reuse_grace(now, self._issuer.policy):
            tokens, _ = self._issuer.continue_session(uow, session)
            uow.auth_sessions.touch(session.id, now)
            uow.commit()
            return tokens
        self._revoke_family(uow, session, REVOKED_REUSE)
        log.warning(
            "refresh token reuse detected: session %s of user %s revoked", session.id, session.user_id
        )
        raise InvalidRefreshToken()

    def _revoke_family(self, uow: UnitOfWork, session: AuthSession, reason: str) -> None:
        now = self._clock.now()
        uow.auth_sessions.revoke(session.id, now, reason)
        uow.refresh_tokens.spend_family(session.id, now)
        uow.commit()  # the revocation must stick although the caller gets an error
