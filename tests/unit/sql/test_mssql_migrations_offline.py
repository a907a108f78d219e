"""`alembic upgrade head --sql` for Azure SQL: DDL we cannot run here, checked as text."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.sql.migrate import offline_sql
from tests.unit.sql.mssql import AZURE_SQL_URL

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def ddl() -> str:
    buffer = io.StringIO()
    offline_sql(AZURE_SQL_URL, stdout=buffer)
    return buffer.getvalue()


def _table(ddl: str, name: str) -> str:
    match = re.search(rf"CREATE TABLE {name} \((.*?)\n\);", ddl, re.S)
    assert match, f"no CREATE TABLE {name}"
    return match.group(1)


def test_types_are_the_azure_sql_ones(ddl: str) -> None:
    messages = _table(ddl, "messages")
    assert "id BIGINT NOT NULL IDENTITY" in messages
    assert "session_id UNIQUEIDENTIFIER NOT NULL" in messages
    assert "body NVARCHAR(max) NOT NULL" in messages
    assert "annotations NVARCHAR(max) NULL" in messages
    assert "created_at DATETIMEOFFSET NOT NULL" in messages
    assert "NTEXT" not in ddl
    assert "display_name NVARCHAR(100)" in _table(ddl, "users")
    assert "id BIGINT NOT NULL IDENTITY" in _table(ddl, "token_usage")


def test_unique_constraints_and_filtered_index(ddl: str) -> None:
    assert "CONSTRAINT uq_messages_session_id_seq UNIQUE (session_id, seq)" in ddl
    assert "CONSTRAINT uq_external_identities_provider_subject UNIQUE (provider, subject)" in ddl
    assert "CONSTRAINT uq_files_blob_name UNIQUE (blob_name)" in ddl
    assert (
        "CREATE UNIQUE INDEX uq_messages_session_id_sender_id_client_message_id ON messages "
        "(session_id, sender_id, client_message_id) WHERE client_message_id IS NOT NULL"
    ) in ddl


def test_access_path_indexes(ddl: str) -> None:
    for index in (
        "ix_session_members_user_id ON session_members (user_id)",
        "ix_token_usage_user_id_created_at ON token_usage (user_id, created_at)",
        "ix_token_usage_agent_created_at ON token_usage (agent, created_at)",
        "ix_external_identities_user_id ON external_identities (user_id)",
    ):
        assert f"CREATE INDEX {index}" in ddl


def test_no_multiple_cascade_paths(ddl: str) -> None:
    """SQL Server refuses a table reachable through two cascading paths; only a session's own rows
    (members, messages), a message's attachments and an auth session's refresh tokens cascade."""
    cascading = re.findall(r"CONSTRAINT (fk_\w+) FOREIGN KEY.*?ON DELETE CASCADE", ddl)
    assert sorted(cascading) == [
        "fk_message_attachments_message_id_messages",
        "fk_messages_session_id_chat_sessions",
        "fk_refresh_tokens_session_id_auth_sessions",
        "fk_session_members_session_id_chat_sessions",
    ]


def test_every_revision_is_recorded(ddl: str) -> None:
    assert "INSERT INTO alembic_version (version_num) OUTPUT inserted.version_num VALUES ('0001')" in ddl
    assert "SET version_num='0006'" in ddl


def test_plain_alembic_cli_works_from_the_repo_root() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    alembic = Path(sys.executable).with_name("alembic")
    result = subprocess.run(
        [str(alembic), "-x", f"url={AZURE_SQL_URL}", "upgrade", "head", "--sql"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "body NVARCHAR(max) NOT NULL" in result.stdout
