"""Sign-in with an external provider: the web flow (code + PKCE + state + nonce), the native flow
(an ID token from the platform SDK), explicit linking, and the step every path ends with.

``CompleteSignIn`` turns a verified external identity into a user (found, created, or linked by a
verified e-mail or an explicit link) and then either asks for the second factor or starts a
session. The other two identity areas plug in through the two Protocols below, so this module is
tested with fakes and wired to the real ``SessionIssuer`` and ``MfaGate`` in ``bootstrap.py``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from application.identity.external_providers import (
    AuthorizationRequest,
    Flow,
    IdentityProvider,
    ProviderInfo,
    ProviderRegistry,
)
from application.identity.results import ClientInfo, MfaRequired, SignedIn, SignInOutcome, TokenPair
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.errors import IdentityAlreadyLinked
from domain.identity import (
    HANDOVER_TTL,
    PENDING_LOGIN_TTL,
    AccountDisabled,
    InvalidReturnTo,
    PendingLogin,
    SignInFailed,
    UnknownProvider,
    VerifiedIdentity,
    display_name_for,
    may_link_by_email,
    return_to_allowed,
)
from domain.users import ExternalIdentity, User

# --------------------------------------------------------------------------- seams to the other areas


class SessionStarter(Protocol):
    """The tokens area's ``SessionIssuer``: creates the session in the caller's unit of work."""

    def start(self, uow: UnitOfWork, user: User, amr: Sequence[str], client: ClientInfo) -> TokenPair: ...


class SecondFactorGate(Protocol):
    """The MFA area's ``MfaGate``: whether the user has 2FA on, and the challenge if so (no commit)."""

    def required(self, uow: UnitOfWork, user_id: uuid.UUID) -> bool: ...

    def challenge(self, uow: UnitOfWork, user: User, amr: Sequence[str], client: ClientInfo) -> MfaRequired: ...


# --------------------------------------------------------------------------- helpers


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def login_key(state: str) -> str:
    """The stored key of a pending login; the ``state`` itself is never stored."""
    return _sha256_hex("login:" + state)


def handover_key(code: str) -> str:
    """A different prefix than :func:`login_key`: a ``state`` can never be redeemed as a handover code."""
    return _sha256_hex("handover:" + code)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _provider_for(providers: ProviderRegistry, name: str, flow: Flow) -> IdentityProvider:
    provider = providers.get(name)
    if flow not in provider.info.flows:
        raise UnknownProvider(f"The provider '{provider.info.name}' does not support the {flow} sign-in flow.")
    return provider


@dataclass(frozen=True, slots=True)
class HandoverRedirect:
    """The web flow's answer when the client asked to land on ``return_to``: a redirect carrying a
    single-use, 60-second code (never a token) that the app exchanges at ``/api/auth/handover``."""

    location: str


# --------------------------------------------------------------------------- use cases


