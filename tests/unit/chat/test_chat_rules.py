"""Domain rules of the chat: text normalization, ids, permissions, ownership transfer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.chat import MemberRole, Message, SenderKind, SessionMember
from domain.chat_rules import (
    AttachmentNotUsable,
    EmptyMessage,
    InvalidClientMessageId,
    LastOwner,
    MessageAlreadyDeleted,
    MessageTooLong,
    NotMessageSender,
    NotSessionOwner,
    can_delete,
    normalize_text,
    require_can_edit,
    require_not_last_owner,
    require_owner,
    successor_owner,
    validate_attachment_count,
    validate_client_message_id,
)
from shared.errors import InvalidInput, PayloadTooLarge

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SID = uuid.uuid4()


def member(role=MemberRole.MEMBER, minutes=0, user_id=None) -> SessionMember:
    return SessionMember(SID, user_id or uuid.uuid4(), role, joined_at=T0 + timedelta(minutes=minutes))


def message(sender: uuid.UUID, *, kind=SenderKind.USER, deleted=False) -> Message:
    return Message(id=1, session_id=SID, seq=1, sender_kind=kind, sender_id=str(sender), body="x", created_at=T0,
                   deleted_at=T0 if deleted else None)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  olá  ", "olá"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("tab\there\nnew", "tab\there\nnew"),
        ("bell\x07 nul\x00 esc\x1b del\x7f c1\x85", "bell nul esc del c1"),
        ("emoji 👩‍👩‍👧 zwj kept", "emoji 👩‍👩‍👧 zwj kept"),
    ],
)
def test_normalize_text(raw, clean) -> None:
    assert normalize_text(raw, max_chars=100) == clean


def test_normalize_text_limits() -> None:
    with pytest.raises(EmptyMessage):
        normalize_text(" \x00\n\t ", max_chars=10)
    assert normalize_text("x" * 10, max_chars=10) == "x" * 10
    with pytest.raises(MessageTooLong) as caught:
        normalize_text("x" * 11, max_chars=10)
    assert isinstance(caught.value, PayloadTooLarge) and caught.value.details == {"max_chars": 10}
    # the length counts after trimming and stripping
    assert normalize_text("  " + "x" * 10 + "\x00  ", max_chars=10) == "x" * 10


@pytest.mark.parametrize("value", ["c1", "0b7c5b2e-9d1c-4f7e-8f5a-3c2d1e0f9a8b", "01HZX3:42", "a.b_c-d"])
def test_client_message_id_accepts(value) -> None:
    assert validate_client_message_id(value) == value


@pytest.mark.parametrize("value", ["", "with space", "x" * 65, "ação", "a/b", "a\nb"])
def test_client_message_id_rejects(value) -> None:
    with pytest.raises(InvalidClientMessageId):
        validate_client_message_id(value)


def test_attachments_are_deduplicated_and_capped() -> None:
    one = uuid.uuid4()
    assert validate_attachment_count([one, one]) == (one,)
    with pytest.raises(AttachmentNotUsable):
        validate_attachment_count([uuid.uuid4() for _ in range(11)])
    assert issubclass(AttachmentNotUsable, InvalidInput)


def test_owner_rules() -> None:
    require_owner(member(MemberRole.OWNER))
    for who in (member(), None):
        with pytest.raises(NotSessionOwner):
            require_owner(who)


def test_edit_rules() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    require_can_edit(message(me), me)
    with pytest.raises(NotMessageSender):
        require_can_edit(message(other), me)
    with pytest.raises(NotMessageSender):
        require_can_edit(message(me, kind=SenderKind.AGENT), me)
    with pytest.raises(MessageAlreadyDeleted):
        require_can_edit(message(me, deleted=True), me)


def test_delete_rules() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    assert can_delete(message(me), me, member(user_id=me))
    assert not can_delete(message(other), me, member(user_id=me))
    assert can_delete(message(other), me, member(MemberRole.OWNER, user_id=me))
    assert can_delete(message(other, kind=SenderKind.AGENT), me, member(MemberRole.OWNER, user_id=me))


def test_the_last_owner_cannot_be_removed() -> None:
    owner, other = member(MemberRole.OWNER), member()
    with pytest.raises(LastOwner):
        require_not_last_owner([owner, other], owner.user_id)
    require_not_last_owner([owner, other], other.user_id)
    second = member(MemberRole.OWNER, minutes=1)
    require_not_last_owner([owner, second, other], owner.user_id)


def test_successor_is_the_oldest_remaining_member() -> None:
    owner = member(MemberRole.OWNER, minutes=0)
    late, early = member(minutes=5), member(minutes=2)
    assert successor_owner([owner, late, early], owner.user_id) == early
    assert successor_owner([owner], owner.user_id) is None  # nobody left: the session goes
    assert successor_owner([owner, late], late.user_id) is None  # an owner remains
    second = member(MemberRole.OWNER, minutes=9)
    assert successor_owner([owner, second, early], owner.user_id) is None
    tie_a, tie_b = member(minutes=3), member(minutes=3)
    expected = min(tie_a, tie_b, key=lambda m: str(m.user_id))
    assert successor_owner([owner, tie_b, tie_a], owner.user_id) == expected
