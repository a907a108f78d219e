"""Users: plain Core statements, rows mapped to :class:`domain.users.User` by hand."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.users import User, normalize_email
from infra.sql.models import users


def _to_user(row: Any) -> User:
    return User(
        id=row.id,
        display_name=row.display_name,
        email=row.email,
        email_verified=row.email_verified,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


class SqlUserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, user: User) -> None:
        self._session.execute(
            sa.insert(users).values(
                id=user.id,
                display_name=user.display_name,
                email=user.email,
                email_verified=user.email_verified,
                created_at=user.created_at,
                disabled_at=user.disabled_at,
            )
        )

    def get(self, user_id: uuid.UUID) -> User | None:
        row = self._session.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _to_user(row) if row else None

    def get_by_email(self, email: str) -> User | None:
        normalized = normalize_email(email)
        if normalized is None:
            return None
        stmt = (
            sa.select(users)
            .where(users.c.email == normalized)
            .order_by(users.c.email_verified.desc(), users.c.created_at, users.c.id)
            .limit(1)
        )
        row = self._session.execute(stmt).first()
        return _to_user(row) if row else None
