"""How interface code reaches the use cases without importing the composition root.

The layer rule forbids ``interface`` from importing ``bootstrap`` (the root sits above it), so
``function_app.py`` hands a provider to :func:`provide` when it registers the blueprints. The
provider is called on first use, which keeps SQLAlchemy, pydantic-settings and the Azure SDKs out
of the cold-start import path. Tests hand in a container of fakes the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from application.health import CheckHealth


class Services(Protocol):
    """What the interface layer needs from the composition root."""

    @property
    def check_health(self) -> CheckHealth: ...

    # --- identity: our sessions and refresh tokens (tokens area) ---

    # --- identity: sign-in providers (providers area) ---

    # --- identity: two-factor authentication and rate limits (mfa area) ---


_provider: Callable[[], Services] | None = None


def provide(provider: Callable[[], Services]) -> None:
    global _provider
    _provider = provider


def services() -> Services:
    if _provider is None:
        raise RuntimeError("interface.dependencies.provide() was not called by function_app.py")
    return _provider()
