"""Self-healing presence: registry rows are checked against the service before they are believed.

Web PubSub's ``disconnected`` event is fire-and-forget: if our event handler is down or failing
when a device drops, its registry row stays and the user looks online forever — and a stale row
also keeps the user's *real* last disconnect from announcing ``offline``. So, instead of trusting
rows blindly:

- when a device disconnects and the user still has other rows, those rows are checked at once
  (a dead one is removed, and removing the last announces ``offline`` as the event would have);
- when presence is read, rows not confirmed within ``recheck_after`` are checked first.

A row confirmed open gets ``last_seen_at`` = now, so each row costs at most one check per
``recheck_after`` across every instance. If the service cannot be asked, rows are kept (a user
wrongly offline is worse than one briefly, wrongly online) and the check is retried next time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta

from application.ports.clock import Clock
from application.ports.realtime import RealtimeLiveness, RealtimePublisher, RealtimeUnavailable
from application.realtime.ports import SessionAccess
from domain.realtime import ConnectionRegistry, RecordedConnection

log = logging.getLogger(__name__)

DEFAULT_RECHECK_AFTER = timedelta(seconds=60)


class PresenceCheck:
    def __init__(
        self,
        registry: ConnectionRegistry,
        liveness: RealtimeLiveness,
        sessions: SessionAccess,
        publisher: RealtimePublisher,
        clock: Clock,
        *,
        recheck_after: timedelta = DEFAULT_RECHECK_AFTER,
    ) -> None:
        self._registry = registry
        self._liveness = liveness
        self._sessions = sessions
        self._publisher = publisher
        self._clock = clock
        self._recheck_after = recheck_after

    def stale_rows_of(self, user_ids: Iterable[uuid.UUID]) -> None:
        """Before presence is read: check the rows not confirmed recently."""
        now = self._clock.now()
        self._check(self._registry.unconfirmed_since(user_ids, now - self._recheck_after))

    def every_row_of(self, user_id: uuid.UUID) -> None:
        """After one of the user's devices left: check all the others now."""
        self._check(self._registry.unconfirmed_since([user_id], self._clock.now() + timedelta(seconds=1)))

    def _check(self, rows: Sequence[RecordedConnection]) -> None:
        alive: list[str] = []
        for row in rows:
            try:
                open_now = self._liveness.connection_exists(row.connection_id)
            except RealtimeUnavailable:
                log.warning("presence not checked: the real-time service did not answer")
                break  # keep every row not yet checked; the next read tries again
            if open_now:
                alive.append(row.connection_id)
                continue
            departure = self._registry.unregister(row.connection_id)
            log.info("connection %s of user %s was gone without a disconnected event", row.connection_id,
                     row.user_id)
            if departure is not None and departure.was_last:
                announce(self._publisher, departure.user_id, self._sessions.session_ids_for_user(departure.user_id),
                         "offline")
        if alive:
            self._registry.mark_seen(alive, self._clock.now())


def announce(publisher: RealtimePublisher, user_id: uuid.UUID, session_ids: Iterable[uuid.UUID], status: str) -> None:
    """``presence.changed`` to each of the user's sessions; a failed publish is logged (clients re-read)."""
    data: dict[str, object] = {"user_id": str(user_id), "status": status}
    for session_id in session_ids:
        try:
            publisher.publish_to_session(session_id, PRESENCE_EVENT, {"session_id": str(session_id), **data})
        except RealtimeUnavailable:
            log.warning("presence %s of user %s not published to session %s", status, user_id, session_id)


PRESENCE_EVENT = "presence.changed"
