"""``AuthenticateAccessToken``: who is calling a protected endpoint.

The JWT is verified first (signature with a key of *our* key ring, ES256 only, iss, aud, times);
then the session named by ``sid`` is read from the database on **every** request and must exist,
belong to ``sub``, be unrevoked and unexpired. That read is the price of "logout stops an access
token at once": one primary-key lookup per request (measured by ``bench/auth_me.py``), instead of
waiting up to the access TTL (15 min) for a revoked session's tokens to expire. It goes through
``AuthSessionLookup``, a read-only port, not a unit of work: nothing is written, and on SQLite a
unit of work's ``BEGIN IMMEDIATE`` made every authenticated request take the write lock.
"""

from __future__ import annotations

from application.identity.results import Principal
from application.identity.token_ports import AccessTokenVerifier, AuthSessionLookup
from application.ports.clock import Clock
from domain.auth_sessions import InvalidAccessToken


class AuthenticateAccessToken:
    def __init__(self, verifier: AccessTokenVerifier, sessions: AuthSessionLookup, clock: Clock) -> None:
        self._verifier = verifier
        self._sessions = sessions
        self._clock = clock

    def __call__(self, token: str) -> Principal:
        now = self._clock.now()
        claims = self._verifier.verify(token, now)
        session = self._sessions.get(claims.session_id)
        if session is None or session.user_id != claims.user_id or not session.is_active(now):
            raise InvalidAccessToken()
        return Principal(
            user_id=claims.user_id,
            session_id=session.id,
            amr=session.amr,
            token_id=claims.token_id,
            expires_at=claims.expires_at,
        )
