"""Where devhost finds the emulator's configuration: the app's own settings.

``WebPubSubConnectionString`` (the app's setting) gives the key and the port; the emulator runs only
when its endpoint is a loopback address, so a connection string to a real Azure resource is left
alone. ``WEBPUBSUB_EMULATOR_HUBS`` gives the event handlers; ``WEBPUBSUB_EMULATOR_RECOVERY_SECONDS``
the recovery window (default 30 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from devhost.child_process import is_loopback
from devhost.webpubsub.config import ConfigError, EmulatorConfig, parse_connection_string, parse_hubs
from devhost.webpubsub.server import BackgroundEmulator

log = logging.getLogger("devhost.webpubsub")

CONNECTION_STRING_SETTING = "WebPubSubConnectionString"
HUBS_SETTING = "WEBPUBSUB_EMULATOR_HUBS"
RECOVERY_SETTING = "WEBPUBSUB_EMULATOR_RECOVERY_SECONDS"


class EmulatorThread:
    """The emulator on its own thread and event loop, with devhost's async ``start``/``stop`` shape.

    Not on devhost's loop: app code that blocks that loop (a sync SDK call made from an async
    function) would otherwise stall the very service it is waiting for.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.background = BackgroundEmulator(config)

    @property
    def port(self) -> int:
        return self.background.port

    async def start(self) -> None:
        await asyncio.to_thread(self.background.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.background.stop)


def emulator_from_environment(env: Mapping[str, str]) -> EmulatorThread | None:
    """The emulator devhost should run, or None (no setting, or a non-local endpoint)."""
    raw = env.get(CONNECTION_STRING_SETTING, "").strip()
    if not raw:
        return None
    try:
        connection = parse_connection_string(raw)
        hubs = parse_hubs(env.get(HUBS_SETTING))
        recovery = float(env.get(RECOVERY_SETTING) or 30.0)
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"Web PubSub emulator settings: {exc}") from exc
    if not is_loopback(connection.host):
        log.info("%s points at %s; not starting the Web PubSub emulator", CONNECTION_STRING_SETTING, connection.host)
        return None
    return EmulatorThread(EmulatorConfig(connection=connection, hubs=hubs, recovery_window_seconds=recovery))
