"""The relational schema (SQLAlchemy 2.x declarative), one definition for SQLite, PostgreSQL and Azure SQL.

These classes are persistence rows, not domain entities: repositories map them to and from the
dataclasses in ``domain/`` explicitly, and the hot paths use their ``__table__`` with Core statements.

Portability choices:
- ``Unicode``/``UnicodeText`` for human text, so Azure SQL stores NVARCHAR (VARCHAR would mangle
  non-Latin text); ``String`` for ASCII identifiers.
- enums are short strings with CHECK constraints (no native ENUM types to migrate).
- the client-message-id uniqueness is a *filtered* unique index: SQL Server treats NULLs as equal in
  UNIQUE constraints, which would allow one message without a client id per sender.
- foreign keys avoid multiple cascade paths (SQL Server refuses them): only a session's own rows
  cascade; users are disabled, not deleted, so references to them use NO ACTION.
- constraint names come from the naming convention below; Alembic needs names to alter or drop
  constraints on SQL Server and in SQLite batch mode.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from infra.sql.types import BigIntId, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MEMBER_ROLES = ("owner", "member")
SENDER_KINDS = ("user", "agent", "system")
SENTIMENT_LABELS = ("positive", "neutral", "negative", "mixed")
FILE_STATUSES = ("pending", "ready", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), uuid.UUID: sa.Uuid()}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.Unicode(100))
    email: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    email_verified: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class ExternalIdentityRow(Base):
    __tablename__ = "external_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class ChatSessionRow(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.Unicode(200))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Counter from which message seqs are allocated (UPDATE ... SET last_seq = last_seq + 1 RETURNING).
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default=sa.text("0"))
    deleted_at: Mapped[datetime | None]


class SessionMemberRow(Base):
    __tablename__ = "session_members"
    __table_args__ = (sa.CheckConstraint(_in("role", MEMBER_ROLES), name="role"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    joined_at: Mapped[datetime]
    last_read_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default=sa.text("0"))


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "seq"),
        sa.CheckConstraint(_in("sender_kind", SENDER_KINDS), name="sender_kind"),
        sa.CheckConstraint(
            f"sentiment_label IS NULL OR {_in('sentiment_label', SENTIMENT_LABELS)}", name="sentiment_label"
        ),
        sa.Index(
            "uq_messages_session_id_sender_id_client_message_id",
            "session_id",
            "sender_id",
            "client_message_id",
            unique=True,
            sqlite_where=sa.text("client_message_id IS NOT NULL"),
            postgresql_where=sa.text("client_message_id IS NOT NULL"),
            mssql_where=sa.text("client_message_id IS NOT NULL"),
        ),
    )

    # Chronological 64-bit ids (IDENTITY / rowid): full-text indexes key on them later.
    id: Mapped[int] = mapped_column(BigIntId, sa.Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    sender_kind: Mapped[str] = mapped_column(sa.String(16))
    sender_id: Mapped[str] = mapped_column(sa.String(64))
    client_message_id: Mapped[str | None] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.UnicodeText)
    reply_to_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(sa.String(16))
    sentiment_label: Mapped[str | None] = mapped_column(sa.String(16))
    sentiment_score: Mapped[float | None] = mapped_column(sa.Float)
    intent: Mapped[str | None] = mapped_column(sa.String(64))
    # {"entities": [{"text": ..., "label": ...}], "keywords": [...]}
    annotations: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON().with_variant(JSONB(), "postgresql"))


class FileRow(Base):
    __tablename__ = "files"
    __table_args__ = (
        sa.CheckConstraint(_in("status", FILE_STATUSES), name="status"),
        sa.CheckConstraint("size_bytes >= 0", name="size_bytes"),
        sa.Index(None, "owner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("chat_sessions.id"), index=True)
    blob_name: Mapped[str] = mapped_column(sa.String(400), unique=True)
    original_name: Mapped[str] = mapped_column(sa.Unicode(255))
    content_type: Mapped[str] = mapped_column(sa.String(127))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]


class MessageAttachmentRow(Base):
    __tablename__ = "message_attachments"

    message_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("files.id"), primary_key=True, index=True)


class TokenUsageRow(Base):
    __tablename__ = "token_usage"
    __table_args__ = (
        sa.CheckConstraint("input_tokens >= 0 AND output_tokens >= 0 AND total_tokens >= 0", name="non_negative"),
        sa.Index(None, "user_id", "created_at"),
        sa.Index(None, "agent", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, sa.Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    agent: Mapped[str] = mapped_column(sa.String(64))
    model: Mapped[str] = mapped_column(sa.String(128))
    # Accounting outlives what it accounts for: no foreign keys on session/message.
    session_id: Mapped[uuid.UUID | None]
    message_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    input_tokens: Mapped[int] = mapped_column(sa.Integer)
    output_tokens: Mapped[int] = mapped_column(sa.Integer)
    total_tokens: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime]


# --- identity: our sessions, refresh tokens, pending logins, two-factor auth, rate limits -----------


class AuthSessionRow(Base):
    """One signed-in device (the ``sid`` claim); its refresh tokens form one rotation family."""

    __tablename__ = "auth_sessions"
    __table_args__ = (sa.Index(None, "user_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    # Authentication methods of the sign-in, space separated (e.g. "oidc:google otp").
    amr: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # Absolute expiry: no refresh extends a session past this.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    user_agent: Mapped[str | None] = mapped_column(sa.Unicode(256))
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class RefreshTokenRow(Base):
    """A refresh token, stored as the SHA-256 of its 256-bit value; spent once, then replaced."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigIntId, sa.Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    # Idle expiry of this token (capped by the session's absolute expiry).
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class PendingLoginRow(Base):
    """A web sign-in in flight: keyed by the hash of ``state``; single-use and short-lived."""

    __tablename__ = "pending_logins"

    state_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(32))
    nonce: Mapped[str] = mapped_column(sa.String(128))
    code_verifier: Mapped[str] = mapped_column(sa.String(128))
    redirect_uri: Mapped[str] = mapped_column(sa.String(2048))
    # Where the client app wants to land after sign-in (allowlisted).
    return_to: Mapped[str | None] = mapped_column(sa.String(2048))
    # Set when a signed-in user links another provider explicitly.
    link_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]


