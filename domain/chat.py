"""Chat sessions (rooms), their members and the messages in them.

Messages are ordered by a per-session sequence number (``seq``) handed out by the store when the
message is appended: clients catch up with "everything after seq N", so seqs must have no gaps and no
duplicates. A client may attach its own ``client_message_id`` to make retries idempotent.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidMessage, InvalidSession
from domain.time import require_utc, utc_now

TITLE_MAX = 200
BODY_MAX = 16_000
SENDER_ID_MAX = 64
CLIENT_MESSAGE_ID_MAX = 64
PAGE_LIMIT_MAX = 200


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class SenderKind(enum.StrEnum):
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


class SentimentLabel(enum.StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    MIXED = "mixed"


@dataclass(slots=True)
class ChatSession:
    title: str
    created_by: uuid.UUID
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime | None = None
    last_seq: int = 0
    deleted_at: datetime | None = None

    def __post_init__(self) -> None:
        self.title = self.title.strip()
        if not self.title or len(self.title) > TITLE_MAX:
            raise InvalidSession(f"session title must have 1 to {TITLE_MAX} characters")
        self.created_at = require_utc(self.created_at, "created_at")
        if self.updated_at is None:
            self.updated_at = self.created_at

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class SessionCursor:
    """Keyset position in a "my sessions" listing (most recently active first)."""

    updated_at: datetime
    session_id: uuid.UUID


@dataclass(slots=True)
class SessionMember:
    session_id: uuid.UUID
    user_id: uuid.UUID
    role: MemberRole = MemberRole.MEMBER
    joined_at: datetime = field(default_factory=utc_now)
    last_read_seq: int = 0


@dataclass(frozen=True, slots=True)
class NamedEntity:
    text: str
    label: str


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: SentimentLabel
    score: float

    def __post_init__(self) -> None:
        if not -1.0 <= self.score <= 1.0:
            raise InvalidMessage("sentiment score must be between -1 and 1")


@dataclass(frozen=True, slots=True)
class MessageAnnotations:
    """What the NLP and sentiment agents learned about a message; every part is optional."""

    language: str | None = None
    sentiment: Sentiment | None = None
    intent: str | None = None
    entities: tuple[NamedEntity, ...] = ()
    keywords: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self == MessageAnnotations()


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A message before the store gives it an id and a seq."""

    session_id: uuid.UUID
    sender_kind: SenderKind
    sender_id: str
    body: str
    client_message_id: str | None = None
    reply_to_seq: int | None = None
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.body.strip():
            raise InvalidMessage("message body must not be empty")
        if len(self.body) > BODY_MAX:
            raise InvalidMessage(f"message body must have at most {BODY_MAX} characters")
        if not self.sender_id or len(self.sender_id) > SENDER_ID_MAX:
            raise InvalidMessage(f"sender id must have 1 to {SENDER_ID_MAX} characters")
        if self.client_message_id is not None and not 1 <= len(self.client_message_id) <= CLIENT_MESSAGE_ID_MAX:
            raise InvalidMessage(f"client message id must have 1 to {CLIENT_MESSAGE_ID_MAX} characters")
        if self.reply_to_seq is not None and self.reply_to_seq < 1:
            raise InvalidMessage("reply_to_seq must be a positive sequence number")
        object.__setattr__(self, "created_at", require_utc(self.created_at, "created_at"))


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    session_id: uuid.UUID
    seq: int
    sender_kind: SenderKind
    sender_id: str
    body: str
    created_at: datetime
    client_message_id: str | None = None
    reply_to_seq: int | None = None
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    annotations: MessageAnnotations = MessageAnnotations()


@dataclass(frozen=True, slots=True)
class AppendResult:
    """``duplicate`` is True when the draft was a retry: ``message`` is then the original one."""

    message: Message
    duplicate: bool


def clamp_page_limit(limit: int) -> int:
    """Page sizes are bounded so one request cannot read a whole history."""
    return max(1, min(limit, PAGE_LIMIT_MAX))
