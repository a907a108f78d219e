"""files and message attachments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("blob_name", sa.String(400), nullable=False),
        sa.Column("original_name", sa.Unicode(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'ready', 'rejected')", name=op.f("ck_files_status")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_files_size_bytes")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_files_owner_id_users")),
        sa.ForeignKeyConstraint(["session_id"], ["chat_sessions.id"], name=op.f("fk_files_session_id_chat_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("blob_name", name=op.f("uq_files_blob_name")),
    )
    op.create_index(op.f("ix_files_owner_id_created_at"), "files", ["owner_id", "created_at"])
    op.create_index(op.f("ix_files_session_id"), "files", ["session_id"])

    op.create_table(
        "message_attachments",
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_attachments_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_message_attachments_file_id_files")),
        sa.PrimaryKeyConstraint("message_id", "file_id", name=op.f("pk_message_attachments")),
    )
    op.create_index(op.f("ix_message_attachments_file_id"), "message_attachments", ["file_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_message_attachments_file_id"), table_name="message_attachments")
    op.drop_table("message_attachments")
    op.drop_index(op.f("ix_files_session_id"), table_name="files")
    op.drop_index(op.f("ix_files_owner_id_created_at"), table_name="files")
    op.drop_table("files")
