"""The Web PubSub system events: ``connect`` (authorize), ``connected`` and ``disconnected`` (presence).

``connected``/``disconnected`` are fire-and-forget for the service, so failures to reach the
service here are logged and never undo the presence bookkeeping in the database.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from application.ports.clock import Clock
from application.ports.realtime import RealtimeMembership, RealtimePublisher, RealtimeUnavailable
from application.ports.unit_of_work import UnitOfWorkFactory
from application.realtime.ports import SessionAccess
from application.realtime.presence_check import PresenceCheck, announce
from domain.realtime import CONNECTION_ID_MAX, ConnectionRegistry, LiveConnection
from shared.errors import Forbidden, InvalidInput, Unauthenticated

log = logging.getLogger(__name__)

def parse_user_id(raw: str | None) -> uuid.UUID:
    """The user of an event is only ever the ``ce-userId`` of the token we issued."""
    if not raw:
        raise Unauthenticated("The connection has no user.", code="no_user")
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Unauthenticated("The connection's user is not one of ours.", code="unknown_user") from None


def check_connection_id(connection_id: str) -> str:
    if not connection_id or len(connection_id) > CONNECTION_ID_MAX:
        raise InvalidInput("The connection id is missing or too long.", code="invalid_connection_id")
    return connection_id


@dataclass(frozen=True, slots=True)
class ConnectDecision:
    user_id: uuid.UUID


class HandleConnect:
    """Blocking ``connect``: only an existing, enabled user may open a connection."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    def __call__(self, raw_user_id: str | None) -> ConnectDecision:
        user_id = parse_user_id(raw_user_id)
        with self._uow_factory() as uow:
            user = uow.users.get(user_id)
        if user is None:
            raise Unauthenticated("The connection's user does not exist.", code="unknown_user")
        if user.is_disabled:
            raise Forbidden("This account is disabled.", code="user_disabled")
        return ConnectDecision(user_id=user.id)


class HandleConnected:
    """Record the connection, put it in its sessions' groups, announce the user online if first."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        sessions: SessionAccess,
        membership: RealtimeMembership,
        publisher: RealtimePublisher,
        clock: Clock,
        *,
        hub: str,
    ) -> None:
        self._registry = registry
        self._sessions = sessions
        self._membership = membership
        self._publisher = publisher
        self._clock = clock
        self._hub = hub

    def __call__(self, connection_id: str, raw_user_id: str | None) -> None:
        user_id = parse_user_id(raw_user_id)
        connection = LiveConnection(check_connection_id(connection_id), user_id, self._hub, self._clock.now())
        first = self._registry.register(connection)
        session_ids = self._sessions.session_ids_for_user(user_id)
        if session_ids:
            try:
                self._membership.add_connection_to_sessions(connection_id, session_ids)
            except RealtimeUnavailable:
                # The client still catches up by sequence number; a reconnect retries the join.
                log.warning("connection %s of user %s not added to its %d sessions", connection_id, user_id,
                            len(session_ids))
        if first:
            announce(self._publisher, user_id, session_ids, "online")


class HandleDisconnected:
    """Forget the connection; announce the user offline when it was their last one. Idempotent.
    When the user seems to have other devices, those are checked with the service first: a row
    left by a lost ``disconnected`` must not keep the user online (see ``presence_check``)."""

    def __init__(self, registry: ConnectionRegistry, sessions: SessionAccess, publisher: RealtimePublisher,
                 presence_check: PresenceCheck | None = None) -> None:
        self._registry = registry
        self._sessions = sessions
        self._publisher = publisher
        self._presence_check = presence_check

    def __call__(self, connection_id: str) -> None:
        departure = self._registry.unregister(check_connection_id(connection_id))
        if departure is None:
            return
        if not departure.was_last:
            if self._presence_check is not None:
                self._presence_check.every_row_of(departure.user_id)
            return
        announce(self._publisher, departure.user_id, self._sessions.session_ids_for_user(departure.user_id),
                  "offline")
