"""The configured providers, built from settings: an unconfigured provider simply does not exist."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from application.identity.external_providers import IdentityProvider, ProviderInfo
from application.ports.clock import Clock
from domain.identity import UnknownProvider
from infra.identity.apple import AppleClientSecret
from infra.identity.discovery import discovery_url
from infra.identity.providers import MicrosoftProvider, OidcProvider, ProviderConfig, microsoft_tenant_rule
from shared.settings import Settings

ENTRA_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn")


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


class StaticProviderRegistry:
    def __init__(self, providers: Sequence[IdentityProvider]) -> None:
        self._providers = {p.info.name: p for p in providers}

    def get(self, name: str) -> IdentityProvider:
        provider = self._providers.get((name or "").strip().lower())
        if provider is None:
            raise UnknownProvider("This sign-in provider is not available.")
        return provider

    def list(self) -> Sequence[ProviderInfo]:
        return [p.info for p in self._providers.values()]


def _secret(value: str | None):  # type: ignore[no-untyped-def]
    return lambda: value or None


def build_providers(settings: Settings, clock: Clock) -> list[IdentityProvider]:
    s, timeout = settings, settings.oidc_http_timeout_seconds
    providers: list[IdentityProvider] = []
    if s.google_client_id:
        issuer = s.google_issuer or "https://accounts.google.com"
        bare = (issuer.split("://", 1)[1],) if issuer == "https://accounts.google.com" else ()
        providers.append(OidcProvider(ProviderConfig(
            name="google", display_name="Google", client_id=s.google_client_id, discovery_url=discovery_url(issuer),
            client_secret=_secret(s.google_client_secret), native_audiences=_csv(s.google_native_client_ids),
            extra_issuers=bare, timeout_seconds=timeout)))
    if s.apple_configured:
        assert s.apple_client_id and s.apple_team_id and s.apple_key_id and s.apple_private_key
        secret = AppleClientSecret(team_id=s.apple_team_id, key_id=s.apple_key_id, client_id=s.apple_client_id,
                                   private_key_pem=s.apple_private_key, clock=clock)
        providers.append(OidcProvider(ProviderConfig(
            name="apple", display_name="Apple", client_id=s.apple_client_id,
            discovery_url=discovery_url(s.apple_issuer or "https://appleid.apple.com"), client_secret=secret,
            scopes=("openid", "name", "email"), algorithms=("RS256",), native_audiences=_csv(s.apple_native_client_ids),
            allow_hashed_nonce=True, authorize_params={"response_mode": "form_post"}, timeout_seconds=timeout)))
    if s.microsoft_client_id:
        authority = s.microsoft_authority or "https://login.microsoftonline.com/common"
        parts = urlsplit(authority)
        entra = parts.hostname in ENTRA_HOSTS
        tenant = parts.path.strip("/").split("/", 1)[0] if entra else ""
        doc = f"{authority}/v2.0/.well-known/openid-configuration" if entra else discovery_url(authority)
        providers.append(MicrosoftProvider(ProviderConfig(
            name="microsoft", display_name="Microsoft", client_id=s.microsoft_client_id, discovery_url=doc,
            client_secret=_secret(s.microsoft_client_secret), native_audiences=_csv(s.microsoft_native_client_ids),
            trust_email_verified=False, tenant_allowed=microsoft_tenant_rule(tenant) if tenant else None,
            timeout_seconds=timeout), authority=authority, entra=entra))
    for entry in Settings.parse_generic_oidc_providers(s.oidc_providers):
        providers.append(OidcProvider(ProviderConfig(
            name=str(entry["name"]), display_name=str(entry.get("display_name") or entry["name"]),
            client_id=str(entry["client_id"]), discovery_url=discovery_url(str(entry["issuer"])),
            client_secret=_secret(str(entry["client_secret"]) if entry.get("client_secret") else None),
            scopes=tuple(entry.get("scopes") or ("openid", "email", "profile")),  # type: ignore[arg-type]
            algorithms=tuple(entry.get("algorithms") or ("RS256",)),  # type: ignore[arg-type]
            native_audiences=tuple(entry.get("native_client_ids") or ()),  # type: ignore[arg-type]
            trust_email_verified=bool(entry.get("trust_email_verified", True)), timeout_seconds=timeout)))
    if s.dev_oidc_issuer:
        providers.append(OidcProvider(ProviderConfig(
            name="dev", display_name="Development sign-in (local)", client_id=s.dev_oidc_client_id,
            discovery_url=discovery_url(s.dev_oidc_issuer), timeout_seconds=timeout)))
    return providers


def build_registry(settings: Settings, clock: Clock) -> StaticProviderRegistry:
    return StaticProviderRegistry(build_providers(settings, clock))
