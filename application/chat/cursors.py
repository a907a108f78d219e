"""Opaque cursors for the "my sessions" listing: base64url of ``<updated_at ISO>|<session id>``.

Opaque so clients do not build them (the keyset may change); validated strictly so a tampered
cursor is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime

from domain.chat import SessionCursor
from shared.errors import InvalidInput

_MAX_CURSOR = 200


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


def encode_cursor(cursor: SessionCursor) -> str:
    raw = f"{cursor.updated_at.astimezone(UTC).isoformat()}|{cursor.session_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> SessionCursor:
    try:
        if len(value) > _MAX_CURSOR:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        stamp, _, session_id = raw.partition("|")
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None:
            raise ValueError("naive")
        return SessionCursor(updated_at=updated_at.astimezone(UTC), session_id=uuid.UUID(session_id))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidCursor("The cursor is not one this API handed out.") from None
