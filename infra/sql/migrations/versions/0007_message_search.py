"""full-text message search (FTS5 / tsvector + GIN + unaccent / full-text catalog)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

Dialect-specific objects, created with raw DDL and hidden from the model comparison by
``infra.sql.search.schema.include_object`` (see that module for the list).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The scope column holds one token per message, "s<session id as 32 hex digits>" (SQLite stores
# UUIDs as 32 hex characters), so a search ANDs the caller's sessions into the full-text match itself.
_SQLITE_UP = [
    """CREATE VIEW messages_fts_source AS
       SELECT id, body, 's' || session_id AS scope FROM messages WHERE deleted_at IS NULL""",
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
       body, scope, content='messages_fts_source', content_rowid='id',
       tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages WHEN new.deleted_at IS NULL BEGIN
       INSERT INTO messages_fts(rowid, body, scope) VALUES (new.id, new.body, 's' || new.session_id);
       END""",
    """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages WHEN old.deleted_at IS NULL BEGIN
       INSERT INTO messages_fts(messages_fts, rowid, body, scope)
       VALUES ('delete', old.id, old.body, 's' || old.session_id);
       END""",
    """CREATE TRIGGER messages_fts_au AFTER UPDATE OF body, deleted_at, session_id ON messages BEGIN
       INSERT INTO messages_fts(messages_fts, rowid, body, scope)
       SELECT 'delete', old.id, old.body, 's' || old.session_id WHERE old.deleted_at IS NULL;
       INSERT INTO messages_fts(rowid, body, scope)
       SELECT new.id, new.body, 's' || new.session_id WHERE new.deleted_at IS NULL;
       END""",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
    "DROP VIEW IF EXISTS messages_fts_source",
]

# unaccent() is only STABLE (it reads a dictionary by name); the wrapper names the dictionary
# explicitly and is declared IMMUTABLE so a generated column and an index may use it.
# lower() after unaccent(): lower() of non-ASCII letters depends on the database's LC_CTYPE.
_POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """CREATE OR REPLACE FUNCTION tagarela_unaccent(text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    """ALTER TABLE messages ADD COLUMN search_vector tsvector
       GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, lower(tagarela_unaccent(body)))) STORED""",
    "CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)",
]
_POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_messages_search_vector",
    "ALTER TABLE messages DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS tagarela_unaccent(text)",
]

# Full-text DDL cannot run inside a user transaction on SQL Server: autocommit blocks.
_MSSQL_UP = [
    "CREATE FULLTEXT CATALOG ft_tagarela WITH ACCENT_SENSITIVITY = OFF",
    "CREATE FULLTEXT INDEX ON messages (body LANGUAGE 0) KEY INDEX pk_messages ON ft_tagarela "
    "WITH (CHANGE_TRACKING = AUTO, STOPLIST = OFF)",
]
_MSSQL_DOWN = [
    "DROP FULLTEXT INDEX ON messages",
    "DROP FULLTEXT CATALOG ft_tagarela",
]


def _run(statements: list[str], *, autocommit: bool = False) -> None:
    if autocommit:
        with op.get_context().autocommit_block():
            for statement in statements:
                op.execute(statement)
        return
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        _run(_SQLITE_UP)
    elif dialect == "postgresql":
        _run(_POSTGRES_UP)
    elif dialect == "mssql":
        _run(_MSSQL_UP, autocommit=True)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        _run(_SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(_POSTGRES_DOWN)
    elif dialect == "mssql":
        _run(_MSSQL_DOWN, autocommit=True)
