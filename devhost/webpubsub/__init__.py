"""A local Azure Web PubSub: the client WebSocket protocols, the REST API and the upstream events.

Standalone (it imports nothing from the app): ``python -m devhost.webpubsub --port 8080`` or started
by ``python -m devhost`` when ``WebPubSubConnectionString`` points at a loopback endpoint. See
``/work/shared/research/webpubsub-protocol.md`` §8 for the behaviour it reproduces.
"""

from devhost.webpubsub.config import (
    ConfigError,
    ConnectionString,
    EmulatorConfig,
    EventHandler,
    parse_connection_string,
    parse_handler,
    parse_hubs,
)
from devhost.webpubsub.server import BackgroundEmulator, WebPubSubEmulator
from devhost.webpubsub.settings import (
    CONNECTION_STRING_SETTING,
    HUBS_SETTING,
    EmulatorThread,
    emulator_from_environment,
)

__all__ = [
    "CONNECTION_STRING_SETTING",
    "HUBS_SETTING",
    "BackgroundEmulator",
    "ConfigError",
    "ConnectionString",
    "EmulatorConfig",
    "EmulatorThread",
    "EventHandler",
    "WebPubSubEmulator",
    "emulator_from_environment",
    "parse_connection_string",
    "parse_handler",
    "parse_hubs",
]
