"""OpenID Connect providers: one class for Google, Apple, generic OIDC and dev, one for Microsoft.

They differ only in configuration (``ProviderConfig``): issuer and discovery, algorithms, which
audiences a native token may carry, whether ``email_verified`` can be trusted, Apple's
``form_post`` and client-secret JWT, Microsoft's tenant issuer template — and Microsoft's code
flow goes through ``msal``.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from application.identity.external_providers import AuthorizationRequest, Flow, ProviderInfo
from domain.identity import SignInFailed, VerifiedIdentity
from infra.identity.discovery import DiscoveryCache, ProviderMetadata
from infra.identity.http import ProviderRejected, get_json, post_form
from infra.identity.id_token import IdTokenPolicy, IdTokenVerifier
from infra.identity.jwks import JwksCache

log = logging.getLogger("tagarela.identity")


def _as_bool(value: object) -> bool:
    """Apple sends booleans as the strings "true"/"false"."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    display_name: str
    client_id: str
    discovery_url: str
    client_secret: Callable[[], str | None] = lambda: None
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    algorithms: tuple[str, ...] = ("RS256",)
    flows: tuple[Flow, ...] = ("web", "native")
    native_audiences: tuple[str, ...] = ()  # extra aud values a native token may carry (iOS bundle id, ...)
    extra_issuers: tuple[str, ...] = ()  # e.g. Google's "accounts.google.com" without the scheme
    trust_email_verified: bool = True  # False for Microsoft: its email claim is not verified
    allow_hashed_nonce: bool = False
    authorize_params: dict[str, str] = field(default_factory=dict)  # Apple: response_mode=form_post
    tenant_allowed: Callable[[str], bool] | None = None
    timeout_seconds: float = 5.0


class OidcProvider:
    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._discovery = DiscoveryCache(config.discovery_url, timeout=config.timeout_seconds)
        self.jwks = JwksCache(lambda: self.metadata.jwks_uri, lambda url: get_json(url, timeout=config.timeout_seconds))
        self._web = IdTokenVerifier(lambda: self._policy(native=False), self.jwks)
        self._native = IdTokenVerifier(lambda: self._policy(native=True), self.jwks)

    @property
    def info(self) -> ProviderInfo:
        return ProviderInfo(self.config.name, self.config.display_name, self.config.flows)

    @property
    def metadata(self) -> ProviderMetadata:
        return self._discovery.get()

    def _policy(self, *, native: bool) -> IdTokenPolicy:
        c = self.config
        return IdTokenPolicy(
            provider=c.name,
            issuers=(self.metadata.issuer, *c.extra_issuers),
            audiences=(c.client_id, *c.native_audiences) if native else (c.client_id,),
            algorithms=c.algorithms,
            allow_hashed_nonce=c.allow_hashed_nonce and native,
            tenant_allowed=c.tenant_allowed,
        )

    # -- web flow

    def authorization_url(self, request: AuthorizationRequest) -> str:
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": request.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.code_challenge,
            "code_challenge_method": "S256",
            **self.config.authorize_params,
        }
        if request.login_hint:
            params["login_hint"] = request.login_hint
        return f"{self._authorization_endpoint()}?{urlencode(params)}"

    def _authorization_endpoint(self) -> str:
        return self.metadata.authorization_endpoint

    def exchange_code(self, code: str, *, code_verifier: str, redirect_uri: str, nonce: str) -> VerifiedIdentity:
        id_token = self._redeem(code, code_verifier=code_verifier, redirect_uri=redirect_uri, nonce=nonce)
        return self.identity_from(self._web.verify(id_token, nonce=nonce))

    def _redeem(self, code: str, *, code_verifier: str, redirect_uri: str, nonce: str) -> str:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.config.client_id, "code_verifier": code_verifier}
        secret = self.config.client_secret()
        if secret:
            form["client_secret"] = secret
        try:
            answer = post_form(self.metadata.token_endpoint, form, timeout=self.config.timeout_seconds)
        except ProviderRejected as rejected:
            log.info("%s rejected the authorization code: %s", self.config.name, rejected.error)
            raise SignInFailed("The provider rejected the authorization code.", code="invalid_code") from None
        id_token = answer.get("id_token") if isinstance(answer, dict) else None
        if not isinstance(id_token, str):
            raise SignInFailed("The provider returned no ID token.")
        return id_token

    # -- native flow

    def verify_id_token(self, id_token: str, *, nonce: str) -> VerifiedIdentity:
        return self.identity_from(self._native.verify(id_token, nonce=nonce))

    def identity_from(self, claims: dict[str, Any]) -> VerifiedIdentity:
        name = claims.get("name")
        if not isinstance(name, str) or not name.strip():
            parts = [claims.get("given_name"), claims.get("family_name")]
            name = " ".join(p for p in parts if isinstance(p, str) and p.strip()) or None
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email or len(email) > 320:
            email = None
        return VerifiedIdentity(
            provider=self.config.name,
            subject=str(claims["sub"]),
            email=email,
            email_verified=self.config.trust_email_verified and _as_bool(claims.get("email_verified")),
            name=name,
            is_private_email=_as_bool(claims.get("is_private_email")),
        )


