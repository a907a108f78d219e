"""Column types shared by the models.

``UtcDateTime`` exists because SQLite has no timezone-aware timestamp: it would hand back naive
datetimes while PostgreSQL and Azure SQL hand back aware ones. Binding converts to UTC (and rejects
naive values); reading always returns aware UTC, whatever the dialect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as text: a fixed offset-free format keeps lexical order == time order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Autoincrementing 64-bit ids: SQLite only autoincrements an ``INTEGER PRIMARY KEY`` (the rowid).
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