class CompleteSignIn:
    """The last step of every external sign-in; commits the caller's unit of work."""

    def __init__(self, sessions: SessionStarter, mfa: SecondFactorGate, clock: Clock) -> None:
        self._sessions = sessions
        self._mfa = mfa
        self._clock = clock

    def __call__(
        self,
        uow: UnitOfWork,
        identity: VerifiedIdentity,
        client: ClientInfo,
        *,
        link_user_id: uuid.UUID | None = None,
        name_hint: str | None = None,
    ) -> SignInOutcome:
        user = self.resolve_user(uow, identity, link_user_id=link_user_id, name_hint=name_hint)
        return self.finish(uow, user, [identity.amr], client)

    def resolve_user(
        self,
        uow: UnitOfWork,
        identity: VerifiedIdentity,
        *,
        link_user_id: uuid.UUID | None = None,
        name_hint: str | None = None,
    ) -> User:
        """Finds or creates the user and links the identity (no commit)."""
        try:
            user = self._resolve(uow, identity, link_user_id, name_hint)
        except IdentityAlreadyLinked:
            if link_user_id is not None:
                raise
            # Two first sign-ins of the same account raced; the other one created the user.
            uow.rollback()
            user = self._resolve(uow, identity, None, name_hint)
        if user.is_disabled:
            raise AccountDisabled("This account is disabled.")
        return user

    def finish(self, uow: UnitOfWork, user: User, amr: Sequence[str], client: ClientInfo) -> SignInOutcome:
        """Second factor or session, then commit."""
        if user.is_disabled:
            raise AccountDisabled("This account is disabled.")
        outcome: SignInOutcome
        if self._mfa.required(uow, user.id):
            outcome = self._mfa.challenge(uow, user, amr, client)
        else:
            outcome = SignedIn(tokens=self._sessions.start(uow, user, amr, client), user=user)
        uow.commit()
        return outcome

    def _resolve(
        self, uow: UnitOfWork, identity: VerifiedIdentity, link_user_id: uuid.UUID | None, name_hint: str | None
    ) -> User:
        now = self._clock.now()
        existing = uow.identities.find_by_provider_subject(identity.provider, identity.subject)
        if link_user_id is not None:
            owner = uow.users.get(link_user_id)
            if owner is None:
                raise SignInFailed("The account to link to no longer exists.")
            if existing is not None and existing.user_id != link_user_id:
                raise IdentityAlreadyLinked("This provider account is already linked to another user.")
            if existing is None:
                self._link(uow, identity, owner.id, now)
            else:
                uow.identities.record_login(existing.id, now)
            return owner
        if existing is not None:
            user = uow.users.get(existing.user_id)
            if user is None:  # pragma: no cover - a foreign key guarantees it
                raise SignInFailed("The account of this sign-in no longer exists.")
            uow.identities.record_login(existing.id, now)
            return user
        if identity.email_verified and identity.email is not None:
            candidate = uow.users.get_by_email(identity.email)
            if candidate is not None and may_link_by_email(identity, candidate):
                self._link(uow, identity, candidate.id, now)
                return candidate
        user = User(
            display_name=display_name_for(identity, name_hint),
            email=identity.email,
            email_verified=identity.email_verified,
            created_at=now,
        )
        uow.users.add(user)
        self._link(uow, identity, user.id, now)
        return user

    @staticmethod
    def _link(uow: UnitOfWork, identity: VerifiedIdentity, user_id: uuid.UUID, now: datetime) -> None:
        uow.identities.add(
            ExternalIdentity(
                provider=identity.provider,
                subject=identity.subject,
                user_id=user_id,
                email=identity.email,
                created_at=now,
                last_login_at=now,
            )
        )


class ListProviders:
    def __init__(self, providers: ProviderRegistry) -> None:
        self._providers = providers

    def __call__(self) -> list[ProviderInfo]:
        return list(self._providers.list())


class StartWebLogin:
    """Stores a pending login (state hash, nonce, PKCE verifier) and returns the provider's URL."""

    def __init__(
        self,
        providers: ProviderRegistry,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        public_base_url: str,
        return_to_allowlist: tuple[str, ...],
        ttl: timedelta = PENDING_LOGIN_TTL,
    ) -> None:
        self._providers = providers
        self._uow_factory = uow_factory
        self._clock = clock
        self._base = public_base_url.rstrip("/")
        self._allowlist = return_to_allowlist
        self._ttl = ttl

    def callback_url(self, provider: str) -> str:
        return f"{self._base}/api/auth/{provider}/callback"

    def __call__(
        self,
        provider_name: str,
        *,
        return_to: str | None = None,
        login_hint: str | None = None,
        link_user_id: uuid.UUID | None = None,
    ) -> str:
        provider = _provider_for(self._providers, provider_name, "web")
        if return_to is not None and not return_to_allowed(return_to, self._allowlist):
            raise InvalidReturnTo("return_to is not an allowed address for this app.")
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43..128
        redirect_uri = self.callback_url(provider.info.name)
        now = self._clock.now()
        with self._uow_factory() as uow:
            uow.pending_logins.delete_expired(now)
            uow.pending_logins.add(
                PendingLogin(
                    key_hash=login_key(state),
                    provider=provider.info.name,
                    nonce=nonce,
                    code_verifier=verifier,
                    redirect_uri=redirect_uri,
                    return_to=return_to,
                    link_user_id=link_user_id,
                    created_at=now,
                    expires_at=now + self._ttl,
                )
            )
            uow.commit()
        hint = login_hint.strip()[:320] if login_hint and login_hint.strip() else None
        return provider.authorization_url(
            AuthorizationRequest(
                redirect_uri=redirect_uri,
                state=state,
                nonce=nonce,
                code_challenge=pkce_challenge(verifier),
                login_hint=hint,
            )
        )


