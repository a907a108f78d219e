"""The repositories' main statements compile for Azure SQL."""

from __future__ import annotations

import uuid

from domain.chat import MessageDraft, SenderKind, SessionCursor
from domain.time import utc_now
from infra.sql.models import users
from infra.sql.repositories.messages import (
    allocate_seq_statement,
    find_by_client_id_statement,
    insert_message_statement,
    list_after_statement,
    list_before_statement,
)
from infra.sql.repositories.sessions import list_for_user_statement
from infra.sql.repositories.token_usage import totals_statement
from tests.unit.sql.mssql import compile_mssql

SESSION = uuid.uuid4()


def test_seq_allocation_uses_output_inserted() -> None:
    sql = compile_mssql(allocate_seq_statement(SESSION, utc_now()))
    assert sql.startswith("UPDATE chat_sessions SET ")
    assert "last_seq=(chat_sessions.last_seq + ?)" in sql
    assert "OUTPUT inserted.last_seq" in sql
    assert "chat_sessions.deleted_at IS NULL" in sql


def test_seq_allocation_with_the_membership_check_is_one_statement() -> None:
    sql = compile_mssql(allocate_seq_statement(SESSION, utc_now(), uuid.uuid4()))
    assert sql.startswith("UPDATE chat_sessions SET ")
    assert "OUTPUT inserted.last_seq" in sql
    assert "EXISTS (SELECT * \nFROM session_members \nWHERE session_members.session_id = ?" in sql
    assert "session_members.user_id = ?" in sql


def test_postgresql_one_statement_append_compiles_as_one_cte_statement() -> None:
    from sqlalchemy.dialects import postgresql

    from infra.sql.repositories.messages import append_statement_postgresql

    sql = str(append_statement_postgresql(check_member=True, idempotent=True).compile(dialect=postgresql.dialect()))
    assert sql.startswith("WITH alloc AS \n(UPDATE chat_sessions SET ")
    assert "ins AS \n(INSERT INTO messages" in sql
    assert ("ON CONFLICT (session_id, sender_id, client_message_id) WHERE client_message_id IS NOT NULL "
            "DO NOTHING") in sql
    assert "NOT (EXISTS (SELECT * \nFROM messages" in sql and "EXISTS (SELECT * \nFROM session_members" in sql
    assert "created_at=" not in sql.split("WHERE", 1)[0]  # only updated_at/last_seq are SET


def test_message_insert_returns_the_identity() -> None:
    draft = MessageDraft(
        session_id=SESSION, sender_kind=SenderKind.USER, sender_id="u", body="oi", client_message_id="c"
    )
    sql = compile_mssql(insert_message_statement(draft, 7))
    assert sql.startswith("INSERT INTO messages")
    assert "OUTPUT inserted.id" in sql


def test_pages_use_top_and_the_seq_order() -> None:
    after = compile_mssql(list_after_statement(SESSION, 10, 50))
    before = compile_mssql(list_before_statement(SESSION, 10, 50))
    assert "SELECT TOP __[POSTCOMPILE_param_1]" in after
    assert "messages.seq > ?" in after
    assert after.rstrip().endswith("ORDER BY messages.seq")
    assert "messages.seq < ?" in before
    assert before.rstrip().endswith("ORDER BY messages.seq DESC")


def test_client_id_lookup() -> None:
    sql = compile_mssql(find_by_client_id_statement(SESSION, "u", "c"))
    assert "messages.client_message_id = ?" in sql


def test_session_keyset_has_no_row_value_comparison() -> None:
    sql = compile_mssql(list_for_user_statement(uuid.uuid4(), 20, SessionCursor(utc_now(), uuid.uuid4())))
    assert "chat_sessions.updated_at < ? OR chat_sessions.updated_at = ? AND chat_sessions.id < ?" in sql
    assert "JOIN session_members ON session_members.session_id = chat_sessions.id" in sql
    assert "ORDER BY chat_sessions.updated_at DESC, chat_sessions.id DESC" in sql


def test_usage_totals_sum_as_bigint() -> None:
    sql = compile_mssql(totals_statement(users.c.id.is_not(None)))
    assert "sum(CAST(token_usage.input_tokens AS BIGINT))" in sql
    assert "count(*)" in sql
