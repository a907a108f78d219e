"""Application settings, read from environment variables (Function App settings on Azure).

Every setting the app reads is declared here, documented in the README and listed with a safe
local value in ``local.settings.json.example``. A missing or malformed value fails at start-up
with :class:`SettingsError` naming the variable, instead of failing on first use in production.

``pydantic_settings`` costs ~300 ms to import, so this module is only imported by the
composition root (``bootstrap.py``) when the first request needs it, never at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql", "mssql")
# devhost's Web PubSub emulator; the key is a fixed, public local development key (never a secret).
LOCAL_WEBPUBSUB_CONNECTION_STRING = (
    "Endpoint=http://localhost:8080;AccessKey=dGFnYXJlbGEtbG9jYWwtd2VicHVic3ViLWRldi1rZXk=;Version=1.0;"
)


def parse_webpubsub_connection_string(value: str) -> tuple[str, str]:
    """(endpoint, access key) the way the SDKs read it: keys case-insensitive, ``Port`` appended."""
    values: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, item = part.partition("=")
        if sep:
            values[key.strip().lower()] = item.strip()
    endpoint, access_key = values.get("endpoint", "").rstrip("/"), values.get("accesskey", "")
    if not endpoint.startswith(("http://", "https://")) or not access_key:
        raise ValueError("must look like Endpoint=https://<name>.webpubsub.azure.com;AccessKey=<key>;Version=1.0;")
    if values.get("port", "").isdigit():
        endpoint = f"{endpoint}:{values['port']}"
    return endpoint, access_key


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names every offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    app_environment: Literal["local", "test", "production"] = Field(
        default="local",
        description="Where the app runs. 'production' forbids development-only features.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    database_url: str = Field(
        default="sqlite:///.data/tagarela.db",
        description="SQLAlchemy URL: sqlite:///..., postgresql+psycopg://..., mssql+pyodbc://...",
    )
    database_entra_auth: bool = Field(
        default=False,
        description="Azure SQL only: authenticate with a Microsoft Entra token from DefaultAzureCredential.",
    )
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    database_echo: bool = False

    storage_connection: str = Field(
        default="UseDevelopmentStorage=true",
        validation_alias=AliasChoices("AzureWebJobsStorage", "AZUREWEBJOBSSTORAGE", "azurewebjobsstorage"),
        description="Storage account used by the Functions runtime and Durable Functions.",
    )

    storage_account_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "AzureWebJobsStorage__accountName", "AZUREWEBJOBSSTORAGE__ACCOUNTNAME", "azurewebjobsstorage__accountname"
        ),
        description="Identity-based storage connection (managed identity); wins over AzureWebJobsStorage.",
    )

    health_check_timeout_seconds: float = Field(default=3.0, gt=0, le=30)

    # Identity: our access tokens, refresh tokens and signing keys.
    jwt_issuer: str = Field(default="tagarela", min_length=1, max_length=256, description="'iss' of our access tokens.")
    jwt_audience: str = Field(default="tagarela-api", min_length=1, max_length=256, description="'aud' of our tokens.")
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_absolute_ttl_seconds: int = Field(default=30 * 86400, ge=3600, le=365 * 86400)
    refresh_token_idle_ttl_seconds: int = Field(default=7 * 86400, ge=300, le=365 * 86400)
    refresh_token_reuse_grace_seconds: int = Field(default=20, ge=0, le=60)
    # JSON list of {"kid", "private_key_pem", "activates_at"?, "retires_at"?}; a secret: never in repr.
    jwt_signing_keys: str | None = Field(default=None, repr=False)
    jwt_key_directory: str = Field(default=".data/keys", description="Dev keys, made when JWT_SIGNING_KEYS is unset.")
    jwt_key_publish_lead_seconds: int = Field(default=3600, ge=600, le=7 * 86400)
    jwt_dev_key_rotation_days: int = Field(default=30, ge=1, le=365)

    @field_validator("jwt_signing_keys")
    @classmethod
    def _signing_keys_shape(cls, value: str | None) -> str | None:
        """Shape only (no cryptography at cold start); the PEM is parsed by infra/tokens on first use."""
        import json

        if value is None or not value.strip():
            return None
        try:
            entries = json.loads(value)
        except ValueError:
            raise ValueError("must be a JSON list of signing keys") from None
        if not isinstance(entries, list) or not entries:
            raise ValueError("must be a non-empty JSON list of signing keys")
        kids = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or not entry["kid"].strip():
                raise ValueError("every key needs a 'kid' string")
            pem = entry.get("private_key_pem")
            if not isinstance(pem, str) or "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
                raise ValueError(f"key {entry['kid'][:64]!r}: 'private_key_pem' must be a PEM private key")
            kids.append(entry["kid"])
        if len(set(kids)) != len(kids):
            raise ValueError("every 'kid' must be unique")
        return value

    # Identity: sign-in providers (Google, Apple, Microsoft, generic OIDC, dev).
    public_base_url: str = Field(
        default="http://localhost:7071",
        description="This app's public origin; OIDC redirect URIs are <it>/api/auth/<provider>/callback.",
    )
    auth_return_to_allowlist: str = Field(
        default="", description="Comma-separated URL prefixes a web sign-in may return to (return_to)."
    )
    oidc_http_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    google_client_id: str | None = None
    google_client_secret: str | None = Field(default=None, repr=False)
    google_issuer: str = "https://accounts.google.com"
    google_native_client_ids: str = Field(default="", description="Comma-separated extra audiences (Android/iOS).")
    apple_client_id: str | None = Field(default=None, description="Apple Services ID (web flow audience).")
    apple_team_id: str | None = None
    apple_key_id: str | None = None
    apple_private_key: str | None = Field(default=None, repr=False, description="The .p8 key's PEM text.")
    apple_issuer: str = "https://appleid.apple.com"
    apple_native_client_ids: str = Field(default="", description="Comma-separated iOS bundle ids (native aud).")
    microsoft_client_id: str | None = None
    microsoft_client_secret: str | None = Field(default=None, repr=False)
    microsoft_authority: str = "https://login.microsoftonline.com/common"
    microsoft_native_client_ids: str = ""
    oidc_providers: str = Field(
        default="[]",
        repr=False,
        description='JSON list of generic providers: {"name","display_name","issuer","client_id","client_secret"?'
        ',"scopes"?,"native_client_ids"?,"algorithms"?,"trust_email_verified"?}',
    )
    dev_oidc_issuer: str | None = Field(
        default=None, description="Issuer of the local development provider; never in production."
    )
    dev_oidc_client_id: str = "tagarela-dev"

    @field_validator("public_base_url", "google_issuer", "apple_issuer", "microsoft_authority", "dev_oidc_issuer")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("oidc_providers")
    @classmethod
    def _generic_providers_shape(cls, value: str) -> str:
        cls.parse_generic_oidc_providers(value)  # raises ValueError naming the problem (never a secret)
        return value

    @field_validator("apple_private_key")
    @classmethod
    def _apple_key_shape(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and "PRIVATE KEY-----" not in value:
            raise ValueError("must be the PEM text of the .p8 key")
        return value or None

    @staticmethod
    def parse_generic_oidc_providers(value: str) -> list[dict[str, object]]:
        import json
        import re

        try:
            entries = json.loads(value or "[]")
        except ValueError:
            raise ValueError("must be a JSON list of providers") from None
        if not isinstance(entries, list):
            raise ValueError("must be a JSON list of providers")
        reserved = {"google", "apple", "microsoft", "dev", "providers", "2fa", "handover", "refresh", "logout"}
        names: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError("every provider must be a JSON object")
            name = entry.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]{1,31}", name) or name in reserved:
                raise ValueError("every provider needs a 'name' of 2-32 lower-case letters/digits/- (not built-in)")
            if name in names:
                raise ValueError(f"provider {name!r} is declared twice")
            names.add(name)
            for required in ("issuer", "client_id"):
                if not isinstance(entry.get(required), str) or not entry[required].strip():
                    raise ValueError(f"provider {name!r}: '{required}' is required")
            if not str(entry["issuer"]).startswith(("https://", "http://")):
                raise ValueError(f"provider {name!r}: 'issuer' must be an http(s) URL")
            algorithms = entry.get("algorithms", ["RS256"])
            if not isinstance(algorithms, list) or any(
                not isinstance(a, str) or a.upper().startswith("HS") or a.lower() == "none" for a in algorithms
            ):
                raise ValueError(f"provider {name!r}: 'algorithms' must list asymmetric algorithms only")
        return entries

    @property
    def return_to_allowlist(self) -> tuple[str, ...]:
        return tuple(entry.strip() for entry in self.auth_return_to_allowlist.split(",") if entry.strip())

    @property
    def apple_configured(self) -> bool:
        return bool(self.apple_client_id and self.apple_team_id and self.apple_key_id and self.apple_private_key)

    # Identity: two-factor authentication.
    # AES-256-GCM key of TOTP secrets at rest: "kid:base64" or "base64" of 32 bytes; a secret: never in repr.
    mfa_encryption_key: str | None = Field(default=None, repr=False)
    # Older keys still accepted for decryption (comma-separated, same format), during a rotation.
    mfa_previous_encryption_keys: str | None = Field(default=None, repr=False)
    mfa_key_dir: str = Field(default=".data/keys", description="Local key file, made when MFA_ENCRYPTION_KEY is unset.")
    mfa_issuer: str = Field(default="Tagarela", min_length=1, max_length=64, description="Name shown by the 2FA app.")
    mfa_lockout_threshold: int = Field(default=5, ge=1, le=100, description="Wrong codes in a row before a lock.")
    mfa_lockout_base_seconds: int = Field(default=60, ge=1, le=86400, description="First lock; doubles after.")
    mfa_lockout_max_seconds: int = Field(default=3600, ge=1, le=7 * 86400, description="Longest lock.")

    @field_validator("mfa_encryption_key", "mfa_previous_encryption_keys")
    @classmethod
    def _mfa_key_shape(cls, value: str | None) -> str | None:
        """base64 of exactly 32 bytes with an optional 'kid:' prefix; errors never echo the key."""
        import base64
        import binascii
        import re

        if value is None or not value.strip():
            return None
        for position, spec in enumerate((s for s in value.split(",") if s.strip()), start=1):
            kid, _, encoded = spec.strip().rpartition(":")
            try:
                size = len(base64.b64decode(encoded.strip(), validate=True))
            except (binascii.Error, ValueError):
                raise ValueError(f"key #{position} is not valid base64 of 32 random bytes") from None
            if size != 32:
                raise ValueError(f"key #{position} must be base64 of exactly 32 bytes (AES-256), got {size}")
            if kid and not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", kid.strip()):
                raise ValueError(f"key #{position}: the key id must be 1-32 letters, digits, '_', '.' or '-'")
        return value

    # Real-time: Azure Web PubSub (devhost's emulator locally).
    webpubsub_connection_string: str = Field(
        default=LOCAL_WEBPUBSUB_CONNECTION_STRING,
        repr=False,
        validation_alias=AliasChoices(
            "WebPubSubConnectionString", "WEBPUBSUBCONNECTIONSTRING", "webpubsubconnectionstring"
        ),
        description="Endpoint=...;AccessKey=...;Version=1.0; (the name the Functions extension uses).",
    )
    webpubsub_endpoint: str | None = Field(
        default=None, description="Identity-based Web PubSub (DefaultAzureCredential); wins over the connection string."
    )
    webpubsub_hub: str = Field(default="chat", pattern=r"^[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}$")
    webpubsub_client_token_minutes: int = Field(default=15, ge=1, le=60, description="Lifetime of negotiated URLs.")
    # Upstream signature keys (primary,secondary); default: the connection string's AccessKey.
    webpubsub_signature_keys: str | None = Field(default=None, repr=False)
    webpubsub_allowed_origins: str = Field(
        default="", description="Comma-separated WebHook-Request-Origin hosts accepted; default: the endpoint's host."
    )

    @field_validator("webpubsub_connection_string")
    @classmethod
    def _webpubsub_connection_string_shape(cls, value: str) -> str:
        parse_webpubsub_connection_string(value)  # raises ValueError without echoing the key
        return value

    @field_validator("webpubsub_endpoint")
    @classmethod
    def _webpubsub_endpoint_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.strip().rstrip("/")

    @property
    def webpubsub_target_endpoint(self) -> str:
        """The service endpoint the app talks to (identity mode wins over the connection string)."""
        return self.webpubsub_endpoint or parse_webpubsub_connection_string(self.webpubsub_connection_string)[0]

    @property
    def webpubsub_signature_key_list(self) -> tuple[str, ...]:
        """Keys that may sign upstream events: the primary and secondary, or the connection string's key."""
        explicit = tuple(k.strip() for k in (self.webpubsub_signature_keys or "").split(",") if k.strip())
        if explicit:
            return explicit
        if self.webpubsub_endpoint:
            return ()
        return (parse_webpubsub_connection_string(self.webpubsub_connection_string)[1],)

    @property
    def webpubsub_allowed_origin_hosts(self) -> tuple[str, ...]:
        """Hosts (no port) accepted in WebHook-Request-Origin; default: the endpoint's host."""
        from urllib.parse import urlsplit

        listed = tuple(o.strip().lower() for o in self.webpubsub_allowed_origins.split(",") if o.strip())
        return listed or ((urlsplit(self.webpubsub_target_endpoint).hostname or "").lower(),)

    # Chat: sessions and messages.
    chat_message_max_chars: int = Field(default=4000, ge=1, le=16000, description="Longest message text.")
    chat_send_rate_limit: int = Field(
        default=30, ge=0, le=100_000, description="Messages per user per window (REST + WebSocket); 0: no limit."
    )
    chat_send_rate_window_seconds: int = Field(default=10, ge=1, le=3600)
    chat_page_size_default: int = Field(default=50, ge=1, le=200, description="Messages/sessions per page.")
    chat_page_size_max: int = Field(default=100, ge=1, le=199, description="Largest page a client may ask for.")
    # Message search.
    search_page_size_default: int = Field(default=20, ge=1, le=100, description="Search results per page.")
    search_page_size_max: int = Field(default=50, ge=1, le=100, description="Largest search page a client may ask.")
    search_mssql_top_n: int = Field(
        default=2000, ge=100, le=100_000, description="Azure SQL: CONTAINSTABLE top-N ranked before filtering."
    )

    @field_validator("database_url")
    @classmethod
    def _known_dialect(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SUPPORTED_DATABASE_SCHEMES)}")
        return value

    @property
    def storage_target(self) -> str:
        """A connection string, or the account's blob URI when the connection is identity-based."""
        if self.storage_account_name:
            return f"https://{self.storage_account_name}.blob.core.windows.net"
        return self.storage_connection

    @property
    def database_dialect(self) -> str:
        return self.database_url.split(":", 1)[0].split("+", 1)[0]


