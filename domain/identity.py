"""Sign-in with external providers: verified identities, pending web logins, account-linking rules.

The rules that decide whose account a provider's identity lands in live here, because getting
them wrong is an account takeover: an e-mail address links two accounts only when *both* sides
proved they own it (a provider that says ``email_verified`` and a user whose address was verified
when it was stored). Anything else needs an explicit link made while signed in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.time import require_utc
from domain.users import DISPLAY_NAME_MAX, User, normalize_email
from shared.errors import Forbidden, InvalidInput, Unauthenticated

# The one step of the web flow that waits on a person (choosing an account at the provider).
PENDING_LOGIN_TTL = timedelta(minutes=10)
# A handover code only travels from our callback to the app at ``return_to``: seconds, not minutes.
HANDOVER_TTL = timedelta(seconds=60)
FALLBACK_DISPLAY_NAME = "Tagarela user"


class AccountDisabled(Forbidden):
    code = "account_disabled"


class SignInFailed(Unauthenticated):
    """The provider's answer could not be verified (token, nonce, state...): one code, no detail."""

    code = "sign_in_failed"


class UnknownProvider(InvalidInput):
    code = "unknown_provider"


class InvalidReturnTo(InvalidInput):
    code = "invalid_return_to"


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """Who a provider says the user is, taken from an ID token whose every check passed."""

    provider: str
    subject: str
    email: str | None = None
    email_verified: bool = False  # already False when the provider's claim is not trustworthy
    name: str | None = None
    is_private_email: bool = False  # an Apple private relay address: real and verified, but per-app

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalize_email(self.email))
        if self.email is None:
            object.__setattr__(self, "email_verified", False)

    @property
    def amr(self) -> str:
        """The authentication method as stored on our session (e.g. ``oidc:google``)."""
        return f"oidc:{self.provider}"


def may_link_by_email(identity: VerifiedIdentity, existing: User) -> bool:
    """An unknown identity joins an existing user only when both proved the same e-mail.

    The existing user's address must be verified too: otherwise someone could create an account
    with a victim's (unverified) address first and be handed the victim's later sign-ins.
    """
    return (
        identity.email_verified
        and identity.email is not None
        and existing.email_verified
        and existing.email == identity.email
    )


def display_name_for(identity: VerifiedIdentity, hint: str | None = None) -> str:
    """A display name for a new user: the provider's name, a client hint (Apple sends the name
    once, outside the token), the e-mail's local part (not for private relay addresses, which are
    gibberish), or a neutral fallback."""
    for candidate in (identity.name, hint):
        cleaned = " ".join((candidate or "").split())
        if cleaned:
            return cleaned[:DISPLAY_NAME_MAX]
    if identity.email and not identity.is_private_email:
        return identity.email.split("@", 1)[0][:DISPLAY_NAME_MAX] or FALLBACK_DISPLAY_NAME
    return FALLBACK_DISPLAY_NAME


@dataclass(slots=True)
class PendingLogin:
    """A web sign-in between our redirect to the provider and its callback.

    Stored under the SHA-256 of a random key (the ``state`` sent to the provider, or a handover
    code), never the key itself, so a database read does not give out live sign-ins. It serves two
    phases: ``login`` (waiting for the provider's callback) and ``handover`` (signed
    in at the provider, waiting for the app at ``return_to`` to collect the session). The two
    kinds hash their keys with different prefixes, so one can never be redeemed as the other. A
    handover row keeps the signed-in user in ``link_user_id`` (the column the schema has for the
    user a login belongs to) and no verifier.
    """

    key_hash: str
    provider: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: datetime
    expires_at: datetime
    return_to: str | None = None
    link_user_id: uuid.UUID | None = None
    consumed_at: datetime | None = None

    def __post_init__(self) -> None:
        self.created_at = require_utc(self.created_at, "created_at")
        self.expires_at = require_utc(self.expires_at, "expires_at")

    def is_live(self, now: datetime) -> bool:
        return self.consumed_at is None and now < self.expires_at


class PendingLoginRepository(Protocol):
    def add(self, login: PendingLogin) -> None: ...

    def consume(self, key_hash: str, now: datetime) -> PendingLogin | None:
        """Marks the live login with that key consumed and returns it, atomically: of two
        concurrent callers with the same key, exactly one gets it. None when unknown, expired or
        already consumed."""
        ...

    def delete_expired(self, now: datetime) -> int: ...


def return_to_allowed(url: str, allowlist: tuple[str, ...]) -> bool:
    """Whether the client may be sent back to ``url`` after signing in.

    Each allowlist entry is an absolute URL prefix (``https://app.example.com/``): the candidate
    must have the same scheme, host and port and a path under the entry's path. Parsing both sides
    (instead of a string ``startswith``) defeats ``https://app.example.com.evil.net``,
    ``https://app.example.com@evil.net`` and backslash tricks.
    """
    from urllib.parse import urlsplit

    if not url or len(url) > 2048 or "\\" in url or any(ord(c) < 33 for c in url):
        return False
    try:
        candidate = urlsplit(url)
        candidate_port = candidate.port
    except ValueError:
        return False
    if candidate.scheme not in ("http", "https") or not candidate.hostname or "@" in candidate.netloc:
        return False
    for entry in allowlist:
        allowed = urlsplit(entry)
        if (
            allowed.scheme == candidate.scheme
            and allowed.hostname == candidate.hostname
            and allowed.port == candidate_port
            and candidate.path.startswith(allowed.path or "/")
        ):
            return True
    return False
