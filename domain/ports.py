"""Repository ports: what the use cases need from storage, and nothing about how it is stored.

Repositories never commit: the unit of work (``application/ports/unit_of_work.py``) owns the
transaction, so one use case's changes land together or not at all.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from domain.chat import (
    AppendResult,
    ChatSession,
    MemberRole,
    Message,
    MessageAnnotations,
    MessageDraft,
    SessionCursor,
    SessionMember,
)
from domain.files import FileStatus, StoredFile
from domain.usage import TokenUsage, UsageTotals
from domain.users import ExternalIdentity, User


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...

    def get(self, user_id: uuid.UUID) -> User | None: ...

    def get_by_email(self, email: str) -> User | None:
        """The user with that (normalized) email, preferring a verified one, then the oldest."""
        ...


class IdentityRepository(Protocol):
    def add(self, identity: ExternalIdentity) -> None:
        """Raises ``IdentityAlreadyLinked`` when (provider, subject) is taken."""
        ...

    def find_by_provider_subject(self, provider: str, subject: str) -> ExternalIdentity | None: ...

    def list_for_user(self, user_id: uuid.UUID) -> list[ExternalIdentity]: ...

    def record_login(self, identity_id: uuid.UUID, at: datetime) -> None: ...


class ChatSessionRepository(Protocol):
    def add(self, session: ChatSession) -> None: ...

    def get(self, session_id: uuid.UUID) -> ChatSession | None:
        """Soft-deleted sessions are returned too (``deleted_at`` set): callers decide."""
        ...

    def list_for_user(
        self, user_id: uuid.UUID, *, limit: int = 50, after: SessionCursor | None = None
    ) -> list[ChatSession]:
        """Sessions the user is a member of, most recently active first, not deleted; pass the
        cursor of the last item to get the next page."""
        ...

    def mark_deleted(self, session_id: uuid.UUID, at: datetime) -> None: ...

    def get_for_update(self, session_id: uuid.UUID) -> ChatSession | None:
        """Like ``get``, but locks the row until commit: membership changes of one session are
        serialized so two owners leaving at once cannot leave it ownerless."""
        ...

    def rename(self, session_id: uuid.UUID, title: str, at: datetime) -> None: ...


class SessionMemberRepository(Protocol):
    def add(self, member: SessionMember) -> None:
        """Raises ``AlreadyMember`` when the user is already in the session."""
        ...

    def remove(self, session_id: uuid.UUID, user_id: uuid.UUID) -> bool: ...

    def get(self, session_id: uuid.UUID, user_id: uuid.UUID) -> SessionMember | None: ...

    def list(self, session_id: uuid.UUID) -> list[SessionMember]: ...

    def mark_read(self, session_id: uuid.UUID, user_id: uuid.UUID, seq: int) -> None:
        """Moves ``last_read_seq`` forward only: late or reordered receipts never move it back."""
        ...

    def set_role(self, session_id: uuid.UUID, user_id: uuid.UUID, role: MemberRole) -> None: ...

    def session_ids_for_user(self, user_id: uuid.UUID) -> builtins.list[uuid.UUID]:
        """Ids of the sessions (not deleted) the user belongs to: the Web PubSub groups to join."""
        ...


class MessageRepository(Protocol):
    def append(self, draft: MessageDraft, *, member_id: uuid.UUID | None = None) -> AppendResult:
        """Stores the draft with the session's next seq.

        Idempotent on (session_id, sender_id, client_message_id): a retry returns the original
        message with ``duplicate=True`` and consumes no seq. Raises ``ChatSessionNotFound`` when the
        session does not exist or is deleted, or (with ``member_id``) when that user is not a member
        of it: the membership check is then part of the seq allocation (no separate read).
        """
        ...

    def get(self, session_id: uuid.UUID, seq: int) -> Message | None: ...

    def get_by_id(self, message_id: int) -> Message | None: ...

    def list_after(self, session_id: uuid.UUID, after_seq: int, limit: int) -> list[Message]:
        """Messages with seq > after_seq, oldest first (catch-up after a reconnect)."""
        ...

    def list_before(self, session_id: uuid.UUID, before_seq: int | None, limit: int) -> list[Message]:
        """The ``limit`` messages just before ``before_seq`` (None: the latest), oldest first."""
        ...

    def set_annotations(self, message_id: int, annotations: MessageAnnotations) -> None: ...

    def update_body(self, session_id: uuid.UUID, seq: int, body: str, edited_at: datetime) -> bool:
        """Replaces the text of a message that is not deleted; False when there is none."""
        ...

    def soft_delete(self, session_id: uuid.UUID, seq: int, at: datetime) -> bool:
        """Sets ``deleted_at`` and erases the text (the row stays: seqs never have gaps); False when
        the message does not exist or was already deleted."""
        ...


class FileRepository(Protocol):
    def add(self, file: StoredFile) -> None: ...

    def get(self, file_id: uuid.UUID) -> StoredFile | None: ...

    def update_status(
        self, file_id: uuid.UUID, status: FileStatus, *, size_bytes: int | None = None, sha256: str | None = None
    ) -> None:
        """Raises ``FileNotFound`` for an unknown id."""
        ...

    def attach(self, message_id: int, file_ids: Iterable[uuid.UUID]) -> None: ...

    def list_for_message(self, message_id: int) -> list[StoredFile]: ...

    def attachment_ids_for_messages(self, message_ids: Iterable[int]) -> dict[int, list[uuid.UUID]]:
        """File ids attached to each message (messages without files are absent), in one query."""
        ...


class TokenUsageRepository(Protocol):
    def add(self, usage: TokenUsage) -> TokenUsage:
        """Returns the record with its ``id`` set."""
        ...

    def sum_for_user_since(self, user_id: uuid.UUID, since: datetime) -> UsageTotals: ...

    def sum_for_agent_since(self, agent: str, since: datetime) -> UsageTotals: ...


__all__ = [
    "ChatSessionRepository",
    "FileRepository",
    "IdentityRepository",
    "MessageRepository",
    "SessionMemberRepository",
    "TokenUsageRepository",
    "UserRepository",
]


class RateCounterRepository(Protocol):
    def hit(self, bucket: str, window_start: datetime, window_end: datetime) -> int:
        """Count one hit in ``bucket``'s window starting at ``window_start`` and return the window's
        count including it. Runs in the unit of work's transaction: a rollback takes the hit back."""
        ...
