"""Full-text message search: one adapter per dialect behind ``application.ports.search.MessageSearch``."""

from __future__ import annotations

from sqlalchemy import Engine

from application.ports.search import MessageSearch


def make_message_search(engine: Engine, *, mssql_top_n: int = 2000) -> MessageSearch:
    name = engine.dialect.name
    if name == "sqlite":
        from infra.sql.search.sqlite import SqliteMessageSearch

        return SqliteMessageSearch(engine)
    if name == "postgresql":
        from infra.sql.search.postgresql import PostgresMessageSearch

        return PostgresMessageSearch(engine)
    if name == "mssql":
        from infra.sql.search.mssql import MssqlMessageSearch

        return MssqlMessageSearch(engine, top_n=mssql_top_n)
    raise ValueError(f"no message search adapter for the {name} dialect")