class _NoTokenCache:
    """msal keeps every token it obtains in its cache; we only want the ID token, once."""

    @staticmethod
    def build() -> Any:
        import msal

        class NoCache(msal.TokenCache):  # type: ignore[misc]
            def add(self, event: Any, **kwargs: Any) -> None:
                return None

        return NoCache()


class MicrosoftProvider(OidcProvider):
    """Entra ID and personal Microsoft accounts: msal builds the request and redeems the code;
    the ID token is then verified like any other (msal does not check its signature)."""

    def __init__(self, config: ProviderConfig, *, authority: str, entra: bool, http_client: Any = None) -> None:
        super().__init__(config)
        self._authority = authority
        self._http_client = http_client  # tests hand in a transport that reaches a local provider
        self._entra = entra  # a login.microsoftonline.com authority (else: any OIDC issuer, e.g. a local one)
        self._app: Any = None
        self._lock = threading.Lock()

    def _msal(self) -> Any:
        with self._lock:
            if self._app is None:
                import msal

                where: dict[str, Any] = {"authority": self._authority} if self._entra else {
                    "oidc_authority": self._authority}
                if self._http_client is not None:
                    where["http_client"] = self._http_client
                self._app = msal.ConfidentialClientApplication(
                    self.config.client_id, client_credential=self.config.client_secret(),
                    token_cache=_NoTokenCache.build(), timeout=self.config.timeout_seconds, **where)
            return self._app

    def _authorization_endpoint(self) -> str:
        # msal resolves the authority (Entra tenant discovery); the request itself is ours, because
        # msal's request builder has no PKCE parameters and its flow API makes its own state/nonce.
        return str(self._msal().authority.authorization_endpoint)

    def _redeem(self, code: str, *, code_verifier: str, redirect_uri: str, nonce: str) -> str:
        try:
            with warnings.catch_warnings():  # msal prefers its flow API, which cannot carry our PKCE/nonce
                warnings.simplefilter("ignore", DeprecationWarning)
                result = self._msal().acquire_token_by_authorization_code(
                    code, [], redirect_uri=redirect_uri, data={"code_verifier": code_verifier})
        except Exception as error:  # msal raises on malformed answers; the text may quote them
            log.info("microsoft code redemption failed: %s", type(error).__name__)
            raise SignInFailed("The provider rejected the authorization code.", code="invalid_code") from None
        id_token = result.get("id_token") if isinstance(result, dict) else None
        if not isinstance(id_token, str):
            log.info("%s rejected the authorization code: %s", self.config.name,
                     str(result.get("error"))[:64] if isinstance(result, dict) else "?")
            raise SignInFailed("The provider rejected the authorization code.", code="invalid_code")
        return id_token


MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts


def microsoft_tenant_rule(tenant: str) -> Callable[[str], bool]:
    """Which ``tid`` values the configured authority's tenant segment admits."""
    tenant = tenant.lower()
    if tenant == "common":
        return lambda tid: True
    if tenant == "consumers":
        return lambda tid: tid == MSA_TENANT_ID
    if tenant == "organizations":
        return lambda tid: tid != MSA_TENANT_ID
    return lambda tid: tid == tenant
