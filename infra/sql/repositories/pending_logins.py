"""Pending web logins (``pending_logins``): stored by key hash, consumed exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.identity import PendingLogin
from infra.sql.models import pending_logins as table


def _to_login(row: Any) -> PendingLogin:
    return PendingLogin(
        key_hash=row.state_hash,
        provider=row.provider,
        nonce=row.nonce,
        code_verifier=row.code_verifier,
        redirect_uri=row.redirect_uri,
        return_to=row.return_to,
        link_user_id=row.link_user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        consumed_at=row.consumed_at,
    )


class SqlPendingLoginRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, login: PendingLogin) -> None:
        self._session.execute(
            sa.insert(table).values(
                state_hash=login.key_hash,
                provider=login.provider,
                nonce=login.nonce,
                code_verifier=login.code_verifier,
                redirect_uri=login.redirect_uri,
                return_to=login.return_to,
                link_user_id=login.link_user_id,
                created_at=login.created_at,
                expires_at=login.expires_at,
                consumed_at=login.consumed_at,
            )
        )

    def consume(self, key_hash: str, now: datetime) -> PendingLogin | None:
        # One conditional UPDATE is the claim: whichever transaction flips consumed_at from NULL
        # wins; a concurrent one matches no row (PostgreSQL re-checks the WHERE after the lock,
        # SQLite serializes writers) and gets None.
        claimed = self._session.execute(
            sa.update(table)
            .where(table.c.state_hash == key_hash, table.c.consumed_at.is_(None), table.c.expires_at > now)
            .values(consumed_at=now)
        )
        if claimed.rowcount != 1:
            return None
        row = self._session.execute(sa.select(table).where(table.c.state_hash == key_hash)).first()
        return _to_login(row) if row else None

    def delete_expired(self, now: datetime) -> int:
        result = self._session.execute(sa.delete(table).where(table.c.expires_at <= now))
        return int(result.rowcount or 0)
