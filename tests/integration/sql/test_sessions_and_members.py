from __future__ import annotations

from datetime import timedelta

import pytest

from domain.chat import ChatSession, MemberRole, SessionCursor, SessionMember
from domain.errors import AlreadyMember
from domain.time import utc_now
from tests.integration.sql.builders import UowFactory, add_session, add_user, append, draft


def test_list_for_user_is_keyset_paginated_by_activity(uow_factory: UowFactory) -> None:
    ana, bia = add_user(uow_factory, "Ana"), add_user(uow_factory, "Bia")
    base = utc_now() - timedelta(hours=1)
    sessions = [
        ChatSession(title=f"s{i}", created_by=ana.id, created_at=base + timedelta(minutes=i % 3)) for i in range(7)
    ]
    with uow_factory() as uow:
        for session in sessions:
            uow.sessions.add(session)
            uow.members.add(SessionMember(session_id=session.id, user_id=ana.id, role=MemberRole.OWNER))
        uow.sessions.add(other := ChatSession(title="not mine", created_by=bia.id))
        uow.members.add(SessionMember(session_id=other.id, user_id=bia.id))
        uow.commit()

    pages, cursor = [], None
    with uow_factory() as uow:
        while page := uow.sessions.list_for_user(ana.id, limit=3, after=cursor):
            pages.append(page)
            assert page[-1].updated_at is not None
            cursor = SessionCursor(page[-1].updated_at, page[-1].id)

    listed = [s for page in pages for s in page]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert {s.id for s in listed} == {s.id for s in sessions}
    keys = [(s.updated_at, s.id) for s in listed]
    assert len(set(keys)) == len(keys)
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)


def test_new_message_moves_a_session_to_the_top_and_deleted_sessions_disappear(uow_factory: UowFactory) -> None:
    ana = add_user(uow_factory)
    old = add_session(uow_factory, ana, "old")
    new = add_session(uow_factory, ana, "new")
    with uow_factory() as uow:
        assert [s.id for s in uow.sessions.list_for_user(ana.id)] == [new.id, old.id]

    append(uow_factory, draft(old.id))
    with uow_factory() as uow:
        assert [s.id for s in uow.sessions.list_for_user(ana.id)] == [old.id, new.id]
        uow.sessions.mark_deleted(new.id, utc_now())
        uow.commit()

    with uow_factory() as uow:
        assert [s.id for s in uow.sessions.list_for_user(ana.id)] == [old.id]
        deleted = uow.sessions.get(new.id)
    assert deleted is not None
    assert deleted.is_deleted


def test_members_add_get_list_remove(uow_factory: UowFactory) -> None:
    ana, bia = add_user(uow_factory, "Ana"), add_user(uow_factory, "Bia")
    session = add_session(uow_factory, ana)
    with uow_factory() as uow:
        uow.members.add(SessionMember(session_id=session.id, user_id=bia.id))
        with pytest.raises(AlreadyMember):
            uow.members.add(SessionMember(session_id=session.id, user_id=bia.id))
        uow.commit()

    with uow_factory() as uow:
        members = uow.members.list(session.id)
        owner = uow.members.get(session.id, ana.id)
    assert {m.user_id for m in members} == {ana.id, bia.id}
    assert owner is not None
    assert owner.role is MemberRole.OWNER

    with uow_factory() as uow:
        assert uow.members.remove(session.id, bia.id)
        assert not uow.members.remove(session.id, bia.id)
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.get(session.id, bia.id) is None


def test_mark_read_only_moves_forward(uow_factory: UowFactory) -> None:
    ana = add_user(uow_factory)
    session = add_session(uow_factory, ana)
    with uow_factory() as uow:
        uow.members.mark_read(session.id, ana.id, 5)
        uow.members.mark_read(session.id, ana.id, 3)
        uow.commit()
    with uow_factory() as uow:
        member = uow.members.get(session.id, ana.id)
    assert member is not None
    assert member.last_read_seq == 5
