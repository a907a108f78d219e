"""Users and the external accounts (Google, Apple, Microsoft, ...) they sign in with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidUser
from domain.time import require_utc, utc_now

DISPLAY_NAME_MAX = 100
EMAIL_MAX = 320
PROVIDER_MAX = 32
SUBJECT_MAX = 255


def normalize_email(email: str | None) -> str | None:
    """Lower-case and trim, so lookups by email match whatever casing a provider sends."""
    if email is None:
        return None
    cleaned = email.strip().lower()
    if not cleaned:
        return None
    if len(cleaned) > EMAIL_MAX or "@" not in cleaned:
        raise InvalidUser("email is not a valid address")
    return cleaned


@dataclass(slots=True)
class User:
    display_name: str
    email: str | None = None
    email_verified: bool = False
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utc_now)
    disabled_at: datetime | None = None

    def __post_init__(self) -> None:
        self.display_name = self.display_name.strip()
        if not self.display_name or len(self.display_name) > DISPLAY_NAME_MAX:
            raise InvalidUser(f"display name must have 1 to {DISPLAY_NAME_MAX} characters")
        self.email = normalize_email(self.email)
        if self.email is None:
            self.email_verified = False
        self.created_at = require_utc(self.created_at, "created_at")

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(slots=True)
class ExternalIdentity:
    """A (provider, subject) pair: ``subject`` is the provider's stable id, never the email."""

    provider: str
    subject: str
    user_id: uuid.UUID
    email: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utc_now)
    last_login_at: datetime | None = None

    def __post_init__(self) -> None:
        self.provider = self.provider.strip().lower()
        if not self.provider or len(self.provider) > PROVIDER_MAX:
            raise InvalidUser("identity provider is required")
        if not self.subject or len(self.subject) > SUBJECT_MAX:
            raise InvalidUser(f"identity subject must have 1 to {SUBJECT_MAX} characters")
        self.email = normalize_email(self.email)
        self.created_at = require_utc(self.created_at, "created_at")
