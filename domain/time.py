"""UTC helpers: every timestamp the domain creates or stores is timezone-aware UTC.

Naive datetimes are rejected instead of guessed, because a naive value read back from one database
and compared with an aware one from another is a classic source of off-by-hours bugs.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_utc(value: datetime, field: str) -> datetime:
    """Return ``value`` converted to UTC; raise ``ValueError`` if it carries no timezone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")
    return value.astimezone(UTC)
