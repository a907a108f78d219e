"""SQL implementations of the repository ports in ``domain/ports.py``."""

from infra.sql.repositories.auth_sessions import SqlAuthSessionRepository, SqlRefreshTokenRepository
from infra.sql.repositories.files import SqlFileRepository
from infra.sql.repositories.identities import SqlIdentityRepository
from infra.sql.repositories.members import SqlSessionMemberRepository
from infra.sql.repositories.messages import SqlMessageRepository
from infra.sql.repositories.mfa import SqlMfaRepository
from infra.sql.repositories.pending_logins import SqlPendingLoginRepository
from infra.sql.repositories.sessions import SqlChatSessionRepository
from infra.sql.repositories.token_usage import SqlTokenUsageRepository
from infra.sql.repositories.users import SqlUserRepository

__all__ = [
    "SqlAuthSessionRepository",
    "SqlChatSessionRepository",
    "SqlFileRepository",
    "SqlIdentityRepository",
    "SqlMessageRepository",
    "SqlMfaRepository",
    "SqlPendingLoginRepository",
    "SqlRefreshTokenRepository",
    "SqlSessionMemberRepository",
    "SqlTokenUsageRepository",
    "SqlUserRepository",
]
