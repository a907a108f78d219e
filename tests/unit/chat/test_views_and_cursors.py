"""The one JSON shape of messages and sessions, the session cursor codec and the chat limits."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from application.chat.cursors import InvalidCursor, decode_cursor, encode_cursor
from application.chat.limits import ChatLimits
from application.chat.views import message_view, session_view
from domain.chat import ChatSession, MemberRole, Message, SenderKind, SessionCursor, SessionMember

T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
SID = uuid.UUID("11111111-2222-4333-8444-555555555555")


def _message(**changes) -> Message:
    base = {"id": 7, "session_id": SID, "seq": 3, "sender_kind": SenderKind.USER, "sender_id": "u-1",
            "body": "olá", "created_at": T0, "client_message_id": "c-1", "reply_to_seq": 2}
    return Message(**{**base, **changes})


def test_message_view_shape() -> None:
    file_id = uuid.uuid4()
    view = message_view(_message(edited_at=T0 + timedelta(seconds=1)), [file_id])
    assert view == {
        "id": 7, "session_id": str(SID), "seq": 3, "sender": {"kind": "user", "id": "u-1"},
        "client_message_id": "c-1", "text": "olá", "reply_to_seq": 2, "attachments": [str(file_id)],
        "created_at": "2026-03-04T05:06:07.890000Z", "edited_at": "2026-03-04T05:06:08.890000Z", "deleted": False,
    }
    json.dumps(view)  # JSON-ready as is


def test_a_deleted_message_is_a_tombstone_with_the_same_keys() -> None:
    view = message_view(_message(deleted_at=T0), [uuid.uuid4()])
    assert set(view) == set(message_view(_message()))
    assert view["deleted"] is True and view["text"] is None and view["attachments"] == []
    assert view["seq"] == 3 and view["reply_to_seq"] is None


def test_times_are_utc_with_z_even_from_other_offsets() -> None:
    local = T0.astimezone(timezone(timedelta(hours=-3)))
    assert message_view(_message(created_at=local))["created_at"] == "2026-03-04T05:06:07.890000Z"


def test_session_view_with_and_without_members() -> None:
    owner = uuid.uuid4()
    session = ChatSession(title="Sala", created_by=owner, id=SID, created_at=T0, last_seq=4)
    listing = session_view(session)
    assert listing == {"id": str(SID), "title": "Sala", "created_by": str(owner),
                       "created_at": "2026-03-04T05:06:07.890000Z", "updated_at": "2026-03-04T05:06:07.890000Z",
                       "last_seq": 4}
    member = SessionMember(SID, owner, MemberRole.OWNER, joined_at=T0, last_read_seq=2)
    assert session_view(session, [member])["members"] == [
        {"user_id": str(owner), "role": "owner", "joined_at": "2026-03-04T05:06:07.890000Z", "last_read_seq": 2}]


def test_cursor_round_trip_and_tampering() -> None:
    cursor = SessionCursor(updated_at=T0, session_id=SID)
    assert decode_cursor(encode_cursor(cursor)) == cursor
    for bad in ("", "!!!", "bm9wZQ", encode_cursor(cursor)[:-3], "x" * 500, "MjAyNi0wMS0wMXxub3QtYS11dWlk"):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


def test_page_size_defaults_and_clamps() -> None:
    limits = ChatLimits(page_size_default=20, page_size_max=50)
    assert limits.page_size(None) == 20 and limits.page_size(0) == 1 and limits.page_size(500) == 50
