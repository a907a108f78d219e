"""Small builders so tests state only what matters to them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from domain.chat import AppendResult, ChatSession, MemberRole, MessageDraft, SenderKind, SessionMember
from domain.users import User
from infra.sql.unit_of_work import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]


def add_user(uow_factory: UowFactory, name: str = "Ana", email: str | None = None) -> User:
    user = User(display_name=name, email=email)
    with uow_factory() as uow:
        uow.users.add(user)
        uow.commit()
    return user


def add_session(uow_factory: UowFactory, owner: User | None = None, title: str = "Sala") -> ChatSession:
    owner = owner or add_user(uow_factory)
    session = ChatSession(title=title, created_by=owner.id)
    with uow_factory() as uow:
        uow.sessions.add(session)
        uow.members.add(SessionMember(session_id=session.id, user_id=owner.id, role=MemberRole.OWNER))
        uow.commit()
    return session


def draft(
    session_id: uuid.UUID, body: str = "olá", *, sender: str = "u1", client_id: str | None = None
) -> MessageDraft:
    return MessageDraft(
        session_id=session_id, sender_kind=SenderKind.USER, sender_id=sender, body=body, client_message_id=client_id
    )


def append(uow_factory: UowFactory, message_draft: MessageDraft) -> AppendResult:
    with uow_factory() as uow:
        result = uow.messages.append(message_draft)
        uow.commit()
    return result
