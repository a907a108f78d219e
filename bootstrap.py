"""Composition root: builds every adapter from settings, once per worker process.

Azure Functions keeps a Python worker process alive across invocations, so the container is
built on the first invocation that needs it (not at import: cold start) and reused afterwards.
Settings are validated here; a bad or missing setting fails that first invocation with a message
naming the variable, and is logged at error level so it shows up in the host's logs.
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
    from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Holds the process-wide adapters and hands out use cases.

    Properties are built on first access so an invocation only pays for what it uses (the
    health endpoint never imports LangChain, for instance).
    """

    settings: "Settings"

    @cached_property
    def engine(self) -> "Engine":
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
    def check_health(self) -> "CheckHealth":
        from application.health import CheckHealth
        from infra.blob.health import StorageProbe
        from infra.sql.health import DatabaseProbe

        timeout = self.settings.health_check_timeout_seconds
        probes = [
            DatabaseProbe(self.engine, timeout_seconds=timeout),
            StorageProbe(self.settings.storage_target, timeout_seconds=timeout),
        ]
        return CheckHealth(probes, timeout_seconds=timeout)


_container: Container | None = None
_lock = threading.Lock()


def build_container(settings: "Settings | None" = None) -> Container:
    from shared.settings import load_settings

    settings = settings or load_settings()
    configure_logging(settings.log_level)
    return Container(settings=settings)


def get_container() -> Container:
    """The process-wide container (thread-safe, built once)."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                try:
                    _container = build_container()
                except Exception:
                    log.exception("the app could not start: fix the settings named below")
                    raise
    return _container


def reset_container() -> None:
    """Forget the container (tests that change settings between cases)."""
    global _container
    with _lock:
        if _container is not None and "engine" in _container.__dict__:
            _container.engine.dispose()
        _container = None
