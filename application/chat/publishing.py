"""Publishing after commit, where a failure is logged and never reaches the caller.

The database is the source of truth: once a message is committed the sender's ack must say so,
even if Web PubSub is down. Receivers that missed the broadcast catch up by sequence number.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence

from application.ports.realtime import RealtimeMembership, RealtimePublisher

log = logging.getLogger("tagarela.chat.realtime")


class SafeRealtime:
    def __init__(self, publisher: RealtimePublisher, membership: RealtimeMembership) -> None:
        self._publisher = publisher
        self._membership = membership

    def to_session(
        self,
        session_id: uuid.UUID,
        event: str,
        data: Mapping[str, object],
        *,
        exclude_connection: str | None = None,
    ) -> bool:
        try:
            self._publisher.publish_to_session(session_id, event, data, exclude_connection=exclude_connection)
        except Exception:
            log.warning("publish of %s to session %s failed; clients will catch up", event, session_id, exc_info=True)
            return False
        return True

    def to_user(self, user_id: uuid.UUID, event: str, data: Mapping[str, object]) -> bool:
        try:
            self._publisher.publish_to_user(user_id, event, data)
        except Exception:
            log.warning("publish of %s to user %s failed", event, user_id, exc_info=True)
            return False
        return True

    def join(self, user_id: uuid.UUID, session_ids: Sequence[uuid.UUID]) -> bool:
        try:
            self._membership.add_user_to_sessions(user_id, session_ids)
        except Exception:
            log.warning("adding user %s's connections to %d session(s) failed", user_id, len(session_ids),
                        exc_info=True)
            return False
        return True

    def leave(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        try:
            self._membership.remove_user_from_session(user_id, session_id)
        except Exception:
            log.warning("removing user %s's connections from session %s failed", user_id, session_id, exc_info=True)
            return False
        return True
