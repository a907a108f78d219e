"""Ports of the tokens area: what the session use cases need from the JWT adapter.

The signing and verification themselves live in ``infra/tokens`` (PyJWT, cryptography); the use
cases only see these two small interfaces, so they are tested with fakes and keep no library
imports.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.auth_sessions import AuthSession


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of one of our access tokens (signature, iss, aud and times checked)."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    amr: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int  # seconds


class AccessTokenIssuer(Protocol):
    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID, amr: Sequence[str], now: datetime) -> IssuedAccessToken:
        """A signed access token for the session, valid from ``now`` for the configured TTL."""
        ...


class AccessTokenVerifier(Protocol):
    def verify(self, token: str, now: datetime) -> AccessClaims:
        """Verify signature, algorithm, key id, issuer, audience, required claims and times.

        Raises ``shared.errors.Unauthenticated`` (code ``invalid_token``) on any failure, with a
        message that says nothing about which check failed.
        """
        ...


class AuthSessionLookup(Protocol):
    """Reads the session a bearer token names, on every authenticated request.

    A port of its own rather than a unit of work, because it is the one read on the hot path of
    every protected endpoint: the adapter does it read-only (no write lock, no extra round trips).
    """

    def get(self, session_id: uuid.UUID) -> AuthSession | None:
        """The session as stored now, or None; raises ``shared.errors.Unavailable`` on an outage."""
        ...
