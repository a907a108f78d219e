"""Our sign-in sessions and their refresh tokens: entities, the rules they follow, storage ports.

An :class:`AuthSession` is one signed-in device (the ``sid`` claim of every access token it gets).
Its refresh tokens form one *rotation family*: each is spent once and replaced by the next, and a
spent token presented again (outside a short grace window) means the family was copied, so the
whole session is revoked. The session carries the *absolute* expiry; each refresh token carries the
*idle* expiry, capped by the session's.

Refresh tokens are opaque 256-bit random values (``secrets``); only their SHA-256 is stored. A fast
hash is enough: the value has 256 bits of entropy, so there is nothing to brute-force, and the
lookup by hash must stay an index seek.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from domain.time import require_utc
from shared.errors import Unauthenticated

REFRESH_TOKEN_BYTES = 32  # 256 bits
AMR_MAX_LENGTH = 128  # auth_sessions.amr column

# Why a session was revoked (auth_sessions.revoked_reason, 32 chars max).
REVOKED_LOGOUT = "logout"
REVOKED_LOGOUT_ALL = "logout_all"
REVOKED_REUSE = "refresh_token_reuse"
REVOKED_USER_DISABLED = "user_disabled"


def new_refresh_token() -> tuple[str, str]:
    """A fresh refresh token and the hash to store: ``(plain, sha256_hex)``. The plain value is
    handed to the client once and never stored or logged."""
    plain = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    return plain, hash_refresh_token(plain)


def hash_refresh_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def normalize_amr(amr: Sequence[str]) -> tuple[str, ...]:
    """Authentication methods, deduplicated in order; stored space separated, so no spaces inside."""
    methods: list[str] = []
    for method in amr:
        cleaned = method.strip()
        if not cleaned or any(ch.isspace() for ch in cleaned):
            raise ValueError("an authentication method must be a non-empty word")
        if cleaned not in methods:
            methods.append(cleaned)
    if not methods:
        raise ValueError("a session needs at least one authentication method")
    if len(" ".join(methods)) > AMR_MAX_LENGTH:
        raise ValueError(f"authentication methods exceed {AMR_MAX_LENGTH} characters")
    return tuple(methods)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Lifetimes and the reuse grace; built from settings by the composition root."""

    access_ttl: timedelta = timedelta(minutes=15)
    absolute_ttl: timedelta = timedelta(days=30)
    idle_ttl: timedelta = timedelta(days=7)
    # A spent refresh token presented again within this window (two tabs refreshing at once) is
    # exchanged again instead of revoking the family. See application/identity/refresh.py.
    reuse_grace: timedelta = timedelta(seconds=20)

    def __post_init__(self) -> None:
        if self.access_ttl <= timedelta(0) or self.idle_ttl <= timedelta(0) or self.absolute_ttl <= timedelta(0):
            raise ValueError("token lifetimes must be positive")
        if self.reuse_grace < timedelta(0):
            raise ValueError("the reuse grace cannot be negative")


@dataclass(slots=True)
class AuthSession:
    user_id: uuid.UUID
    amr: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    last_seen_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    user_agent: str | None = None
    ip: str | None = None

    def __post_init__(self) -> None:
        self.amr = normalize_amr(self.amr)
        self.created_at = require_utc(self.created_at, "created_at")
        self.expires_at = require_utc(self.expires_at, "expires_at")
        if self.last_seen_at is None:
            self.last_seen_at = self.created_at

    @classmethod
    def open(
        cls,
        user_id: uuid.UUID,
        amr: Sequence[str],
        now: datetime,
        policy: SessionPolicy,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> AuthSession:
        return cls(
            user_id=user_id,
            amr=tuple(amr),
            created_at=now,
            expires_at=now + policy.absolute_ttl,
            user_agent=user_agent,
            ip=ip,
        )

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(slots=True)
class RefreshToken:
    """A stored refresh token (its hash). ``id`` is assigned by storage."""

    session_id: uuid.UUID
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    replaced_by_id: int | None = None
    id: int | None = None

    @classmethod
    def issue_for(cls, session: AuthSession, now: datetime, policy: SessionPolicy) -> tuple[str, RefreshToken]:
        """A new token of ``session``'s family: ``(plain, row)``; idle expiry capped by the session."""
        plain, digest = new_refresh_token()
        expires_at = min(now + policy.idle_ttl, session.expires_at)
        return plain, cls(session_id=session.id, token_hash=digest, created_at=now, expires_at=expires_at)

    def is_spent(self) -> bool:
        return self.used_at is not None

    def within_reuse_grace(self, now: datetime, policy: SessionPolicy) -> bool:
        """Spent less than ``reuse_grace`` ago (a zero grace disables it)."""
        return self.used_at is not None and now - self.used_at < policy.reuse_grace


class AuthSessionRepository(Protocol):
    def add(self, session: AuthSession) -> None: ...

    def get(self, session_id: uuid.UUID) -> AuthSession | None: ...

    def touch(self, session_id: uuid.UUID, at: datetime) -> None:
        """Record activity (a refresh); not done per request, to keep reads read-only."""
        ...

    def revoke(self, session_id: uuid.UUID, at: datetime, reason: str) -> bool:
        """Revoke the session if it is not already; True when this call revoked it."""
        ...

    def revoke_all_for_user(self, user_id: uuid.UUID, at: datetime, reason: str) -> int:
        """Revoke every unrevoked session of the user; returns how many."""
        ...


class RefreshTokenRepository(Protocol):
    def add(self, token: RefreshToken) -> RefreshToken:
        """Returns the token with its ``id`` set."""
        ...

    def find_by_hash(self, token_hash: str) -> RefreshToken | None: ...

    def mark_used(self, token_id: int, at: datetime) -> bool:
        """Atomically spend an unspent token (``UPDATE ... WHERE used_at IS NULL``). False when
        it was already spent: a concurrent refresh won the race."""
        ...

    def link_replacement(self, token_id: int, replaced_by_id: int) -> None: ...

    def spend_family(self, session_id: uuid.UUID, at: datetime) -> int:
        """Mark every unspent token of the session spent (family revocation); returns how many."""
        ...


class InvalidRefreshToken(Unauthenticated):
    """Unknown, expired, revoked or reused: one answer for all, so a caller learns nothing."""

    code = "invalid_refresh_token"

    def __init__(self) -> None:
        super().__init__("The refresh token is invalid, expired or revoked; sign in again.")


class InvalidAccessToken(Unauthenticated):
    """Any failed access-token check (RFC 6750 ``invalid_token``), with no detail."""

    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("The access token is invalid or expired.")
