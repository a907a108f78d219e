"""Message use cases: send, edit, delete (soft), list (catch-up and scrollback).

Delivery guarantees live here and in ``SqlMessageRepository.append``:

- the seq comes from the session's counter in the same transaction as the insert: no gaps, no
  duplicates, whatever the number of concurrent senders;
- sending is idempotent on ``(session, sender, client_message_id)``: a retry returns the original
  message (``duplicate=True``) and is **not** broadcast again — the first attempt's broadcast (or,
  if that failed, the receivers' catch-up) already delivers it, and a second copy on the wire would
  only cost bandwidth for clients to drop by seq;
- the caller (REST response, WebSocket ack) hears of success only after the commit; the broadcast
  comes after that, and its failure is logged, never raised;
- the per-user send limit is counted in the send's own transaction (``uow.rate_counters``): only an
  accepted message spends budget, and the hot path pays one commit, not two.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from application.chat.access import require_member, require_membership
from application.chat.limits import ChatLimits
from application.chat.publishing import SafeRealtime
from application.chat.views import message_view
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.chat import Message, MessageDraft, SenderKind
from domain.chat_rules import (
    AttachmentNotUsable,
    InvalidReplyTo,
    MessageAlreadyDeleted,
    NotMessageSender,
    can_delete,
    normalize_text,
    require_can_edit,
    validate_attachment_count,
    validate_client_message_id,
)
from domain.errors import MessageNotFound
from domain.files import FileStatus
from domain.rate_windows import retry_after_seconds, window_bounds
from shared.errors import InvalidInput, RateLimited


@dataclass(frozen=True, slots=True)
class SentMessage:
    message: dict[str, Any]  # ``views.message_view`` shape
    duplicate: bool  # True: a retry; ``message`` is the original


def _attachments_of(uow: UnitOfWork, message: Message) -> list[uuid.UUID]:
    return uow.files.attachment_ids_for_messages([message.id]).get(message.id, [])


def _require_message(uow: UnitOfWork, session_id: uuid.UUID, seq: int) -> Message:
    message = uow.messages.get(session_id, seq) if seq >= 1 else None
    if message is None:
        raise MessageNotFound("Message not found.")
    return message


class SendMessage:
    """Members only. Publishes ``message.created`` ``{session_id, message}``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        realtime: SafeRealtime,
        clock: Clock,
        limits: ChatLimits,
    ) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock
        self._limits = limits

    def __call__(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        client_message_id: str,
        text: str,
        reply_to_seq: int | None = None,
        file_ids: Sequence[uuid.UUID] = (),
        *,
        exclude_connection: str | None = None,
    ) -> SentMessage:
        # Input first: a malformed message costs no rate-limit budget and touches no table.
        validate_client_message_id(client_message_id)
        body = normalize_text(text, max_chars=self._limits.max_message_chars)
        files = validate_attachment_count(file_ids)
        if reply_to_seq is not None and reply_to_seq < 1:
            raise InvalidReplyTo("reply_to_seq must be the seq of a message in this session.")
        draft = MessageDraft(
            session_id=session_id,
            sender_kind=SenderKind.USER,
            sender_id=str(user_id),
            body=body,
            client_message_id=client_message_id,
            reply_to_seq=reply_to_seq,
            created_at=self._clock.now(),
        )
        if reply_to_seq is None and not files:
            # The hot path: ``append`` checks membership (and refuses a deleted session) in the
            # statement that allocates the seq — no separate read.
            with self._uow_factory() as uow:
                self._spend_budget(uow, user_id)
                result = uow.messages.append(draft, member_id=user_id)
                # A retry answers with the original, attachments included (it may have had some).
                attachments = _attachments_of(uow, result.message) if result.duplicate else []
                uow.commit()
            return self._sent(session_id, result.message, attachments, result.duplicate, exclude_connection)
        with self._uow_factory() as uow:
            self._spend_budget(uow, user_id)
            # Membership only: ``append`` itself refuses a deleted session (one query saved per send).
            require_membership(uow, user_id, session_id)
            if reply_to_seq is not None and uow.messages.get(session_id, reply_to_seq) is None:
                raise InvalidReplyTo("reply_to_seq must be the seq of a message in this session.")
            for file_id in files:
                stored = uow.files.get(file_id)
                usable = (
                    stored is not None
                    and stored.owner_id == user_id
                    and stored.status is FileStatus.READY
                    and stored.session_id in (None, session_id)
                )
                if not usable:
                    raise AttachmentNotUsable(
                        "Attach only your own uploaded, verified files.", details={"file_id": str(file_id)}
                    )
            result = uow.messages.append(draft)
            if result.duplicate:
                attachments = _attachments_of(uow, result.message)
            else:
                uow.files.attach(result.message.id, files)
                attachments = list(files)
            uow.commit()
        return self._sent(session_id, result.message, attachments, result.duplicate, exclude_connection)

    def _spend_budget(self, uow: UnitOfWork, user_id: uuid.UUID) -> None:
        """Count this send against the user's window; raising rolls the count back with the send.
        Counted first in the transaction: every send locks the user's counter row before the
        session's seq counter, one lock order for all."""
        limit = self._limits.send_rate_limit
        if limit <= 0:
            return
        now = self._clock.now()
        window_start, window_end = window_bounds(now, self._limits.send_rate_window_seconds)
        if uow.rate_counters.hit(f"chat-send:user:{user_id}", window_start, window_end) > limit:
            retry_after = retry_after_seconds(now, window_end)
            raise RateLimited(f"Too many messages; retry in {retry_after} seconds.", retry_after_seconds=retry_after)

    def _sent(self, session_id: uuid.UUID, message: Message, attachments: Sequence[uuid.UUID], duplicate: bool,
              exclude_connection: str | None) -> SentMessage:
        """After the commit: broadcast a new message (never a retry), then answer the sender."""
        view = message_view(message, attachments)
        if not duplicate:
            self._realtime.to_session(
                session_id,
                "message.created",
                {"session_id": str(session_id), "message": view},
                exclude_connection=exclude_connection,
            )
        return SentMessage(message=view, duplicate=duplicate)


