"""Read receipts and typing notices: cheap signals around the messages."""

from __future__ import annotations

import uuid

from application.chat.access import require_member
from application.chat.limits import ChatLimits
from application.chat.publishing import SafeRealtime
from application.ports.rate_limit import RateLimiter
from application.ports.unit_of_work import UnitOfWorkFactory
from shared.errors import InvalidInput


class MarkRead:
    """Moves the caller's read position forward only, capped at the session's last seq (a client
    cannot claim to have read the future). Publishes ``read`` ``{session_id, user_id, seq}`` when it
    moved. Returns the caller's read position after the call."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, up_to_seq: int) -> int:
        if up_to_seq < 0:
            raise InvalidInput("seq must be >= 0.", code="invalid_seq")
        with self._uow_factory() as uow:
            session, member = require_member(uow, user_id, session_id)
            seq = min(up_to_seq, session.last_seq)
            moved = seq > member.last_read_seq
            if moved:
                uow.members.mark_read(session_id, user_id, seq)
                uow.commit()
        if not moved:
            return member.last_read_seq
        data = {"session_id": str(session_id), "user_id": str(user_id), "seq": seq}
        self._realtime.to_session(session_id, "read", data)
        return seq


class SendTyping:
    """Members only, rate-limited, never stored. Publishes ``typing`` ``{session_id, user_id}`` to the
    session except the sender's own connection."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, rate_limiter: RateLimiter, limits: ChatLimits
    ) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._rate_limiter = rate_limiter
        self._limits = limits

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, *, exclude_connection: str | None = None) -> None:
        with self._uow_factory() as uow:
            require_member(uow, user_id, session_id)
        if self._limits.typing_rate_limit > 0:
            self._rate_limiter.hit(
                f"chat-typing:user:{user_id}",
                limit=self._limits.typing_rate_limit,
                window_seconds=self._limits.typing_rate_window_seconds,
            )
        data = {"session_id": str(session_id), "user_id": str(user_id)}
        self._realtime.to_session(session_id, "typing", data, exclude_connection=exclude_connection)
