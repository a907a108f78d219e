"""Composition root: builds every adapter from settings, once per worker process.

Azure Functions keeps a Python worker process alive across invocations, so adapters are built
on the first invocation that needs them (not at import: cold start) and reused afterwards.
Settings are the exception: ``function_app.py`` validates them at import (~90 ms), so a bad or
missing setting stops the app at start with a message naming the variable, instead of failing
the first request in production.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from shared.logging_setup import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from application.health import CheckHealth
    from application.ports.unit_of_work import UnitOfWorkFactory
    from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Holds the process-wide adapters and hands out use cases.

    Properties are built on first access so an invocation only pays for what it uses (the
    health endpoint never imports LangChain, for instance).
    """

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        from infra.sql.engine import create_engine_for

        s = self.settings
        return create_engine_for(
            s.database_url,
            entra_auth=s.database_entra_auth,
            pool_size=s.database_pool_size,
            pool_timeout=s.database_pool_timeout_seconds,
            echo=s.database_echo,
        )

    @cached_property
    def check_health(self) -> CheckHealth:
        from application.health import CheckHealth
        from infra.blob.health import StorageProbe
        from infra.sql.health import DatabaseProbe

        timeout = self.settings.health_check_timeout_seconds
        probes = [
            DatabaseProbe(self.engine),
            StorageProbe(self.settings.storage_target, timeout_seconds=timeout),
        ]
        return CheckHealth(probes, timeout_seconds=timeout)

    @cached_property
    def uow_factory(self) -> UnitOfWorkFactory:
        from infra.sql.unit_of_work import make_uow_factory

        return make_uow_factory(self.engine)

    # --- identity: our sessions and refresh tokens (tokens area) ---

    # --- identity: sign-in providers (providers area) ---

    # --- identity: two-factor authentication and rate limits (mfa area) ---


_settings: Settings | None = None
_container: Container | None = None
_lock = threading.Lock()


def load_app_settings() -> Settings:
    """Validates the settings once per process; raises ``SettingsError`` naming bad variables."""
    global _settings
    if _settings is None:
        from shared.settings import SettingsError, load_settings

        try:
            _settings = load_settings()
        except SettingsError as error:
            log.critical("the app cannot start: %s", error)
            raise
        configure_logging(_settings.log_level)
    return _settings


def get_container() -> Container:
    """The process-wide container (thread-safe, built once)."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = Container(settings=load_app_settings())
    return _container


def reset_container() -> None:
    """Forget settings and adapters (tests that change settings between cases)."""
    global _container, _settings
    with _lock:
        if _container is not None and "engine" in _container.__dict__:
            _container.engine.dispose()
        _container = None
        _settings = None
