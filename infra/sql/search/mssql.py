"""Azure SQL adapter: the full-text index on ``messages(body)`` (catalog ``ft_tagarela``,
accent-insensitive, migration 0007).

Relevance uses ``CONTAINSTABLE(messages, body, @q, top_n)``: SQL Server ranks inside the full-text
engine and hands back at most ``top_n`` (KEY, RANK) rows, which are then joined to the caller's
sessions and filters. The trade-off: a common word's top-N over the whole table may hold few of the
caller's messages, so relevance results are "the best of the global top-N that the caller may
see"; date order uses the ``CONTAINS`` predicate (no cap) with ``ORDER BY id DESC``. Checked by
compiling for the mssql dialect (no SQL Server runs here).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from application.ports.search import SearchHit, SearchKey
from domain.search import SearchCriteria, Term
from infra.sql.outages import outages_as_unavailable
from infra.sql.search.common import MEMBER_SESSIONS_SQL, Sql, filter_sql, to_hits

DEFAULT_TOP_N = 2000


def _phrase(term: Term) -> str:
    words = " ".join(term.words)
    return f'"{words}*"' if term.prefix else f'"{words}"'


def contains_query(criteria: SearchCriteria) -> str:
    parts = [_phrase(t) for t in criteria.positive] + [f"NOT {_phrase(t)}" for t in criteria.negative]
    return " AND ".join(parts)


def search_statement(
    criteria: SearchCriteria, user_id: uuid.UUID, after: SearchKey | None, limit: int, *, top_n: int = DEFAULT_TOP_N
) -> sa.TextClause:
    sql = Sql()
    query = sql.bind("ftq", contains_query(criteria), sa.Unicode())
    member_sessions = MEMBER_SESSIONS_SQL.replace(":user_id", sql.bind("user_id", user_id, sa.Uuid()))
    where = [f"m.session_id IN ({member_sessions})", *filter_sql(criteria, sql)]
    top = sql.bind("limit", limit, sa.Integer())
    if criteria.sort == "date":
        where.insert(0, f"CONTAINS(m.body, {query})")
        if after is not None:
            where.append(f"m.id < {sql.bind('after_id', after.message_id, sa.BigInteger())}")
        parts = ("SELECT TOP (", top, ") m.id AS id, NULL AS rank FROM messages AS m WHERE ",
                 " AND ".join(where), " ORDER BY m.id DESC")
        outer_order = "r.id DESC"
    else:
        if after is not None:
            rank = sql.bind("after_rank", after.rank, sa.Float())
            where.append(f"(ft.[RANK] < {rank} OR (ft.[RANK] = {rank} AND "
                         f"m.id < {sql.bind('after_id', after.message_id, sa.BigInteger())}))")
        parts = ("SELECT TOP (", top, ") m.id AS id, ft.[RANK] AS rank FROM CONTAINSTABLE(messages, body, ", query,
                 ", ", str(int(top_n)), ") AS ft JOIN messages AS m ON m.id = ft.[KEY] WHERE ", " AND ".join(where),
                 " ORDER BY ft.[RANK] DESC, m.id DESC")
        outer_order = "r.rank DESC, r.id DESC"
    # Constant SQL text; every value is a bind parameter (top_n is an int literal: CONTAINSTABLE wants one).
    files = ("(SELECT STRING_AGG(CONVERT(NVARCHAR(36), ma.file_id), ',') FROM message_attachments AS ma "
             "WHERE ma.message_id = m.id)")
    return sql.page_statement("".join(parts), outer_order, files, sa.Unicode())


def _file_ids(value: str | None) -> tuple[uuid.UUID, ...]:
    return tuple(sorted(uuid.UUID(item) for item in value.split(","))) if value else ()


class MssqlMessageSearch:
    def __init__(self, engine: Engine, *, top_n: int = DEFAULT_TOP_N) -> None:
        self._engine = engine
        self._top_n = top_n

    def search(
        self, user_id: uuid.UUID, criteria: SearchCriteria, *, after: SearchKey | None, limit: int
    ) -> list[SearchHit]:
        with outages_as_unavailable(), self._engine.connect() as connection:
            statement = search_statement(criteria, user_id, after, limit, top_n=self._top_n)
            rows: list[Any] = connection.execute(statement).all()
            return to_hits(rows, float, _file_ids)
