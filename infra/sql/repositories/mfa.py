"""Two-factor authentication storage: TOTP credentials, recovery codes and sign-in challenges.

Core statements, rows mapped to the dataclasses of :mod:`domain.mfa` by hand. ``for_update`` reads
use ``SELECT ... FOR UPDATE`` (PostgreSQL), ``WITH (UPDLOCK, ROWLOCK)`` (SQL Server); SQLite
ignores it, but there every transaction is ``BEGIN IMMEDIATE`` and so already serialized.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.mfa import MfaChallenge, MfaCredential, RecoveryCode
from infra.sql.models import MfaChallengeRow, MfaCredentialRow, RecoveryCodeRow

credentials = MfaCredentialRow.__table__
recovery_codes = RecoveryCodeRow.__table__
challenges = MfaChallengeRow.__table__


def _to_credential(row: Any) -> MfaCredential:
    return MfaCredential(
        user_id=row.user_id,
        secret_ciphertext=bytes(row.secret_ciphertext),
        created_at=row.created_at,
        enabled_at=row.enabled_at,
        last_used_step=row.last_used_step,
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
    )


def _to_challenge(row: Any) -> MfaChallenge:
    return MfaChallenge(
        token_hash=row.token_hash,
        user_id=row.user_id,
        amr=tuple(row.amr.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        attempts=row.attempts,
        consumed_at=row.consumed_at,
        user_agent=row.user_agent,
        ip=row.ip,
    )


class SqlMfaRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # --- credentials ---

    def get_credential(self, user_id: uuid.UUID, *, for_update: bool = False) -> MfaCredential | None:
        stmt = sa.select(credentials).where(credentials.c.user_id == user_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._session.execute(stmt).first()
        return _to_credential(row) if row else None

    def save_credential(self, credential: MfaCredential) -> None:
        values = {
            "secret_ciphertext": credential.secret_ciphertext,
            "created_at": credential.created_at,
            "enabled_at": credential.enabled_at,
            "last_used_step": credential.last_used_step,
            "failed_attempts": credential.failed_attempts,
            "locked_until": credential.locked_until,
        }
        updated = self._session.execute(
            sa.update(credentials).where(credentials.c.user_id == credential.user_id).values(**values)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            self._session.execute(sa.insert(credentials).values(user_id=credential.user_id, **values))

    def delete_credential(self, user_id: uuid.UUID) -> None:
        self._session.execute(sa.delete(credentials).where(credentials.c.user_id == user_id))

    def is_enabled(self, user_id: uuid.UUID) -> bool:
        stmt = sa.select(credentials.c.enabled_at).where(credentials.c.user_id == user_id)
        return self._session.execute(stmt).scalar() is not None

    # --- recovery codes ---

    def replace_recovery_codes(self, user_id: uuid.UUID, codes: Sequence[RecoveryCode]) -> None:
        self._session.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        if codes:
            self._session.execute(
                sa.insert(recovery_codes),
                [{"user_id": c.user_id, "code_hash": c.code_hash, "created_at": c.created_at} for c in codes],
            )

    def unused_recovery_codes(self, user_id: uuid.UUID) -> list[RecoveryCode]:
        stmt = sa.select(recovery_codes).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
        )
        return [
            RecoveryCode(id=r.id, user_id=r.user_id, code_hash=r.code_hash, created_at=r.created_at, used_at=r.used_at)
            for r in self._session.execute(stmt)
        ]

    def use_recovery_code(self, code_id: int, now: datetime) -> bool:
        result = self._session.execute(
            sa.update(recovery_codes)
            .where(recovery_codes.c.id == code_id, recovery_codes.c.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # --- challenges ---

    def add_challenge(self, challenge: MfaChallenge) -> None:
        self._session.execute(
            sa.insert(challenges).values(
                token_hash=challenge.token_hash,
                user_id=challenge.user_id,
                amr=" ".join(challenge.amr),
                created_at=challenge.created_at,
                expires_at=challenge.expires_at,
                attempts=challenge.attempts,
                consumed_at=challenge.consumed_at,
                user_agent=challenge.user_agent,
                ip=challenge.ip,
            )
        )

    def get_challenge(self, token_hash: str, *, for_update: bool = False) -> MfaChallenge | None:
        stmt = sa.select(challenges).where(challenges.c.token_hash == token_hash)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._session.execute(stmt).first()
        return _to_challenge(row) if row else None

    def save_challenge(self, challenge: MfaChallenge) -> None:
        self._session.execute(
            sa.update(challenges)
            .where(challenges.c.token_hash == challenge.token_hash)
            .values(attempts=challenge.attempts, consumed_at=challenge.consumed_at)
        )

    def delete_challenges_of(self, user_id: uuid.UUID) -> None:
        self._session.execute(sa.delete(challenges).where(challenges.c.user_id == user_id))

    def delete_expired_challenges(self, user_id: uuid.UUID, now: datetime) -> None:
        self._session.execute(
            sa.delete(challenges).where(challenges.c.user_id == user_id, challenges.c.expires_at <= now)
        )
