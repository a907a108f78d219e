"""SQLite FTS5 adapter.

The index (``messages_fts``, migration 0007) holds two columns: ``body`` and ``scope``, a single
token ``s<session id hex>`` per message. A search ANDs ``scope : (s<id1> OR s<id2> ...)`` of the
caller's sessions into the MATCH expression, so FTS5 intersects the word's posting list with the
caller's ~5k messages inside the index: neither bm25 nor the join ever sees the other 400k matches of
a common word. Date order is ``ORDER BY rowid DESC`` (ids are chronological): FTS5 streams matches
newest first and stops at the limit. Relevance is ``bm25(messages_fts, 1.0, 0.0)`` (the scope
column weighs nothing), lower is better; the keyset is (bm25, id).

The caller's sessions are read as the stored text (32 hex digits, what the triggers put after the
``s``), not as ``UUID`` objects: the scope tokens are built from text, so parsing ~50 ids into
UUIDs and formatting them back was pure per-request cost. Both statements share one deferred
(read-only) transaction, so they see one snapshot and never take the write lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from application.ports.search import SearchHit, SearchKey
from domain.search import SearchCriteria, Term
from infra.sql.outages import outages_as_unavailable
from infra.sql.read_only import read_only_connection
from infra.sql.search.common import MEMBER_SESSIONS_SQL, Sql, filter_sql, to_hits

# Beyond this many sessions the OR list costs more than it saves: filter by join instead.
MAX_SCOPE_TOKENS = 1000
_BM25 = "bm25(messages_fts, 1.0, 0.0)"
# The caller's sessions as stored: SQLAlchemy's ``Uuid`` keeps 32 lower-case hex digits on SQLite.
_MEMBER_SESSIONS_HEX = (
    sa.text(MEMBER_SESSIONS_SQL)
    .bindparams(sa.bindparam("user_id", type_=sa.Uuid()))
    .columns(sa.column("session_id", sa.String()))
)


def _phrase(term: Term) -> str:
    # Tokens are [^\W_]+ runs: nothing in them needs escaping inside an FTS5 string.
    quoted = " + ".join(f'"{word}"' for word in term.words)
    return f"{quoted} *" if term.prefix else quoted


def match_expression(criteria: SearchCriteria, scope: Sequence[str] | None) -> str:
    """``scope``: the caller's session ids as 32 hex digits, or None for no scope clause."""
    positive = " AND ".join(_phrase(t) for t in criteria.positive)
    body = f"({positive})"
    if criteria.negative:
        body = f"({body} NOT ({' OR '.join(_phrase(t) for t in criteria.negative)}))"
    expression = f"body : {body}"
    if scope is not None:
        tokens = " OR ".join('"s' + session_hex + '"' for session_hex in scope)
        expression += f" AND scope : ({tokens})"
    return expression


def search_statement(
    criteria: SearchCriteria, scope: Sequence[str] | None, user_id: uuid.UUID,
    after: SearchKey | None, limit: int,
) -> sa.TextClause:
    """``scope``: the caller's sessions (hex, as scope tokens), or None to scope by a join instead."""
    sql = Sql()
    where = [f"messages_fts MATCH {sql.bind('match', match_expression(criteria, scope), sa.String())}"]
    where += filter_sql(criteria, sql)
    if scope is None:
        member_sessions = MEMBER_SESSIONS_SQL.replace(":user_id", sql.bind("user_id", user_id, sa.Uuid()))
        where.append(f"m.session_id IN ({member_sessions})")
    if criteria.sort == "date":
        if after is not None:
            where.append(f"f.rowid < {sql.bind('after_id', after.message_id, sa.BigInteger())}")
        select, order = "f.rowid AS id, NULL AS rank", "f.rowid DESC"
    else:
        if after is not None:
            rank = sql.bind("after_rank", after.rank, sa.Float())
            where.append(f"({_BM25} > {rank} OR ({_BM25} = {rank} AND "
                         f"f.rowid < {sql.bind('after_id', after.message_id, sa.BigInteger())}))")
        select, order = f"f.rowid AS id, {_BM25} AS rank", "rank, f.rowid DESC"
    inner = " ".join(("SELECT", select, "FROM messages_fts AS f JOIN messages AS m ON m.id = f.rowid WHERE",
                      " AND ".join(where), "ORDER BY", order, "LIMIT", sql.bind("limit", limit, sa.Integer())))
    outer_order = "r.id DESC" if criteria.sort == "date" else "r.rank, r.id DESC"
    files = "(SELECT group_concat(ma.file_id) FROM message_attachments AS ma WHERE ma.message_id = m.id)"
    return sql.page_statement(inner, outer_order, files, sa.String())


def _file_ids(value: str | None) -> tuple[uuid.UUID, ...]:
    return tuple(sorted(uuid.UUID(hex=item) for item in value.split(","))) if value else ()


class SqliteMessageSearch:
    def __init__(self, engine: Engine, *, max_scope_tokens: int = MAX_SCOPE_TOKENS) -> None:
        self._engine = engine
        self._max_scope_tokens = max_scope_tokens

    def search(
        self, user_id: uuid.UUID, criteria: SearchCriteria, *, after: SearchKey | None, limit: int
    ) -> list[SearchHit]:
        with outages_as_unavailable(), read_only_connection(self._engine) as connection:
            # Only plain hex reaches the MATCH string (it is our own column, but a quote in it
            # would be FTS5 syntax).
            stored = connection.execute(_MEMBER_SESSIONS_HEX, {"user_id": user_id}).scalars().all()
            members = [value for value in stored if value.isascii() and value.isalnum()]
            if criteria.sessions:
                wanted = {session_id.hex for session_id in criteria.sessions}
                members = [value for value in members if value in wanted]
            if not members:
                return []
            scope = members if len(members) <= self._max_scope_tokens else None
            rows: list[Any] = connection.execute(search_statement(criteria, scope, user_id, after, limit)).all()
            return to_hits(rows, lambda rank: -rank, _file_ids)
