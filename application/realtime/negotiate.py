"""``POST /api/negotiate``: a short-lived Web PubSub client URL for the signed-in user."""

from __future__ import annotations

import uuid

from application.realtime.ports import ClientAccess, ClientAccessIssuer


class Negotiate:
    def __init__(self, issuer: ClientAccessIssuer, *, token_minutes: int) -> None:
        self._issuer = issuer
        self._minutes = token_minutes

    def __call__(self, user_id: uuid.UUID) -> ClientAccess:
        # The token names the user and grants nothing else (no roles, no groups): a connection
        # can only send events, which the event handler authorizes as this user.
        return self._issuer.client_access(user_id, minutes=self._minutes)
