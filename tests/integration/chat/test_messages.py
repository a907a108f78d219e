"""Message use cases on SQLite and PostgreSQL: validation, authorization, edit/delete, reads."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from application.chat.limits import ChatLimits
from domain.chat_rules import (
    AttachmentNotUsable,
    EmptyMessage,
    InvalidClientMessageId,
    InvalidReplyTo,
    MessageAlreadyDeleted,
    MessageTooLong,
    NotMessageSender,
)
from domain.errors import ChatSessionNotFound, MessageNotFound
from domain.files import FileStatus, StoredFile
from infra.sql.models import messages
from shared.errors import InvalidInput, RateLimited


def _row_count(uow_factory) -> int:
    with uow_factory() as uow:
        return uow.session.execute(sa.select(sa.func.count()).select_from(messages)).scalar_one()


def test_send_stores_normalized_text_and_broadcasts_once(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    sent = chat.send(bia.id, room, "c-1", "  olá\r\nmundo\x00\x07\t!  ")
    message = sent.message
    assert not sent.duplicate
    assert message["seq"] == 1 and message["text"] == "olá\nmundo\t!"
    assert message["sender"] == {"kind": "user", "id": str(bia.id)} and message["client_message_id"] == "c-1"
    assert message["created_at"].endswith("Z") and message["edited_at"] is None and not message["deleted"]
    assert chat.realtime.of("message.created") == [{"session_id": str(room), "message": message}]


def test_a_retry_returns_the_original_and_is_not_broadcast_again(chat) -> None:
    ana = chat.user()
    room = chat.room(ana)
    first = chat.send(ana.id, room, "same", "primeira")
    retry = chat.send(ana.id, room, "same", "texto diferente")
    assert retry.duplicate and retry.message == first.message
    assert len(chat.realtime.of("message.created")) == 1
    assert chat.get(ana.id, room)["last_seq"] == 1


@pytest.mark.parametrize(
    ("text", "client_id", "error"),
    [
        ("   \n\t ", "c1", EmptyMessage),
        ("\x00\x01", "c1", EmptyMessage),
        ("x" * 4001, "c1", MessageTooLong),
        ("ok", "", InvalidClientMessageId),
        ("ok", "has space", InvalidClientMessageId),
        ("ok", "x" * 65, InvalidClientMessageId),
    ],
)
def test_bad_input_is_rejected_and_writes_nothing(chat, text, client_id, error) -> None:
    ana = chat.user()
    room = chat.room(ana)
    with pytest.raises(error):
        chat.send(ana.id, room, client_id, text)
    assert _row_count(chat.uow_factory) == 0 and chat.realtime.of("message.created") == []


def test_exactly_the_max_length_is_accepted(chat) -> None:
    ana = chat.user()
    room = chat.room(ana)
    assert len(chat.send(ana.id, room, "c", "é" * 4000).message["text"]) == 4000


def test_non_members_cannot_send_or_read(chat) -> None:
    ana, eve = chat.user("Ana"), chat.user("Eve")
    room = chat.room(ana)
    chat.say(ana, room)
    for action in (lambda: chat.say(eve, room), lambda: chat.list(eve.id, room, after_seq=0),
                   lambda: chat.read(eve.id, room, 1), lambda: chat.edit(eve.id, room, 1, "x"),
                   lambda: chat.delete(eve.id, room, 1), lambda: chat.typing(eve.id, room),
                   lambda: chat.say(ana, uuid.uuid4())):
        with pytest.raises(ChatSessionNotFound):
            action()


def test_reply_to_must_exist_in_the_session(chat) -> None:
    ana = chat.user()
    room, other = chat.room(ana), chat.room(ana)
    chat.say(ana, other)
    with pytest.raises(InvalidReplyTo):
        chat.send(ana.id, room, "r1", "resposta", reply_to_seq=1)
    with pytest.raises(InvalidReplyTo):
        chat.send(ana.id, room, "r1", "resposta", reply_to_seq=0)
    chat.say(ana, room)
    assert chat.send(ana.id, room, "r1", "resposta", reply_to_seq=1).message["reply_to_seq"] == 1


def test_attachments_must_be_the_senders_ready_files(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)

    def stored(owner, status):
        file = StoredFile(owner_id=owner.id, blob_name=f"b/{uuid.uuid4()}", original_name="a.png",
                          content_type="image/png", size_bytes=10, status=status)
        with chat.uow_factory() as uow:
            uow.files.add(file)
            uow.commit()
        return file.id

    mine, pending, hers = stored(ana, FileStatus.READY), stored(ana, FileStatus.PENDING), stored(bia, FileStatus.READY)
    for bad in (pending, hers, uuid.uuid4()):
        with pytest.raises(AttachmentNotUsable):
            chat.send(ana.id, room, "f1", "veja", file_ids=[mine, bad])
    with pytest.raises(AttachmentNotUsable):
        chat.send(ana.id, room, "f1", "veja", file_ids=[uuid.uuid4() for _ in range(11)])
    assert _row_count(chat.uow_factory) == 0
    sent = chat.send(ana.id, room, "f1", "veja", file_ids=[mine, mine])
    assert sent.message["attachments"] == [str(mine)]
    assert chat.send(ana.id, room, "f1", "veja", file_ids=[mine]).message["attachments"] == [str(mine)]
    assert chat.list(bia.id, room, after_seq=0).messages[0]["attachments"] == [str(mine)]


def test_send_rate_limit_per_user(make_chat) -> None:
    chat = make_chat(ChatLimits(send_rate_limit=3, send_rate_window_seconds=60))
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    for _ in range(3):
        chat.say(ana, room)
    with pytest.raises(RateLimited) as caught:
        chat.say(ana, room)
    assert caught.value.retry_after_seconds >= 1
    chat.say(bia, room)  # another user has their own budget
    assert _row_count(chat.uow_factory) == 4


def test_only_accepted_sends_spend_the_rate_budget(make_chat) -> None:
    """The send limit is counted in the send's transaction: a refused send takes its hit back."""
    chat = make_chat(ChatLimits(send_rate_limit=2, send_rate_window_seconds=60))
    ana, bia, caio = chat.user("Ana"), chat.user("Bia"), chat.user("Caio")
    room = chat.room(ana, bia)
    for _ in range(5):  # not a member: refused, and none of these counts
        with pytest.raises(ChatSessionNotFound):
            chat.say(caio, room)
    chat.add_member(ana.id, room, caio.id)
    chat.say(caio, room)
    chat.say(caio, room)
    with pytest.raises(RateLimited):
        chat.say(caio, room)
    assert _row_count(chat.uow_factory) == 2  # the refused third message wrote nothing


