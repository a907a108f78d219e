"""Two-factor authentication: the TOTP credential, recovery codes, sign-in challenges and their rules.

The rules live here, free of any library, so they are tested directly:
- a TOTP code is accepted **once per time step**: a step at or before the last accepted one is a
  replay (someone who saw the code, or the same request sent twice) and is refused;
- **lockout with backoff per account**: after ``threshold`` consecutive wrong codes the account's
  second factor is locked for ``base`` seconds, doubling with each further failure up to ``cap``;
  a success resets the count. This bounds online guessing of a 6-digit code to a few dozen tries
  a day per account, whatever the number of IP addresses an attacker uses;
- a **challenge** (the ``mfa_token`` of a half-finished sign-in) is single-use, lives 5 minutes and
  allows at most 5 attempts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.time import require_utc
from shared.errors import Conflict, InvalidInput, RateLimited, Unauthenticated

CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGE_MAX_ATTEMPTS = 5
RECOVERY_CODE_COUNT = 10


# --- errors (codes are what clients branch on; messages never carry codes or secrets) ---------------


class InvalidMfaCode(Unauthenticated):
    code = "invalid_mfa_code"


class InvalidMfaToken(Unauthenticated):
    """Unknown, expired, consumed or exhausted ``mfa_token``: the sign-in must start again."""

    code = "invalid_mfa_token"


class MfaLocked(RateLimited):
    code = "mfa_locked"


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"


class MfaNotSetUp(Conflict):
    """No pending secret to enable, or 2FA not enabled where it must be."""

    code = "mfa_not_enabled"


class InvalidMfaRequest(InvalidInput):
    code = "invalid_mfa_request"


# --- lockout ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    threshold: int = 5
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("lockout policy needs threshold >= 1 and 0 < base <= cap")

    def lock_duration(self, consecutive_failures: int) -> timedelta | None:
        """How long to lock after this many consecutive failures (None: not locked yet)."""
        if consecutive_failures < self.threshold:
            return None
        doublings = min(consecutive_failures - self.threshold, 32)  # 2**32 minutes is past any cap
        duration: timedelta = self.base * (1 << doublings)
        return min(duration, self.cap)


def retry_after_seconds(until: datetime, now: datetime) -> int:
    seconds = (until - now).total_seconds()
    whole = int(seconds)
    return max(1, whole + (1 if seconds > whole else 0))


# --- the TOTP credential --------------------------------------------------------------------------------


def is_fresh_step(step: int, last_used_step: int | None) -> bool:
    """The replay rule: only a time step after the last accepted one may be accepted."""
    return last_used_step is None or step > last_used_step


@dataclass(slots=True)
class MfaCredential:
    """A user's TOTP secret (encrypted: the domain never sees it in clear) and its guard state."""

    user_id: uuid.UUID
    secret_ciphertext: bytes
    created_at: datetime
    enabled_at: datetime | None = None
    last_used_step: int | None = None
    failed_attempts: int = 0
    locked_until: datetime | None = None

    def __post_init__(self) -> None:
        self.created_at = require_utc(self.created_at, "created_at")

    @property
    def is_enabled(self) -> bool:
        return self.enabled_at is not None

    def ensure_not_locked(self, now: datetime) -> None:
        if self.locked_until is not None and now < self.locked_until:
            seconds = retry_after_seconds(self.locked_until, now)
            raise MfaLocked(
                f"Too many wrong codes; two-factor sign-in is locked for {seconds} seconds.",
                retry_after_seconds=seconds,
            )

    def record_failure(self, now: datetime, policy: LockoutPolicy) -> None:
        self.failed_attempts += 1
        duration = policy.lock_duration(self.failed_attempts)
        if duration is not None:
            self.locked_until = now + duration

    def accept_step(self, step: int) -> bool:
        """Record ``step`` as used if it is fresh (and reset the failure count); False on replay."""
        if not is_fresh_step(step, self.last_used_step):
            return False
        self.last_used_step = step
        self.record_success()
        return True

    def record_success(self) -> None:
        self.failed_attempts = 0
        self.locked_until = None


# --- recovery codes ------------------------------------------------------------------------------------


@dataclass(slots=True)
class RecoveryCode:
    user_id: uuid.UUID
    code_hash: str
    created_at: datetime
    used_at: datetime | None = None
    id: int | None = None


# --- sign-in challenges ---------------------------------------------------------------------------------


@dataclass(slots=True)
class MfaChallenge:
    token_hash: str
    user_id: uuid.UUID
    amr: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    consumed_at: datetime | None = None
    user_agent: str | None = None
    ip: str | None = None

    @classmethod
    def open(
        cls,
        token_hash: str,
        user_id: uuid.UUID,
        amr: Sequence[str],
        now: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> MfaChallenge:
        return cls(
            token_hash=token_hash,
            user_id=user_id,
            amr=tuple(amr),
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
            user_agent=user_agent,
            ip=ip,
        )

    def ensure_usable(self, now: datetime) -> None:
        """Consumed, expired and exhausted challenges all fail alike (nothing to learn from which)."""
        if self.consumed_at is not None or now >= self.expires_at or self.attempts >= CHALLENGE_MAX_ATTEMPTS:
            raise InvalidMfaToken("The two-factor sign-in has expired or is no longer valid; sign in again.")

    def record_attempt(self) -> None:
        self.attempts += 1

    def consume(self, now: datetime) -> None:
        self.consumed_at = now


# --- repository port ------------------------------------------------------------------------------------


class MfaRepository(Protocol):
    """Credentials, recovery codes and challenges (``uow.mfa``). Never commits."""

    def get_credential(self, user_id: uuid.UUID, *, for_update: bool = False) -> MfaCredential | None:
        """``for_update`` locks the row until the transaction ends (serializes code checks per user)."""
        ...

    def save_credential(self, credential: MfaCredential) -> None:
        """Insert or replace the user's credential with every field of ``credential``."""
        ...

    def delete_credential(self, user_id: uuid.UUID) -> None: ...

    def is_enabled(self, user_id: uuid.UUID) -> bool: ...

    def replace_recovery_codes(self, user_id: uuid.UUID, codes: Sequence[RecoveryCode]) -> None:
        """Delete every existing code of the user, then store ``codes``."""
        ...

    def unused_recovery_codes(self, user_id: uuid.UUID) -> list[RecoveryCode]: ...

    def use_recovery_code(self, code_id: int, now: datetime) -> bool:
        """Mark the code used if it still is unused; False if someone used it first."""
        ...

    def add_challenge(self, challenge: MfaChallenge) -> None: ...

    def get_challenge(self, token_hash: str, *, for_update: bool = False) -> MfaChallenge | None: ...

    def save_challenge(self, challenge: MfaChallenge) -> None:
        """Persist ``attempts`` and ``consumed_at``."""
        ...

    def delete_challenges_of(self, user_id: uuid.UUID) -> None:
        """Drop a user's pending challenges (2FA disabled: they can no longer be completed)."""
        ...

    def delete_expired_challenges(self, user_id: uuid.UUID, now: datetime) -> None:
        """Housekeeping when a new challenge is opened (uses the user_id index)."""
        ...
