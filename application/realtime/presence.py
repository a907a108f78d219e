"""``GET /api/sessions/{id}/presence``: which members of a session are online (members only)."""

from __future__ import annotations

import uuid

from application.ports.unit_of_work import UnitOfWorkFactory
from application.realtime.presence_check import PresenceCheck
from domain.realtime import ConnectionRegistry
from shared.errors import NotFound


class GetSessionPresence:
    def __init__(self, uow_factory: UnitOfWorkFactory, registry: ConnectionRegistry,
                 presence_check: PresenceCheck | None = None) -> None:
        self._uow_factory = uow_factory
        self._registry = registry
        self._presence_check = presence_check

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID) -> list[uuid.UUID]:
        with self._uow_factory() as uow:
            session = uow.sessions.get(session_id)
            members = [] if session is None or session.is_deleted else uow.members.list(session_id)
        member_ids = {m.user_id for m in members}
        if user_id not in member_ids:
            # Same answer as for a session that does not exist: non-members learn nothing.
            raise NotFound("No such session.", code="session_not_found")
        if self._presence_check is not None:  # rows not confirmed lately are checked with the service
            self._presence_check.stale_rows_of(member_ids)
        return sorted(self._registry.online_among(member_ids), key=str)
