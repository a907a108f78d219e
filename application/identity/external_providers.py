"""Port for the external sign-in providers (Google, Apple, Microsoft, generic OIDC, dev).

The use cases only see this Protocol; ``infra/identity`` implements it with PyJWT and msal. Every
method that returns a :class:`VerifiedIdentity` has checked the ID token completely (signature
through the provider's JWKS, algorithm, ``iss``, ``aud``, times, ``nonce``) or raised
``SignInFailed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from domain.identity import VerifiedIdentity

Flow = Literal["web", "native"]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What our redirect to the provider carries; PKCE is always S256."""

    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    login_hint: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    name: str
    display_name: str
    flows: tuple[Flow, ...]


class IdentityProvider(Protocol):
    @property
    def info(self) -> ProviderInfo: ...

    def authorization_url(self, request: AuthorizationRequest) -> str: ...

    def exchange_code(self, code: str, *, code_verifier: str, redirect_uri: str, nonce: str) -> VerifiedIdentity:
        """Redeems the authorization code and verifies the ID token against the stored nonce."""
        ...

    def verify_id_token(self, id_token: str, *, nonce: str) -> VerifiedIdentity:
        """The native flow: an ID token the client got from the platform SDK, with the raw nonce
        the client generated (the token may carry it raw or as its SHA-256, as Apple's does)."""
        ...


class ProviderRegistry(Protocol):
    def get(self, name: str) -> IdentityProvider:
        """Raises ``UnknownProvider`` for a provider that is not configured."""
        ...

    def list(self) -> Sequence[ProviderInfo]: ...
