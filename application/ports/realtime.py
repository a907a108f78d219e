"""Ports to the real-time transport (Azure Web PubSub in production, devhost's emulator locally).

The chat use cases speak in sessions and users; the adapter maps them to Web PubSub groups and
user ids. Publishing happens after the database commit and may fail: a failed publish is logged
and never undoes or loses a message (clients catch up by sequence number).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

from shared.errors import Unavailable


class RealtimeUnavailable(Unavailable):
    """The real-time service failed or could not be reached. Adapters log the cause and raise this,
    so use cases can catch one type: after a commit it is logged and swallowed (catch-up heals it)."""

    code = "realtime_unavailable"


class RealtimePublisher(Protocol):
    def publish_to_session(
        self, session_id: uuid.UUID, event: str, data: Mapping[str, object], *, exclude_connection: str | None = None
    ) -> None:
        """Send ``{"type": event, **data}`` to every live connection of the session's members."""
        ...

    def publish_to_user(self, user_id: uuid.UUID, event: str, data: Mapping[str, object]) -> None:
        """Send to every live connection (device) of one user."""
        ...


class RealtimeLiveness(Protocol):
    def connection_exists(self, connection_id: str) -> bool:
        """Whether the service still holds this connection open."""
        ...


class RealtimeMembership(Protocol):
    def add_user_to_sessions(self, user_id: uuid.UUID, session_ids: Sequence[uuid.UUID]) -> None:
        """Let the user's live connections receive these sessions' events (e.g. after joining)."""
        ...

    def add_connection_to_sessions(self, connection_id: str, session_ids: Sequence[uuid.UUID]) -> None:
        """Let one new connection receive these sessions' events (on ``connected``)."""
        ...

    def remove_user_from_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """Stop the user's connections receiving the session's events (left or removed)."""
        ...
