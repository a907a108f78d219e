"""Values that cross the identity use cases and the interface layer.

Shared by the three identity areas (providers, tokens, MFA) so that a sign-in completed by any
path — web callback, native ID token, second factor — answers in one shape.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.users import User


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who is calling, as far as the request tells: kept on sessions and used by rate limits."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)


@dataclass(frozen=True, slots=True)
class SignedIn:
    tokens: TokenPair
    user: User


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The first factor succeeded; ``mfa_token`` must be completed at ``/api/auth/2fa/verify``."""

    mfa_token: str
    expires_in: int


SignInOutcome = SignedIn | MfaRequired


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a protected endpoint, from a verified access token of a live session."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    amr: tuple[str, ...]
    token_id: str
    expires_at: datetime
