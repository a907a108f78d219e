"""External identities (provider + subject) linked to users."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import IdentityAlreadyLinked
from domain.users import ExternalIdentity
from infra.sql.models import external_identities as identities


def _to_identity(row: Any) -> ExternalIdentity:
    return ExternalIdentity(
        id=row.id,
        provider=row.provider,
        subject=row.subject,
        user_id=row.user_id,
        email=row.email,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


class SqlIdentityRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, identity: ExternalIdentity) -> None:
        # A savepoint keeps the surrounding transaction usable after a duplicate (PostgreSQL
        # aborts the whole transaction on an error otherwise).
        try:
            with self._session.begin_nested():
                self._session.execute(
                    sa.insert(identities).values(
                        id=identity.id,
                        provider=identity.provider,
                        subject=identity.subject,
                        user_id=identity.user_id,
                        email=identity.email,
                        created_at=identity.created_at,
                        last_login_at=identity.last_login_at,
                    )
                )
        except IntegrityError as exc:
            if self.find_by_provider_subject(identity.provider, identity.subject) is None:
                raise
            raise IdentityAlreadyLinked("this account is already linked to a user") from exc

    def find_by_provider_subject(self, provider: str, subject: str) -> ExternalIdentity | None:
        stmt = sa.select(identities).where(
            identities.c.provider == provider.strip().lower(), identities.c.subject == subject
        )
        row = self._session.execute(stmt).first()
        return _to_identity(row) if row else None

    def list_for_user(self, user_id: uuid.UUID) -> list[ExternalIdentity]:
        stmt = sa.select(identities).where(identities.c.user_id == user_id).order_by(identities.c.created_at)
        return [_to_identity(row) for row in self._session.execute(stmt)]

    def record_login(self, identity_id: uuid.UUID, at: datetime) -> None:
        self._session.execute(sa.update(identities).where(identities.c.id == identity_id).values(last_login_at=at))
