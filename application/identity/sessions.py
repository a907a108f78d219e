"""Starting a session: the last step of every successful sign-in (provider, ID token, 2FA).

``SessionIssuer.start`` runs *inside the caller's unit of work* and does not commit: the sign-in
use case that calls it commits the user, the identity link and the new session together, so a
failure anywhere leaves no half-created session behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from application.identity.results import ClientInfo, TokenPair
from application.identity.token_ports import AccessTokenIssuer
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork
from domain.auth_sessions import AuthSession, RefreshToken, SessionPolicy
from domain.users import User


class SessionIssuer:
    def __init__(self, access_tokens: AccessTokenIssuer, clock: Clock, policy: SessionPolicy) -> None:
        self._access_tokens = access_tokens
        self._clock = clock
        self.policy = policy

    def start(self, uow: UnitOfWork, user: User, amr: Sequence[str], client: ClientInfo) -> TokenPair:
        """Create the auth session and its first refresh token; returns the tokens (the caller commits)."""
        now = self._clock.now()
        session = AuthSession.open(user.id, amr, now, self.policy, user_agent=client.user_agent, ip=client.ip)
        uow.auth_sessions.add(session)
        tokens, _ = self.continue_session(uow, session)
        return tokens

    def continue_session(self, uow: UnitOfWork, session: AuthSession) -> tuple[TokenPair, int]:
        """A new refresh token in ``session``'s family plus an access token (no commit).

        Returns the pair and the stored id of the new refresh token (to link the spent one to it).
        """
        now = self._clock.now()
        plain, row = RefreshToken.issue_for(session, now, self.policy)
        stored = uow.refresh_tokens.add(row)
        if stored.id is None:  # pragma: no cover - storage always assigns it
            raise RuntimeError("the refresh token repository did not assign an id")
        access = self._access_tokens.issue(session.user_id, session.id, session.amr, now)
        return TokenPair(access_token=access.token, refresh_token=plain, expires_in=access.expires_in), stored.id
