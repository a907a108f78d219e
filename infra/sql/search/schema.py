"""The full-text objects migration 0007 creates outside the models (dialect-specific DDL).

They are not SQLAlchemy ``Table``s, so Alembic's model comparison would report them as extra:
:func:`include_object` hides them from ``compare_metadata`` (used by ``migrations/env.py`` and the
migration tests).

- SQLite: ``messages_fts`` (FTS5, external content = the view ``messages_fts_source``: ``body`` and a
  ``scope`` column holding the token ``s<session id hex>``), its shadow tables, triggers
  ``messages_fts_ai/au/ad`` keeping it in step in the writer's own transaction.
- PostgreSQL: ``unaccent`` extension, ``tagarela_unaccent(text)`` (an IMMUTABLE wrapper, so it may
  be used in a generated column), ``messages.search_vector`` (``tsvector`` GENERATED ALWAYS ... STORED)
  and its GIN index ``ix_messages_search_vector``.
- Azure SQL: full-text catalog ``ft_tagarela`` (accent-insensitive) and a full-text index on
  ``messages(body)`` keyed by ``pk_messages``.
"""

from __future__ import annotations

from typing import Any

SQLITE_FTS_TABLE = "messages_fts"
SQLITE_FTS_SOURCE_VIEW = "messages_fts_source"
SQLITE_FTS_TABLES = frozenset(
    {SQLITE_FTS_TABLE} | {f"{SQLITE_FTS_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")}
)
PG_SEARCH_COLUMN = "search_vector"
PG_SEARCH_INDEX = "ix_messages_search_vector"
MSSQL_FULLTEXT_CATALOG = "ft_tagarela"

SEARCH_TABLES = SQLITE_FTS_TABLES | {SQLITE_FTS_SOURCE_VIEW}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic ``include_object`` hook: leave the full-text objects out of autogenerate comparisons."""
    if type_ == "table" and name in SEARCH_TABLES:
        return False
    if type_ == "column" and name == PG_SEARCH_COLUMN and getattr(obj, "table", None) is not None \
            and obj.table.name == "messages":
        return False
    return not (type_ == "index" and name == PG_SEARCH_INDEX)