class StartLink:
    """An explicit link while signed in: a web login that, on return, attaches the provider's
    account to the caller instead of signing in someone else. The authorization URL is returned
    as JSON because a browser redirect cannot carry the bearer header."""

    def __init__(self, start: StartWebLogin, uow_factory: UnitOfWorkFactory) -> None:
        self._start = start
        self._uow_factory = uow_factory

    def __call__(self, user_id: uuid.UUID, provider_name: str, *, return_to: str | None = None) -> str:
        with self._uow_factory() as uow:
            user = uow.users.get(user_id)
        if user is None or user.is_disabled:
            raise AccountDisabled("This account cannot link providers.")
        return self._start(provider_name, return_to=return_to, link_user_id=user_id)


class FinishWebLogin:
    """The provider's callback: consume the pending login (once), redeem the code, sign in."""

    def __init__(
        self,
        providers: ProviderRegistry,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        complete: CompleteSignIn,
        *,
        handover_ttl: timedelta = HANDOVER_TTL,
    ) -> None:
        self._providers = providers
        self._uow_factory = uow_factory
        self._clock = clock
        self._complete = complete
        self._handover_ttl = handover_ttl

    def __call__(
        self,
        provider_name: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        client: ClientInfo,
        name_hint: str | None = None,
    ) -> SignInOutcome | HandoverRedirect:
        provider = _provider_for(self._providers, provider_name, "web")
        if not state or len(state) > 512:
            raise SignInFailed("The sign-in state is missing or invalid.", code="invalid_state")
        # Consumed in its own committed transaction: whatever happens next, this state is spent.
        with self._uow_factory() as uow:
            pending = uow.pending_logins.consume(login_key(state), self._clock.now())
            uow.commit()
        if pending is None or pending.provider != provider.info.name:
            raise SignInFailed("The sign-in state is unknown, expired or already used.", code="invalid_state")
        if error:
            raise SignInFailed("The provider did not complete the sign-in.", code="provider_error")
        if not code or len(code) > 4096:
            raise SignInFailed("The authorization code is missing.", code="invalid_code")
        identity = provider.exchange_code(
            code, code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri, nonce=pending.nonce
        )
        with self._uow_factory() as uow:
            if pending.return_to is None:
                return self._complete(
                    uow, identity, client, link_user_id=pending.link_user_id, name_hint=name_hint
                )
            user = self._complete.resolve_user(uow, identity, link_user_id=pending.link_user_id, name_hint=name_hint)
            handover = secrets.token_urlsafe(32)
            now = self._clock.now()
            uow.pending_logins.add(
                PendingLogin(
                    key_hash=handover_key(handover),
                    provider=provider.info.name,
                    nonce="",
                    code_verifier="",
                    redirect_uri=pending.return_to,
                    return_to=pending.return_to,
                    link_user_id=user.id,
                    created_at=now,
                    expires_at=now + self._handover_ttl,
                )
            )
            uow.commit()
        separator = "&" if "?" in pending.return_to else "?"
        return HandoverRedirect(f"{pending.return_to}{separator}{urlencode({'code': handover})}")


class RedeemHandover:
    """The app at ``return_to`` exchanges the handover code for the sign-in result (once)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, complete: CompleteSignIn) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._complete = complete

    def __call__(self, code: str, client: ClientInfo) -> SignInOutcome:
        with self._uow_factory() as uow:
            pending = uow.pending_logins.consume(handover_key(code), self._clock.now())
            uow.commit()
        if pending is None or pending.link_user_id is None:
            raise SignInFailed("The sign-in code is unknown, expired or already used.", code="invalid_code")
        with self._uow_factory() as uow:
            user = uow.users.get(pending.link_user_id)
            if user is None:
                raise SignInFailed("The sign-in code is unknown, expired or already used.", code="invalid_code")
            return self._complete.finish(uow, user, [f"oidc:{pending.provider}"], client)


class SignInWithIdToken:
    """The native flow: the client posts the provider's ID token and the raw nonce it generated."""

    def __init__(self, providers: ProviderRegistry, uow_factory: UnitOfWorkFactory, complete: CompleteSignIn) -> None:
        self._providers = providers
        self._uow_factory = uow_factory
        self._complete = complete

    def __call__(
        self, provider_name: str, *, id_token: str, nonce: str, client: ClientInfo, name_hint: str | None = None
    ) -> SignInOutcome:
        provider = _provider_for(self._providers, provider_name, "native")
        identity = provider.verify_id_token(id_token, nonce=nonce)
        with self._uow_factory() as uow:
            return self._complete(uow, identity, client, name_hint=name_hint)
