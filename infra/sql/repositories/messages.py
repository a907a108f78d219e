"""Messages: the hot path. Core statements only (the ORM unit of work costs ~2x CPU per insert).

``append`` allocates the session's next seq with ``UPDATE chat_sessions SET last_seq = last_seq + 1
... RETURNING last_seq``: the row lock (or SQLite's write lock) serializes writers of one session, so
two messages can never get the same seq. With a client message id, the increment and the INSERT
share one SAVEPOINT: if the INSERT loses an idempotency race (another retry of the same client
message committed first), rolling back the savepoint also undoes the increment, so no seq is ever
burnt (a burnt seq would be a gap that a catching-up client waits for forever).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.chat import (
    AppendResult,
    Message,
    MessageAnnotations,
    MessageDraft,
    NamedEntity,
    SenderKind,
    Sentiment,
    SentimentLabel,
    clamp_page_limit,
)
from domain.errors import ChatSessionNotFound, MessageNotFound
from infra.sql.models import chat_sessions, messages


def _annotations_from_row(row: Any) -> MessageAnnotations:
    extra = row.annotations or {}
    sentiment = None
    if row.sentiment_label is not None:
        sentiment = Sentiment(SentimentLabel(row.sentiment_label), float(row.sentiment_score or 0.0))
    return MessageAnnotations(
        language=row.language,
        sentiment=sentiment,
        intent=row.intent,
        entities=tuple(NamedEntity(text=e["text"], label=e["label"]) for e in extra.get("entities", ())),
        keywords=tuple(extra.get("keywords", ())),
    )


def _annotation_values(annotations: MessageAnnotations) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if annotations.entities:
        extra["entities"] = [{"text": e.text, "label": e.label} for e in annotations.entities]
    if annotations.keywords:
        extra["keywords"] = list(annotations.keywords)
    return {
        "language": annotations.language,
        "sentiment_label": annotations.sentiment.label.value if annotations.sentiment else None,
        "sentiment_score": annotations.sentiment.score if annotations.sentiment else None,
        "intent": annotations.intent,
        "annotations": extra or None,
    }


def _to_message(row: Any) -> Message:
    return Message(
        id=row.id,
        session_id=row.session_id,
        seq=row.seq,
        sender_kind=SenderKind(row.sender_kind),
        sender_id=row.sender_id,
        body=row.body,
        created_at=row.created_at,
        client_message_id=row.client_message_id,
        reply_to_seq=row.reply_to_seq,
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
        annotations=_annotations_from_row(row),
    )


def allocate_seq_statement(session_id: uuid.UUID, now: Any) -> sa.Update:
    """Bumps the counter and returns the new value; deleted sessions accept no messages."""
    return (
        sa.update(chat_sessions)
        .where(chat_sessions.c.id == session_id, chat_sessions.c.deleted_at.is_(None))
        .values(last_seq=chat_sessions.c.last_seq + 1, updated_at=now)
        .returning(chat_sessions.c.last_seq)
    )


def insert_message_statement(draft: MessageDraft, seq: int) -> sa.Insert:
    return (
        sa.insert(messages)
        .values(
            session_id=draft.session_id,
            seq=seq,
            sender_kind=draft.sender_kind.value,
            sender_id=draft.sender_id,
            client_message_id=draft.client_message_id,
            body=draft.body,
            reply_to_seq=draft.reply_to_seq,
            created_at=draft.created_at,
        )
        .returning(messages.c.id)
    )


def find_by_client_id_statement(session_id: uuid.UUID, sender_id: str, client_message_id: str) -> sa.Select[Any]:
    return sa.select(messages).where(
        messages.c.session_id == session_id,
        messages.c.sender_id == sender_id,
        messages.c.client_message_id == client_message_id,
    )


def list_after_statement(session_id: uuid.UUID, after_seq: int, limit: int) -> sa.Select[Any]:
    return (
        sa.select(messages)
        .where(messages.c.session_id == session_id, messages.c.seq > after_seq)
        .order_by(messages.c.seq)
        .limit(clamp_page_limit(limit))
    )


def list_before_statement(session_id: uuid.UUID, before_seq: int | None, limit: int) -> sa.Select[Any]:
    stmt = sa.select(messages).where(messages.c.session_id == session_id)
    if before_seq is not None:
        stmt = stmt.where(messages.c.seq < before_seq)
    return stmt.order_by(messages.c.seq.desc()).limit(clamp_page_limit(limit))


class SqlMessageRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def append(self, draft: MessageDraft) -> AppendResult:
        if draft.client_message_id is None:
            # No idempotency key, so no unique index to lose a race on: no savepoint needed.
            seq, message_id = self._allocate_and_insert(draft)
        else:
            original = self._find_by_client_id(draft)
            if original is not None:
                return AppendResult(original, duplicate=True)
            try:
                with self._session.begin_nested():
                    seq, message_id = self._allocate_and_insert(draft)
            except IntegrityError:
                # Lost the race against a concurrent retry of the same client message: the savepoint
                # rollback undid our seq increment, and the winner's row is committed and visible now.
                original = self._find_by_client_id(draft)
                if original is None:
                    raise
                return AppendResult(original, duplicate=True)
        message = Message(
            id=message_id,
            session_id=draft.session_id,
            seq=seq,
            sender_kind=draft.sender_kind,
            sender_id=draft.sender_id,
            body=draft.body,
            created_at=draft.created_at,
            client_message_id=draft.client_message_id,
            reply_to_seq=draft.reply_to_seq,
        )
        return AppendResult(message, duplicate=False)

    def _allocate_and_insert(self, draft: MessageDraft) -> tuple[int, int]:
        # Straight on the Connection: Session.execute adds ORM bookkeeping this path does not need.
        connection = self._session.connection()
        seq = connection.execute(allocate_seq_statement(draft.session_id, draft.created_at)).scalar()
        if seq is None:
            raise ChatSessionNotFound("chat session not found")
        message_id = connection.execute(insert_message_statement(draft, seq)).scalar_one()
        return seq, message_id

    def _find_by_client_id(self, draft: MessageDraft) -> Message | None:
        if draft.client_message_id is None:
            return None
        stmt = find_by_client_id_statement(draft.session_id, draft.sender_id, draft.client_message_id)
        row = self._session.connection().execute(stmt).first()
        return _to_message(row) if row else None

    def get(self, session_id: uuid.UUID, seq: int) -> Message | None:
        row = self._session.execute(
            sa.select(messages).where(messages.c.session_id == session_id, messages.c.seq == seq)
        ).first()
        return _to_message(row) if row else None

    def get_by_id(self, message_id: int) -> Message | None:
        row = self._session.execute(sa.select(messages).where(messages.c.id == message_id)).first()
        return _to_message(row) if row else None

    def list_after(self, session_id: uuid.UUID, after_seq: int, limit: int) -> list[Message]:
        return [_to_message(row) for row in self._session.execute(list_after_statement(session_id, after_seq, limit))]

    def list_before(self, session_id: uuid.UUID, before_seq: int | None, limit: int) -> list[Message]:
        rows = self._session.execute(list_before_statement(session_id, before_seq, limit)).all()
        return [_to_message(row) for row in reversed(rows)]

    def set_annotations(self, message_id: int, annotations: MessageAnnotations) -> None:
        result = self._session.execute(
            sa.update(messages).where(messages.c.id == message_id).values(**_annotation_values(annotations))
        )
        if not result.rowcount:
            raise MessageNotFound("message not found")

    def update_body(self, session_id: uuid.UUID, seq: int, body: str, edited_at: datetime) -> bool:
        result = self._session.execute(
            sa.update(messages)
            .where(messages.c.session_id == session_id, messages.c.seq == seq, messages.c.deleted_at.is_(None))
            .values(body=body, edited_at=edited_at)
        )
        return bool(result.rowcount)

    def soft_delete(self, session_id: uuid.UUID, seq: int, at: datetime) -> bool:
        # The text is erased, not only hidden: a deleted message must not linger in the database.
        result = self._session.execute(
            sa.update(messages)
            .where(messages.c.session_id == session_id, messages.c.seq == seq, messages.c.deleted_at.is_(None))
            .values(body="", deleted_at=at)
        )
        return bool(result.rowcount)
