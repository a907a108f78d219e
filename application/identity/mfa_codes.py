"""What every two-factor use case shares: checking a code under the replay and lockout rules,
recovery codes, and the hashing of one-time values.

Hashing choice: recovery codes carry 80 random bits and ``mfa_token``s 256, so a plain SHA-256 is
enough to make a leaked table useless (2**80 guesses per code, no dictionary to try). A slow hash
(bcrypt, argon2) protects *low*-entropy passwords and would only add latency here; a keyed hash
would tie every recovery code to one more secret whose loss locks everybody out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from application.identity.mfa_ports import SecretCipher, SecretUnreadable, TotpAlgorithm
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork
from domain.mfa import (
    RECOVERY_CODE_COUNT,
    InvalidMfaCode,
    LockoutPolicy,
    MfaCredential,
    MfaLocked,
    MfaRepository,
    RecoveryCode,
    retry_after_seconds,
)
from shared.errors import Unavailable

# Crockford-like alphabet: no 0/O, 1/I/L confusion when a person types a code from paper.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 4, 4  # 16 symbols of 30 = 78.5 bits


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_recovery_code(code: str) -> str:
    """Case, spaces and dashes do not matter when a person types a code."""
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> tuple[str, ...]:
    def one() -> str:
        groups = (
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH))
            for _ in range(RECOVERY_GROUPS)
        )
        return "-".join(groups)

    return tuple(one() for _ in range(count))


def hashed_recovery_codes(user_id: uuid.UUID, plain: Sequence[str], now: datetime) -> list[RecoveryCode]:
    return [
        RecoveryCode(user_id=user_id, code_hash=sha256_hex(normalize_recovery_code(c)), created_at=now) for c in plain
    ]


@dataclass(frozen=True, slots=True)
class SecondFactor:
    """Checks codes for one credential inside the caller's unit of work (the caller commits).

    Every check first refuses a locked account (429), then either records a success (resetting
    the failure count) or a failure (which may start a lock). A failure is recorded and
    committed by :meth:`reject` before the error is raised.
    """

    totp: TotpAlgorithm
    cipher: SecretCipher
    clock: Clock
    lockout: LockoutPolicy

    def secret_of(self, credential: MfaCredential) -> str:
        try:
            context = secret_context(credential.user_id)
            return self.cipher.decrypt(credential.secret_ciphertext, context=context).decode("ascii")
        except SecretUnreadable:
            # An operator problem (a removed key), not the user's: say so without details.
            raise Unavailable("Two-factor authentication is temporarily unavailable.") from None

    def totp_ok(self, credential: MfaCredential, code: str, now: datetime) -> bool:
        """True and the step recorded if ``code`` is valid and fresh (no replay in its time step)."""
        step = self.totp.matching_step(self.secret_of(credential), code, now)
        return step is not None and credential.accept_step(step)

    def recovery_ok(self, mfa: MfaRepository, credential: MfaCredential, code: str, now: datetime) -> bool:
        """True and the code spent if it is one of the user's unused recovery codes."""
        wanted = sha256_hex(normalize_recovery_code(code))
        match: RecoveryCode | None = None
        for candidate in mfa.unused_recovery_codes(credential.user_id):
            # Compare against every code (no early exit), in constant time.
            if hmac.compare_digest(candidate.code_hash, wanted):
                match = candidate
        if match is None or match.id is None or not mfa.use_recovery_code(match.id, now):
            return False
        credential.record_success()
        return True

    def reject(self, uow: UnitOfWork, credential: MfaCredential, now: datetime) -> NoReturn:
        """Record a wrong code, commit it (a failure must count even though the request fails),
        and raise ``InvalidMfaCode`` — or ``MfaLocked`` once this failure starts a lock."""
        credential.record_failure(now, self.lockout)
        uow.mfa.save_credential(credential)
        uow.commit()
        if credential.locked_until is not None and credential.locked_until > now:
            seconds = retry_after_seconds(credential.locked_until, now)
            raise MfaLocked(
                f"Too many wrong codes; two-factor sign-in is locked for {seconds} seconds.",
                retry_after_seconds=seconds,
            )
        raise InvalidMfaCode("The code is not valid.")


def secret_context(user_id: uuid.UUID) -> bytes:
    """Associated data of a user's encrypted secret: binds the ciphertext to its row's owner."""
    return b"tagarela-totp:" + str(user_id).encode("ascii")
