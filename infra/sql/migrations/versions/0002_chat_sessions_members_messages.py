"""chat sessions, members and messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLIENT_ID_PRESENT = "client_message_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Unicode(200), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_chat_sessions_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
    )
    op.create_index(op.f("ix_chat_sessions_created_by"), "chat_sessions", ["created_by"])

    op.create_table(
        "session_members",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_read_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'member')", name=op.f("ck_session_members_role")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_session_members_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_session_members_user_id_users")),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_session_members")),
    )
    op.create_index(op.f("ix_session_members_user_id"), "session_members", ["user_id"])

    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sender_kind", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(64), nullable=False),
        sa.Column("client_message_id", sa.String(64), nullable=True),
        sa.Column("body", sa.UnicodeText(), nullable=False),
        sa.Column("reply_to_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("sentiment_label", sa.String(16), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("annotations", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.CheckConstraint("sender_kind IN ('user', 'agent', 'system')", name=op.f("ck_messages_sender_kind")),
        sa.CheckConstraint(
            "sentiment_label IS NULL OR sentiment_label IN ('positive', 'neutral', 'negative', 'mixed')",
            name=op.f("ck_messages_sentiment_label"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["chat_sessions.id"], name=op.f("fk_messages_session_id_chat_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_messages_session_id_seq")),
    )
    # Filtered, not a plain UNIQUE constraint: SQL Server would treat NULL client ids as equal.
    op.create_index(
        "uq_messages_session_id_sender_id_client_message_id",
        "messages",
        ["session_id", "sender_id", "client_message_id"],
        unique=True,
        sqlite_where=sa.text(_CLIENT_ID_PRESENT),
        postgresql_where=sa.text(_CLIENT_ID_PRESENT),
        mssql_where=sa.text(_CLIENT_ID_PRESENT),
    )


def downgrade() -> None:
    op.drop_index("uq_messages_session_id_sender_id_client_message_id", table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_session_members_user_id"), table_name="session_members")
    op.drop_table("session_members")
    op.drop_index(op.f("ix_chat_sessions_created_by"), table_name="chat_sessions")
    op.drop_table("chat_sessions")