def _env_name(field_name: str) -> str:
    field = Settings.model_fields.get(field_name)
    alias = getattr(field, "validation_alias", None) if field else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field_name.upper()


def _webpubsub_production_problems(settings: Settings) -> list[str]:
    """Web PubSub must be a real https service, and upstream events must be verifiable."""
    from ipaddress import ip_address
    from urllib.parse import urlsplit

    problems = []
    endpoint = settings.webpubsub_target_endpoint
    host = (urlsplit(endpoint).hostname or "").lower()
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not endpoint.startswith("https://") or loopback:
        problems.append(
            "WEBPUBSUB_ENDPOINT: required in production as the service's https:// endpoint "
            "(or WebPubSubConnectionString with an https:// Endpoint); the local emulator is for local runs"
        )
    if not settings.webpubsub_signature_key_list:
        problems.append(
            "WEBPUBSUB_SIGNATURE_KEYS: required with WEBPUBSUB_ENDPOINT (the service's primary,secondary access keys) "
            "so upstream events can be verified"
        )
    return problems


def _production_problems(settings: Settings) -> list[str]:
    """Local defaults that must never reach Azure: each one is a setting production must provide."""
    if settings.app_environment != "production":
        return []
    problems = []
    if "database_url" not in settings.model_fields_set or settings.database_dialect == "sqlite":
        problems.append("DATABASE_URL: required in production (Azure SQL); the SQLite default is for local runs")
    if settings.storage_account_name is None and "usedevelopmentstorage" in settings.storage_connection.lower():
        problems.append(
            "AzureWebJobsStorage__accountName: required in production (or AzureWebJobsStorage); "
            "UseDevelopmentStorage=true is the local emulator"
        )
    # Identity: our access tokens, refresh tokens and signing keys.
    if settings.jwt_signing_keys is None:
        problems.append(
            "JWT_SIGNING_KEYS: required in production (a JSON list of ES256 keys, e.g. a Key Vault reference); "
            "keys generated into JWT_KEY_DIRECTORY are for local runs"
        )
    # Identity: sign-in providers (Google, Apple, Microsoft, generic OIDC, dev).
    if settings.dev_oidc_issuer:
        problems.append(
            "DEV_OIDC_ISSUER: must not be set in production (the dev sign-in provider lets anyone sign in as anyone)"
        )
    if not settings.public_base_url.startswith("https://") or "localhost" in settings.public_base_url:
        problems.append("PUBLIC_BASE_URL: required in production as this app's https:// origin (OIDC redirect URIs)")
    if any(not entry.startswith("https://") for entry in settings.return_to_allowlist):
        problems.append("AUTH_RETURN_TO_ALLOWLIST: only https:// addresses in production")
    # Real-time: Azure Web PubSub.
    problems.extend(_webpubsub_production_problems(settings))
    # Identity: two-factor authentication.
    if settings.mfa_encryption_key is None:
        problems.append(
            "MFA_ENCRYPTION_KEY: required in production (base64 of 32 random bytes, e.g. a Key Vault reference); "
            "the key generated into MFA_KEY_DIR is for local runs"
        )
    return problems


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: the process environment)."""
    try:
        if environ is None:
            settings = Settings()
        else:
            # An explicit mapping (tests, devhost) is matched case-insensitively, like the environment.
            settings = Settings.model_validate({k.lower(): v for k, v in environ.items()})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = _env_name(str(error["loc"][0])) if error["loc"] else "?"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("Invalid settings: " + "; ".join(problems)) from None
    problems = _production_problems(settings)
    if problems:
        raise SettingsError("Invalid settings: " + "; ".join(problems))
    return settings