class MfaCredentialRow(Base):
    """A user's TOTP secret (AES-GCM encrypted), replay guard and lockout state."""

    __tablename__ = "mfa_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]
    # NULL while set up but not yet confirmed with a first valid code.
    enabled_at: Mapped[datetime | None]
    # The last TOTP time step accepted: a code is accepted once per step.
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default=sa.text("0"))
    locked_until: Mapped[datetime | None]


class RecoveryCodeRow(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigIntId, sa.Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class MfaChallengeRow(Base):
    """The second step of a sign-in (``mfa_token``): single-use, 5 minutes, a few attempts."""

    __tablename__ = "mfa_challenges"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The first factor's methods, carried into the session's amr once the second succeeds.
    amr: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default=sa.text("0"))
    consumed_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(sa.Unicode(256))
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class RateLimitCounterRow(Base):
    """Fixed-window counters, in SQL so limits hold across Function instances."""

    __tablename__ = "rate_limit_counters"

    bucket: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RealtimeConnectionRow(Base):
    """A live Web PubSub connection: presence is "this user has at least one row"."""

    __tablename__ = "realtime_connections"

    connection_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    hub: Mapped[str] = mapped_column(sa.String(128))
    connected_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


metadata = Base.metadata
users = UserRow.__table__
external_identities = ExternalIdentityRow.__table__
chat_sessions = ChatSessionRow.__table__
session_members = SessionMemberRow.__table__
messages = MessageRow.__table__
files = FileRow.__table__
message_attachments = MessageAttachmentRow.__table__
token_usage = TokenUsageRow.__table__
auth_sessions = AuthSessionRow.__table__
refresh_tokens = RefreshTokenRow.__table__
pending_logins = PendingLoginRow.__table__
mfa_credentials = MfaCredentialRow.__table__
recovery_codes = RecoveryCodeRow.__table__
mfa_challenges = MfaChallengeRow.__table__
rate_limit_counters = RateLimitCounterRow.__table__
realtime_connections = RealtimeConnectionRow.__table__

TABLES_IN_DEPENDENCY_ORDER = [t.name for t in metadata.sorted_tables]
