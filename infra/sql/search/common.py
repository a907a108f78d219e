"""What the three search adapters share: the filter SQL, the membership scope, and the outer query
that turns a page of ranked ids into message rows, session titles and attachment ids (one
statement, so a search is one round trip after the optional membership lookup)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from application.ports.search import SearchHit, SearchKey
from domain.search import SearchCriteria
from infra.sql.models import messages
from infra.sql.repositories.messages import _to_message
from infra.sql.types import UtcDateTime

MEMBER_SESSIONS_SQL = (
    "SELECT sm.session_id FROM session_members AS sm JOIN chat_sessions AS cs ON cs.id = sm.session_id "
    "WHERE sm.user_id = :user_id AND cs.deleted_at IS NULL"
)
_MESSAGE_COLUMNS = ", ".join(f"m.{column.name}" for column in messages.c)


class Sql:
    """A SQL text being assembled with its typed bind parameters."""

    def __init__(self) -> None:
        self.params: list[sa.BindParameter[Any]] = []

    def bind(self, name: str, value: Any, type_: Any = None) -> str:
        self.params.append(sa.bindparam(name, value, type_=type_))
        return f":{name}"

    def page_statement(self, inner: str, outer_order: str, files_sql: str, files_type: Any) -> sa.TextClause:
        """``inner`` selects ``id`` and ``rank`` of one page, in order; the outer query adds the rows."""
        text = " ".join((
            "SELECT", _MESSAGE_COLUMNS, ", cs.title AS session_title, r.rank AS rank,", files_sql, "AS file_ids",
            "FROM (", inner, ") AS r JOIN messages AS m ON m.id = r.id",
            "JOIN chat_sessions AS cs ON cs.id = m.session_id ORDER BY", outer_order,
        ))  # constant SQL text; every value is a bind parameter
        columns = [*messages.c, sa.column("session_title", sa.Unicode()), sa.column("rank", sa.Float()),
                   sa.column("file_ids", files_type)]
        return sa.text(text).bindparams(*self.params).columns(*columns)


def filter_sql(criteria: SearchCriteria, sql: Sql) -> list[str]:
    """``m.``-qualified conditions for every filter (deleted messages always excluded)."""
    conditions = ["m.deleted_at IS NULL"]
    if criteria.sessions:
        (session_id,) = criteria.sessions
        conditions.append(f"m.session_id = {sql.bind('f_session', session_id, sa.Uuid())}")
    if criteria.senders:
        (sender,) = criteria.senders
        conditions.append(f"m.sender_id = {sql.bind('f_sender', sender, sa.String())}")
    if criteria.sender_kind is not None:
        conditions.append(f"m.sender_kind = {sql.bind('f_kind', criteria.sender_kind, sa.String())}")
    if criteria.after is not None:
        conditions.append(f"m.created_at >= {sql.bind('f_after', criteria.after, UtcDateTime())}")
    if criteria.before is not None:
        conditions.append(f"m.created_at < {sql.bind('f_before', criteria.before, UtcDateTime())}")
    if criteria.has_attachments is not None:
        exists = "EXISTS (SELECT 1 FROM message_attachments AS ma WHERE ma.message_id = m.id)"
        conditions.append(exists if criteria.has_attachments else f"NOT {exists}")
    if criteria.language is not None:
        conditions.append(f"m.language = {sql.bind('f_language', criteria.language, sa.String())}")
    if criteria.sentiment is not None:
        conditions.append(f"m.sentiment_label = {sql.bind('f_sentiment', criteria.sentiment, sa.String())}")
    return conditions


def to_hits(rows: Any, score: Any, file_ids: Any) -> list[SearchHit]:
    hits = []
    for row in rows:
        rank = None if row.rank is None else float(row.rank)
        hits.append(SearchHit(
            message=_to_message(row), session_title=row.session_title, attachments=file_ids(row.file_ids),
            key=SearchKey(rank, row.id), score=None if rank is None else score(rank),
        ))
    return hits
