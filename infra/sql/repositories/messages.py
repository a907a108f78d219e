"""Messages: the hot path. Core statements only (the ORM unit of work costs ~2x CPU per insert).

``append`` allocates the session's next seq with ``UPDATE chat_sessions SET last_seq = last_seq + 1
... RETURNING last_seq``: the row lock (or SQLite's write lock) serializes writers of one session, so
two messages can never get the same seq. With a client message id, the increment and the INSERT
share one SAVEPOINT: if the INSERT loses an idempotency race (another retry of the same client
message committed first), rolling back the savepoint also undoes the increment, so no seq is ever
burnt (a burnt seq would be a gap that a catching-up client waits for forever).
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
from infra.sql.models import chat_sessions, messages, session_members


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


def _is_member(session_id: Any, user_id: Any) -> sa.Exists:
    return sa.exists().where(session_members.c.session_id == session_id, session_members.c.user_id == user_id)


def allocate_seq_statement(session_id: uuid.UUID, now: Any, member_id: uuid.UUID | None = None) -> sa.Update:
    """Bumps the counter and returns the new value; deleted sessions accept no messages, and with
    ``member_id`` neither does a session that user is not a member of (the membership check and the
    allocation are one statement; portable: ``RETURNING`` on SQLite/PostgreSQL, ``OUTPUT`` on SQL Server)."""
    stmt = sa.update(chat_sessions).where(chat_sessions.c.id == session_id, chat_sessions.c.deleted_at.is_(None))
    if member_id is not None:
        stmt = stmt.where(_is_member(session_id, member_id))
    return stmt.values(last_seq=chat_sessions.c.last_seq + 1, updated_at=now).returning(chat_sessions.c.last_seq)


_INSERTED_COLUMNS = ("session_id", "seq", "sender_kind", "sender_id", "client_message_id", "body", "reply_to_seq",
                     "created_at")


def not_sent_yet(session_id: Any, sender_id: Any, client_message_id: Any) -> sa.ColumnElement[bool]:
    """The retry guard of the one-statement append: no message with this client message id yet."""
    return ~sa.exists().where(messages.c.session_id == session_id, messages.c.sender_id == sender_id,
                              messages.c.client_message_id == client_message_id)


@functools.cache
def append_statement_postgresql(*, check_member: bool, idempotent: bool) -> sa.Select[Any]:
    """PostgreSQL: membership check, seq allocation and INSERT in **one** statement (one round trip).

    ``WITH alloc AS (UPDATE chat_sessions SET last_seq = last_seq + 1 WHERE id = :session_id AND
    deleted_at IS NULL [AND EXISTS (member)] [AND NOT EXISTS (same client message)] RETURNING last_seq),
    ins AS (INSERT INTO messages ... SELECT ..., alloc.last_seq ... ON CONFLICT (session_id, sender_id,
    client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING RETURNING id)
    SELECT (SELECT last_seq FROM alloc) AS seq, (SELECT id FROM ins) AS id[, EXISTS (member) AS is_member]``

    The row lock taken by ``alloc`` serializes the session's writers exactly like the two-statement
    form. The ``NOT EXISTS`` guard makes an ordinary retry allocate nothing; a retry that raced a
    concurrent first attempt (both passed the guard on their snapshot) lands on ``DO NOTHING`` with
    a seq allocated and no row: the caller gives that seq back while it still holds the row lock.
    Built once per shape with bind parameters, so each send only binds values.
    """
    session_id = sa.bindparam("m_session_id", type_=messages.c.session_id.type)
    member_id = sa.bindparam("m_member_id", type_=session_members.c.user_id.type)
    client_message_id = sa.bindparam("m_client_message_id", type_=messages.c.client_message_id.type)
    sender_id = sa.bindparam("m_sender_id", type_=messages.c.sender_id.type)
    conditions: list[Any] = [chat_sessions.c.id == session_id, chat_sessions.c.deleted_at.is_(None)]
    if check_member:
        conditions.append(_is_member(session_id, member_id))
    if idempotent:
        conditions.append(not_sent_yet(session_id, sender_id, client_message_id))
    alloc = (
        sa.update(chat_sessions)
        .where(*conditions)
        .values(last_seq=chat_sessions.c.last_seq + 1, updated_at=sa.bindparam("m_created_at",
                                                                                type_=messages.c.created_at.type))
        .returning(chat_sessions.c.last_seq)
        .cte("alloc")
    )
    source = sa.select(
        session_id,
        alloc.c.last_seq,
        sa.bindparam("m_sender_kind", type_=messages.c.sender_kind.type),
        sender_id,
        client_message_id if idempotent else sa.null(),
        sa.bindparam("m_body", type_=messages.c.body.type),
        sa.bindparam("m_reply_to_seq", type_=messages.c.reply_to_seq.type),
        sa.bindparam("m_created_at", type_=messages.c.created_at.type),
    )
    insert = pg_insert(messages).from_select(list(_INSERTED_COLUMNS), source)
    if idempotent:
        insert = insert.on_conflict_do_nothing(
            index_elements=["session_id", "sender_id", "client_message_id"],
            index_where=messages.c.client_message_id.isnot(None),
        )
    ins = insert.returning(messages.c.id).cte("ins")
    columns: list[Any] = [
        sa.select(alloc.c.last_seq).scalar_subquery().label("seq"),
        sa.select(ins.c.id).scalar_subquery().label("id"),
    ]
    if check_member:
        columns.append(_is_member(session_id, member_id).label("is_member"))
    return sa.select(*columns)


def give_back_seq_statement(session_id: uuid.UUID, seq: int) -> sa.Update:
    """Undo an allocation that inserted nothing, in the same transaction (the row lock is still ours,
    so ``last_seq`` is still exactly the value we took)."""
    return (
        sa.update(chat_sessions)
        .where(chat_sessions.c.id == session_id, chat_sessions.c.last_seq == seq)
        .values(last_seq=chat_sessions.c.last_seq - 1)
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

    def append(self, draft: MessageDraft, *, member_id: uuid.UUID | None = None) -> AppendResult:
        if self._session.get_bind().dialect.name == "postgresql":
            return self._append_postgresql(draft, member_id)
        if draft.client_message_id is None:
            # No idempotency key, so no unique index to lose a race on: no savepoint needed.
            seq, message_id = self._allocate_and_insert(draft, member_id)
        else:
            original = self._find_by_client_id(draft)
            if original is not None:
                if member_id is not None and not self._is_member(draft.session_id, member_id):
                    raise ChatSessionNotFound("chat session not found")
                return AppendResult(original, duplicate=True)
            try:
                with self._session.begin_nested():
                    seq, message_id = self._allocate_and_insert(draft, member_id)
            except IntegrityError:
                # Lost the race against a concurrent retry of the same client message: the savepoint
                # rollback undid our seq increment, and the winner's row is committed and visible now.
                original = self._find_by_client_id(draft)
                if original is None:
                    raise
                return AppendResult(original, duplicate=True)
        return AppendResult(self._stored(draft, seq, message_id), duplicate=False)

    def _append_postgresql(self, draft: MessageDraft, member_id: uuid.UUID | None) -> AppendResult:
        stmt = append_statement_postgresql(check_member=member_id is not None,
                                           idempotent=draft.client_message_id is not None)
        # Bind names carry an ``m_`` prefix: an UPDATE would take a parameter named like one of its
        # table's columns (``created_at``) as an extra SET.
        params: dict[str, Any] = {
            "m_session_id": draft.session_id, "m_sender_kind": draft.sender_kind.value,
            "m_sender_id": draft.sender_id, "m_body": draft.body, "m_reply_to_seq": draft.reply_to_seq,
            "m_created_at": draft.created_at,
        }
        if member_id is not None:
            params["m_member_id"] = member_id
        if draft.client_message_id is not None:
            params["m_client_message_id"] = draft.client_message_id
        connection = self._session.connection()
        row = connection.execute(stmt, params).one()
        if row.id is not None:
            return AppendResult(self._stored(draft, row.seq, row.id), duplicate=False)
        if row.seq is not None:
            # Lost an idempotency race: a concurrent attempt with this client message id committed
            # after our snapshot. Give the seq back (no gap); the winner's row is visible now.
            connection.execute(give_back_seq_statement(draft.session_id, row.seq))
        elif member_id is not None and not row.is_member:
            raise ChatSessionNotFound("chat session not found")
        original = self._find_by_client_id(draft)
        if original is None:
            raise ChatSessionNotFound("chat session not found")  # missing or deleted session
        return AppendResult(original, duplicate=True)

    def _is_member(self, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return bool(self._session.connection().execute(sa.select(_is_member(session_id, user_id))).scalar())

    @staticmethod
    def _stored(draft: MessageDraft, seq: int, message_id: int) -> Message:
        return Message(
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

    def _allocate_and_insert(self, draft: MessageDraft, member_id: uuid.UUID | None = None) -> tuple[int, int]:
        # Straight on the Connection: Session.execute adds ORM bookkeeping this path does not need.
        connection = self._session.connection()
        seq = connection.execute(allocate_seq_statement(draft.session_id, draft.created_at, member_id)).scalar()
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
