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
