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

    # --- identity: our sessions and refresh tokens (tokens area) ---

    # --- identity: sign-in providers (providers area) ---

    # --- identity: two-factor authentication and rate limits (mfa area) ---

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
    # --- identity: our sessions and refresh tokens (tokens area) ---
    # --- identity: sign-in providers (providers area) ---
    # --- identity: two-factor authentication and rate limits (mfa area) ---
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
