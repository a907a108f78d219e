"""realtime connections (presence)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "realtime_connections",
        sa.Column("connection_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("hub", sa.String(length=128), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_realtime_connections_user_id_users")),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_realtime_connections")),
    )
    op.create_index(op.f("ix_realtime_connections_user_id"), "realtime_connections", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_realtime_connections_user_id"), table_name="realtime_connections")
    op.drop_table("realtime_connections")
