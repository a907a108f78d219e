"""The chat's added statements compile for Azure SQL (no SQL Server engine runs here)."""

from __future__ import annotations

import uuid

from infra.sql.repositories.sessions import lock_session_statement
from tests.unit.sql.mssql import compile_mssql


def test_the_session_lock_is_a_real_write_on_sql_server() -> None:
    sql = compile_mssql(lock_session_statement(uuid.uuid4()))
    assert sql.startswith("UPDATE chat_sessions SET last_seq=chat_sessions.last_seq")
    assert "WHERE chat_sessions.id = ?" in sql