def test_only_the_sender_edits_and_not_after_delete(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    chat.say(bia, room, "original")
    with pytest.raises(NotMessageSender):
        chat.edit(ana.id, room, 1, "owner cannot edit others")
    with pytest.raises(MessageNotFound):
        chat.edit(bia.id, room, 2, "no such seq")
    edited = chat.edit(bia.id, room, 1, " corrigido ")
    assert edited["text"] == "corrigido" and edited["edited_at"] is not None and edited["seq"] == 1
    assert chat.realtime.of("message.updated")[0]["message"] == edited
    assert chat.list(ana.id, room, after_seq=0).messages[0]["text"] == "corrigido"
    chat.delete(bia.id, room, 1)
    with pytest.raises(MessageAlreadyDeleted):
        chat.edit(bia.id, room, 1, "too late")
    with pytest.raises(EmptyMessage):
        chat.edit(bia.id, room, 1, "   ")


def test_delete_by_sender_or_owner_leaves_a_tombstone_and_erases_the_text(chat) -> None:
    ana, bia, caio = chat.user("Ana"), chat.user("Bia"), chat.user("Caio")
    room = chat.room(ana, bia, caio)
    chat.say(bia, room, "segredo")
    chat.say(caio, room, "outro")
    with pytest.raises(NotMessageSender):
        chat.delete(caio.id, room, 1)
    chat.delete(ana.id, room, 1)  # the owner moderates
    chat.delete(caio.id, room, 2)  # the sender
    chat.delete(caio.id, room, 2)  # idempotent: no second broadcast
    assert [e["seq"] for e in chat.realtime.of("message.deleted")] == [1, 2]
    page = chat.list(bia.id, room, after_seq=0)
    assert [(m["seq"], m["deleted"], m["text"]) for m in page.messages] == [(1, True, None), (2, True, None)]
    with chat.uow_factory() as uow:
        assert uow.messages.get(room, 1).body == ""
    with pytest.raises(MessageNotFound):
        chat.delete(ana.id, room, 3)


def test_read_position_moves_forward_only_and_is_capped(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    for _ in range(3):
        chat.say(ana, room)
    assert chat.read(bia.id, room, 2) == 2
    assert chat.read(bia.id, room, 1) == 2  # late receipt
    assert chat.read(bia.id, room, 99) == 3  # capped at last_seq
    assert chat.read(bia.id, room, 3) == 3
    with pytest.raises(InvalidInput):
        chat.read(bia.id, room, -1)
    assert [e["seq"] for e in chat.realtime.of("read")] == [2, 3]
    members = {m["user_id"]: m["last_read_seq"] for m in chat.get(bia.id, room)["members"]}
    assert members[str(bia.id)] == 3


def test_typing_is_published_but_not_stored(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    chat.typing(bia.id, room, exclude_connection="conn-1")
    assert chat.realtime.of("typing") == [{"session_id": str(room), "user_id": str(bia.id)}]
    assert _row_count(chat.uow_factory) == 0
