"""PostgreSQL adapter: ``messages.search_vector`` (stored ``tsvector``, GIN-indexed, migration 0007).

The query is a ``tsquery`` built from normalized tokens (``'w'``, ``'a' <-> 'b'`` phrases,
``'pre':*`` prefixes, ``!`` exclusions) and cast, not parsed: the user's text never reaches
``to_tsquery``'s syntax. The caller's sessions come first as ``session_id = ANY(ARRAY(SELECT ...))``
(an ``IN (SELECT ...)`` makes the planner re-read the GIN posting list once per session, see the
research note). Relevance is ``ts_rank`` (real, higher is better), keyset (rank, id) by row
comparison; date order is ``id DESC`` (ids are chronological).

The search is one statement, so it runs in autocommit (``infra.sql.read_only``): it is its own
snapshot, and psycopg sends no ``BEGIN``/``ROLLBACK`` around it (two of the three round trips of a
transaction; ~0.4 ms on the benchmark machine). But it runs **unprepared**: on an autocommit
connection psycopg keeps the statements it auto-prepares (from the 5th execution), and after 5
custom plans PostgreSQL switches a prepared statement to its generic plan, which cannot see the
``tsquery``'s selectivity nor the caller's sessions. Measured on the benchmark corpus: ``não`` by
relevance went from 15 ms to 50–70 ms from the 11th execution on. (Inside a transaction this
did not show only because psycopg forgets its prepared statements at every ROLLBACK.)
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import ARRAY

from application.ports.search import SearchHit, SearchKey
from domain.search import SearchCriteria, Term
from infra.sql.outages import outages_as_unavailable
from infra.sql.read_only import read_only_connection
from infra.sql.search.common import MEMBER_SESSIONS_SQL, Sql, filter_sql, to_hits

_RANK = "ts_rank(m.search_vector, CAST(:tsq AS tsquery))"


def _lexeme(word: str, prefix: bool) -> str:
    return f"'{word}':*" if prefix else f"'{word}'"


def _phrase(term: Term) -> str:
    last = len(term.words) - 1
    parts = [_lexeme(w, term.prefix and i == last) for i, w in enumerate(term.words)]
    return f"({' <-> '.join(parts)})" if len(parts) > 1 else parts[0]


def tsquery_text(criteria: SearchCriteria) -> str:
    parts = [_phrase(t) for t in criteria.positive] + [f"!{_phrase(t)}" for t in criteria.negative]
    return " & ".join(parts)


def search_statement(
    criteria: SearchCriteria, user_id: uuid.UUID, after: SearchKey | None, limit: int
) -> sa.TextClause:
    sql = Sql()
    tsq = sql.bind("tsq", tsquery_text(criteria), sa.String())
    member_sessions = MEMBER_SESSIONS_SQL.replace(":user_id", sql.bind("user_id", user_id, sa.Uuid()))
    where = [f"m.search_vector @@ CAST({tsq} AS tsquery)", f"m.session_id = ANY(ARRAY({member_sessions}))"]
    where += filter_sql(criteria, sql)
    if criteria.sort == "date":
        if after is not None:
            where.append(f"m.id < {sql.bind('after_id', after.message_id, sa.BigInteger())}")
        select, order = "m.id AS id, CAST(NULL AS real) AS rank", "m.id DESC"
    else:
        if after is not None:
            where.append(f"({_RANK}, m.id) < (CAST({sql.bind('after_rank', after.rank, sa.Float())} AS real), "
                         f"{sql.bind('after_id', after.message_id, sa.BigInteger())})")
        select, order = f"m.id AS id, {_RANK} AS rank", "rank DESC, m.id DESC"
    inner = " ".join(("SELECT", select, "FROM messages AS m WHERE", " AND ".join(where),
                      "ORDER BY", order, "LIMIT", sql.bind("limit", limit, sa.Integer())))
    outer_order = "r.id DESC" if criteria.sort == "date" else "r.rank DESC, r.id DESC"
    files = "ARRAY(SELECT ma.file_id FROM message_attachments AS ma WHERE ma.message_id = m.id ORDER BY ma.file_id)"
    return sql.page_statement(inner, outer_order, files, ARRAY(sa.Uuid()))


def _file_ids(value: list[uuid.UUID] | None) -> tuple[uuid.UUID, ...]:
    return tuple(value or ())


class PostgresMessageSearch:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def search(
        self, user_id: uuid.UUID, criteria: SearchCriteria, *, after: SearchKey | None, limit: int
    ) -> list[SearchHit]:
        statement = search_statement(criteria, user_id, after, limit)
        with outages_as_unavailable(), read_only_connection(self._engine) as connection, _unprepared(connection):
            rows: list[Any] = connection.execute(statement).all()
        return to_hits(rows, float, _file_ids)


@contextlib.contextmanager
def _unprepared(connection: Connection) -> Iterator[None]:
    """Statements run in this block are never prepared by psycopg (so never on a generic plan).

    ``prepare_threshold`` is psycopg 3's per-connection switch (None: never prepare); the pooled
    connection is ours until the block ends and gets its setting back after. A driver without
    automatic preparation (psycopg2) needs nothing.
    """
    driver = connection.connection.driver_connection
    if not hasattr(driver, "prepare_threshold"):
        yield
        return
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold
