"""What the real-time use cases need besides the shared realtime ports.

``SessionAccess`` is structurally the CHAT core's helper (``application/chat``): the composition
root hands theirs in, so this package never imports chat internals and its tests use fakes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ClientAccess:
    url: str
    expires_in_seconds: int


class ClientAccessIssuer(Protocol):
    def client_access(self, user_id: uuid.UUID, *, minutes: int) -> ClientAccess:
        """A WebSocket URL whose token carries ``user_id`` and no roles or groups: the client may
        only send events; the server decides which groups its connections join."""
        ...


class SessionAccess(Protocol):
    def is_member(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool: ...

    def session_ids_for_user(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Every (not deleted) session the user belongs to."""
        ...
