"""Membership use cases: add, remove, leave. Each locks the session row first, so concurrent
changes of one session's members are serialized and the "never ownerless" rule holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from application.chat.access import require_member
from application.chat.publishing import SafeRealtime
from application.chat.sessions import require_active_users
from application.chat.views import member_view
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.chat import MemberRole, SessionMember
from domain.chat_rules import require_not_last_owner, require_owner, successor_owner
from domain.errors import UserNotFound


class AddMember:
    """Owners only. Adds the new member's live connections to the session's group, then publishes
    ``member.added`` (so the new member hears it too)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, new_member_id: uuid.UUID) -> dict[str, Any]:
        member = SessionMember(session_id, new_member_id, MemberRole.MEMBER, joined_at=self._clock.now())
        with self._uow_factory() as uow:
            _, actor = require_member(uow, user_id, session_id, for_update=True)
            require_owner(actor)
            require_active_users(uow, [new_member_id])
            uow.members.add(member)  # AlreadyMember (409) when they are in already
            uow.commit()
        view = member_view(member)
        self._realtime.join(new_member_id, [session_id])
        self._realtime.to_session(session_id, "member.added", {"session_id": str(session_id), "member": view})
        return view


class RemoveMember:
    """Owners only; the last owner cannot be removed (``LastOwner``, 409). Publishes
    ``member.removed`` before the removed user's connections leave the group, so they hear it."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, member_id: uuid.UUID) -> None:
        with self._uow_factory() as uow:
            _, actor = require_member(uow, user_id, session_id, for_update=True)
            require_owner(actor)
            members = uow.members.list(session_id)
            if not any(m.user_id == member_id for m in members):
                raise UserNotFound("That user is not a member of this session.")
            require_not_last_owner(members, member_id)
            uow.members.remove(session_id, member_id)
            uow.commit()
        data = {"session_id": str(session_id), "user_id": str(member_id), "by": str(user_id)}
        self._realtime.to_session(session_id, "member.removed", data)
        self._realtime.leave(member_id, session_id)


@dataclass(frozen=True, slots=True)
class LeaveOutcome:
    new_owner_id: uuid.UUID | None  # the member who inherited ownership, if any
    session_deleted: bool  # the leaver was the last member


class LeaveSession:
    """Anyone may leave. The last owner leaving hands ownership to the oldest remaining member; the
    last member leaving deletes the session (soft). Publishes ``member.left``."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID) -> LeaveOutcome:
        with self._uow_factory() as uow:
            require_member(uow, user_id, session_id, for_update=True)
            members = uow.members.list(session_id)
            heir = successor_owner(members, user_id)
            uow.members.remove(session_id, user_id)
            if heir is not None:
                uow.members.set_role(session_id, heir.user_id, MemberRole.OWNER)
            deleted = len(members) == 1
            if deleted:
                uow.sessions.mark_deleted(session_id, self._clock.now())
            uow.commit()
        outcome = LeaveOutcome(new_owner_id=heir.user_id if heir else None, session_deleted=deleted)
        if not deleted:
            data: dict[str, object] = {"session_id": str(session_id), "user_id": str(user_id)}
            if heir is not None:
                data["new_owner_id"] = str(heir.user_id)
            self._realtime.to_session(session_id, "member.left", data)
        self._realtime.leave(user_id, session_id)
        return outcome
