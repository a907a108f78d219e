"""The one JSON shape of chat objects, shared by REST responses and real-time broadcasts.

A message::

    {"id", "session_id", "seq", "sender": {"kind", "id"}, "client_message_id", "text", "reply_to_seq",
     "attachments": [file ids], "created_at", "edited_at", "deleted": bool}

A deleted message keeps its place in the sequence as a tombstone (same keys, ``deleted: true``,
``text`` null, no attachments) so a catching-up client sees no gap. Times are ISO-8601 UTC with "Z".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.chat import ChatSession, Message, SessionMember


def instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_view(message: Message, attachments: Iterable[uuid.UUID] = ()) -> dict[str, Any]:
    deleted = message.deleted_at is not None
    return {
        "id": message.id,
        "session_id": str(message.session_id),
        "seq": message.seq,
        "sender": {"kind": message.sender_kind.value, "id": message.sender_id},
        "client_message_id": message.client_message_id,
        "text": None if deleted else message.body,
        "reply_to_seq": None if deleted else message.reply_to_seq,
        "attachments": [] if deleted else [str(file_id) for file_id in attachments],
        "created_at": instant(message.created_at),
        "edited_at": instant(message.edited_at),
        "deleted": deleted,
    }


def member_view(member: SessionMember) -> dict[str, Any]:
    return {
        "user_id": str(member.user_id),
        "role": member.role.value,
        "joined_at": instant(member.joined_at),
        "last_read_seq": member.last_read_seq,
    }


def session_view(session: ChatSession, members: Sequence[SessionMember] | None = None) -> dict[str, Any]:
    """``members`` is included when given (get/create), left out of listings."""
    view: dict[str, Any] = {
        "id": str(session.id),
        "title": session.title,
        "created_by": str(session.created_by),
        "created_at": instant(session.created_at),
        "updated_at": instant(session.updated_at),
        "last_seq": session.last_seq,
    }
    if members is not None:
        view["members"] = [member_view(m) for m in members]
    return view
