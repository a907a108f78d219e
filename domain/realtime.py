"""Live connections (one per device) and the presence they imply.

A user is *online* while at least one of their Web PubSub connections is open. Presence changes
only on the first connection (online) and the last one (offline), so a second phone joining or
leaving tells nobody anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

CONNECTION_ID_MAX = 128


@dataclass(frozen=True, slots=True)
class LiveConnection:
    connection_id: str
    user_id: uuid.UUID
    hub: str
    connected_at: datetime


@dataclass(frozen=True, slots=True)
class RecordedConnection:
    """A registry row: a connection we believe is open, and when that was last confirmed."""

    connection_id: str
    user_id: uuid.UUID
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Departure:
    """What ``unregister`` learned: whose connection ended, and whether it was their last one."""

    user_id: uuid.UUID
    was_last: bool


class ConnectionRegistry(Protocol):
    """The live connections, shared by every Function instance (so: in the database).

    Each method is one atomic step with its own short transaction: presence is decided by
    counting a user's rows *while holding a per-user lock*, so two devices connecting or
    disconnecting at the same moment never both (or neither) announce the change.
    """

    def register(self, connection: LiveConnection) -> bool:
        """Record a connection; True when it is the user's first live one. A duplicate is a no-op (False)."""
        ...

    def unregister(self, connection_id: str) -> Departure | None:
        """Forget a connection; None when it was unknown (a duplicate ``disconnected``)."""
        ...

    def online_among(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these users have at least one live connection."""
        ...

    def unconfirmed_since(self, user_ids: Iterable[uuid.UUID], moment: datetime) -> list[RecordedConnection]:
        """These users' connections last confirmed before ``moment`` (all of them for a future moment)."""
        ...

    def mark_seen(self, connection_ids: Iterable[str], at: datetime) -> None:
        """Record that these connections were confirmed open at ``at``."""
        ...