class EditMessage:
    """The sender only, not once deleted; sets ``edited_at``. Publishes ``message.updated``."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, clock: Clock,
                 limits: ChatLimits) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock
        self._limits = limits

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, seq: int, text: str) -> dict[str, Any]:
        body = normalize_text(text, max_chars=self._limits.max_message_chars)
        now = self._clock.now()
        with self._uow_factory() as uow:
            require_member(uow, user_id, session_id)
            message = _require_message(uow, session_id, seq)
            require_can_edit(message, user_id)
            if not uow.messages.update_body(session_id, seq, body, now):
                raise MessageAlreadyDeleted("The message was deleted.")
            attachments = _attachments_of(uow, message)
            uow.commit()
        view = message_view(dataclasses.replace(message, body=body, edited_at=now), attachments)
        self._realtime.to_session(session_id, "message.updated", {"session_id": str(session_id), "message": view})
        return view


class DeleteMessage:
    """Soft delete by the sender or an owner: the text is erased, the seq stays as a tombstone.
    Deleting a deleted message changes nothing. Publishes ``message.deleted``."""

    def __init__(self, uow_factory: UnitOfWorkFactory, realtime: SafeRealtime, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._realtime = realtime
        self._clock = clock

    def __call__(self, user_id: uuid.UUID, session_id: uuid.UUID, seq: int) -> None:
        now = self._clock.now()
        with self._uow_factory() as uow:
            _, member = require_member(uow, user_id, session_id)
            message = _require_message(uow, session_id, seq)
            if message.deleted_at is not None:
                return
            if not can_delete(message, user_id, member):
                raise NotMessageSender("Only the sender or an owner of the session may delete a message.")
            if not uow.messages.soft_delete(session_id, seq, now):
                return  # deleted concurrently: the other delete published it
            uow.commit()
        tombstone = message_view(dataclasses.replace(message, body="", deleted_at=now))
        data = {"session_id": str(session_id), "seq": seq, "message": tombstone}
        self._realtime.to_session(session_id, "message.deleted", data)


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[dict[str, Any]]  # oldest first
    has_more: bool  # more after the page (after_seq) or before it (before_seq / latest)
    last_seq: int  # the session's newest seq when read
    next_after_seq: int | None = None  # catch-up: pass as after_seq for the next page
    next_before_seq: int | None = None  # scrollback: pass as before_seq for the previous page


class ListMessages:
    """Members only. ``after_seq`` pages forward (catch-up), ``before_seq`` backward (scrollback);
    neither: the latest page. Tombstones keep every seq present, so a client can check that it
    received ``after_seq + 1 .. last`` with no gap."""

    def __init__(self, uow_factory: UnitOfWorkFactory, limits: ChatLimits) -> None:
        self._uow_factory = uow_factory
        self._limits = limits

    def __call__(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int | None = None,
    ) -> MessagePage:
        if after_seq is not None and before_seq is not None:
            raise InvalidInput("Pass after_seq or before_seq, not both.", code="invalid_page")
        if (after_seq is not None and after_seq < 0) or (before_seq is not None and before_seq < 1):
            raise InvalidInput("after_seq must be >= 0 and before_seq >= 1.", code="invalid_page")
        if limit is not None and limit < 1:
            raise InvalidInput("limit must be a positive number.", code="invalid_page")
        size = self._limits.page_size(limit)
        with self._uow_factory() as uow:
            # The session (and its last_seq) is read first: every seq up to it is committed.
            session, _ = require_member(uow, user_id, session_id)
            if after_seq is not None:
                rows = uow.messages.list_after(session_id, after_seq, size)
            else:
                rows = uow.messages.list_before(session_id, before_seq, size)
            attachments = uow.files.attachment_ids_for_messages(m.id for m in rows if m.deleted_at is None)
        views = [message_view(m, attachments.get(m.id, ())) for m in rows]
        if after_seq is not None:
            newest = rows[-1].seq if rows else after_seq
            return MessagePage(views, has_more=newest < session.last_seq, last_seq=session.last_seq,
                               next_after_seq=newest)
        oldest = rows[0].seq if rows else None
        return MessagePage(views, has_more=oldest is not None and oldest > 1, last_seq=session.last_seq,
                           next_before_seq=oldest)
