"""Sessions and membership use cases on SQLite and PostgreSQL, authorization included."""

from __future__ import annotations

import uuid

import pytest

from application.chat.cursors import InvalidCursor
from domain.chat_rules import LastOwner, NotSessionOwner
from domain.errors import AlreadyMember, ChatSessionNotFound, UserNotFound


def test_create_makes_the_creator_owner_and_tells_every_member(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    view = chat.create(ana.id, "  Equipa  ", [bia.id, bia.id, ana.id])
    assert view["title"] == "Equipa" and view["last_seq"] == 0
    roles = {m["user_id"]: m["role"] for m in view["members"]}
    assert roles == {str(ana.id): "owner", str(bia.id): "member"}
    session_id = uuid.UUID(view["id"])
    assert sorted(chat.realtime.joins) == sorted([(ana.id, (session_id,)), (bia.id, (session_id,))])
    assert {target for target, name, _ in chat.realtime.events if name == "session.created"} == {
        f"user:{ana.id}", f"user:{bia.id}"}


def test_create_with_an_unknown_member_writes_nothing(chat) -> None:
    ana = chat.user()
    with pytest.raises(UserNotFound):
        chat.create(ana.id, "Sala", [uuid.uuid4()])
    assert chat.list_sessions(ana.id).sessions == []
    assert chat.realtime.events == []


def test_my_sessions_pages_with_a_cursor_without_gaps_or_repeats(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    mine = {chat.room(ana, title=f"s{i}") for i in range(5)}
    chat.room(bia, title="not mine")
    seen, cursor, pages = [], None, 0
    while True:
        page = chat.list_sessions(ana.id, cursor=cursor, limit=2)
        seen += [uuid.UUID(s["id"]) for s in page.sessions]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 5 and set(seen) == mine
    with pytest.raises(InvalidCursor):
        chat.list_sessions(ana.id, cursor="not-a-cursor")


def test_a_non_member_cannot_see_a_session(chat) -> None:
    ana, eve = chat.user("Ana"), chat.user("Eve")
    room = chat.room(ana)
    assert chat.get(ana.id, room)["members"][0]["role"] == "owner"
    for action in (lambda: chat.get(eve.id, room), lambda: chat.get(ana.id, uuid.uuid4()),
                   lambda: chat.rename(eve.id, room, "x"), lambda: chat.add_member(eve.id, room, eve.id)):
        with pytest.raises(ChatSessionNotFound):
            action()
    assert not chat.access.is_member(eve.id, room) and chat.access.is_member(ana.id, room)


def test_only_owners_rename(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    with pytest.raises(NotSessionOwner):
        chat.rename(bia.id, room, "Mine now")
    view = chat.rename(ana.id, room, "Novo nome")
    assert view["title"] == "Novo nome" and chat.get(bia.id, room)["title"] == "Novo nome"
    assert chat.realtime.of("session.updated")[0]["session"]["title"] == "Novo nome"


def test_add_member_owner_only_and_joins_the_new_members_connections(chat) -> None:
    ana, bia, caio = chat.user("Ana"), chat.user("Bia"), chat.user("Caio")
    room = chat.room(ana, bia)
    with pytest.raises(NotSessionOwner):
        chat.add_member(bia.id, room, caio.id)
    with pytest.raises(UserNotFound):
        chat.add_member(ana.id, room, uuid.uuid4())
    with pytest.raises(AlreadyMember):
        chat.add_member(ana.id, room, bia.id)
    chat.realtime.joins.clear()
    assert chat.add_member(ana.id, room, caio.id)["role"] == "member"
    assert chat.realtime.joins == [(caio.id, (room,))]
    assert chat.realtime.of("member.added")[0]["member"]["user_id"] == str(caio.id)
    assert room in chat.access.session_ids_for_user(caio.id)


def test_remove_member_never_removes_the_last_owner(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    with pytest.raises(NotSessionOwner):
        chat.remove_member(bia.id, room, ana.id)
    with pytest.raises(LastOwner):
        chat.remove_member(ana.id, room, ana.id)
    with pytest.raises(UserNotFound):
        chat.remove_member(ana.id, room, uuid.uuid4())
    chat.remove_member(ana.id, room, bia.id)
    assert (bia.id, room) in chat.realtime.leaves
    assert chat.realtime.of("member.removed")[0]["user_id"] == str(bia.id)
    with pytest.raises(ChatSessionNotFound):
        chat.get(bia.id, room)


def test_last_owner_leaving_hands_ownership_to_the_oldest_member(chat) -> None:
    ana, bia, caio = chat.user("Ana"), chat.user("Bia"), chat.user("Caio")
    room = chat.room(ana, bia)
    chat.add_member(ana.id, room, caio.id)  # joins later than Bia
    outcome = chat.leave(ana.id, room)
    assert outcome.new_owner_id == bia.id and not outcome.session_deleted
    roles = {m["user_id"]: m["role"] for m in chat.get(bia.id, room)["members"]}
    assert roles == {str(bia.id): "owner", str(caio.id): "member"}
    assert chat.realtime.of("member.left")[0]["new_owner_id"] == str(bia.id)
    chat.leave(caio.id, room)  # a plain member leaving changes no roles
    assert chat.leave(bia.id, room).session_deleted
    assert chat.list_sessions(bia.id).sessions == []
    assert chat.access.session_ids_for_user(bia.id) == []


def test_leaving_a_session_you_are_not_in_is_not_found(chat) -> None:
    ana, eve = chat.user("Ana"), chat.user("Eve")
    room = chat.room(ana)
    with pytest.raises(ChatSessionNotFound):
        chat.leave(eve.id, room)


def test_membership_changes_survive_a_realtime_outage(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    chat.realtime.fail = True
    room = chat.room(ana)
    chat.add_member(ana.id, room, bia.id)
    chat.leave(ana.id, room)
    assert {m["user_id"]: m["role"] for m in chat.get(bia.id, room)["members"]} == {str(bia.id): "owner"}


def test_concurrent_leaves_never_leave_a_session_without_an_owner(chat) -> None:
    import threading

    ana, bia, caio = chat.user("Ana"), chat.user("Bia"), chat.user("Caio")
    rooms = [chat.room(ana, bia, caio) for _ in range(4)]
    for room in rooms:
        barrier = threading.Barrier(2)

        def leave(user, room=room, barrier=barrier) -> None:
            barrier.wait()
            chat.leave(user.id, room)

        workers = [threading.Thread(target=leave, args=(u,)) for u in (ana, bia)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        members = chat.get(caio.id, room)["members"]
        assert [(m["user_id"], m["role"]) for m in members] == [(str(caio.id), "owner")]
