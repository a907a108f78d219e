"""Emulator configuration: the connection string and the per-hub event handlers.

The app and the emulator share one connection string (``Endpoint=http://localhost:8080;AccessKey=...;
Version=1.0;``), so the emulator reads its key and port from the same setting the app uses
(``WebPubSubConnectionString``). Event handlers come from ``WEBPUBSUB_EMULATOR_HUBS``: a JSON object
``{"<hub>": {"url": ..., "user_events": "*", "system_events": [...]}}`` (a hub may also list several
handlers), mirroring the portal's "event handler settings".
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SYSTEM_EVENTS = frozenset({"connect", "connected", "disconnected"})
DEFAULT_PORT = 8080
DEFAULT_ACCESS_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"  # the official emulator's default


class ConfigError(ValueError):
    """A connection string or hub configuration that cannot be used."""


@dataclass(frozen=True)
class ConnectionString:
    endpoint: str  # scheme://host[:port], no trailing slash
    access_key: str

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or "localhost"

    @property
    def port(self) -> int:
        parts = urlsplit(self.endpoint)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def render(self) -> str:
        return f"Endpoint={self.endpoint};AccessKey={self.access_key};Version=1.0;"


def parse_connection_string(raw: str) -> ConnectionString:
    """Parse like the SDKs do: keys case-insensitive, ``Version`` ignored, ``Port`` appended."""
    values: dict[str, str] = {}
    for part in raw.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"connection string segment {part!r} is not key=value")
        values[key.strip().lower()] = value.strip()
    endpoint = values.get("endpoint", "").rstrip("/")
    key = values.get("accesskey", "")
    if not endpoint or not key:
        raise ConfigError("the connection string needs Endpoint= and AccessKey=")
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError(f"Endpoint {endpoint!r} must start with http:// or https://")
    if values.get("port"):
        endpoint = f"{endpoint}:{int(values['port'])}"
    return ConnectionString(endpoint=endpoint, access_key=key)


@dataclass(frozen=True)
class EventHandler:
    """One upstream: ``url`` may contain ``{event}`` and ``{hub}``."""

    url: str
    user_events: tuple[str, ...] = ("*",)  # patterns; "*" = all; empty = none
    system_events: frozenset[str] = field(default_factory=lambda: frozenset(SYSTEM_EVENTS))

    def url_for(self, hub: str, event: str) -> str:
        return self.url.replace("{event}", event).replace("{hub}", hub)

    def handles(self, event: str, *, system: bool) -> bool:
        if system:
            return event in self.system_events
        return any(pattern == "*" or fnmatch.fnmatchcase(event, pattern) for pattern in self.user_events)


def parse_handler(raw: Mapping[str, object]) -> EventHandler:
    url = raw.get("url") or raw.get("urlTemplate")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"an event handler needs an http(s) 'url', got {url!r}")
    user_raw = raw.get("user_events", raw.get("userEventPattern", "*"))
    if user_raw is None:
        user_events: tuple[str, ...] = ()
    elif isinstance(user_raw, str):
        user_events = tuple(p.strip() for p in user_raw.split(",") if p.strip())
    elif isinstance(user_raw, Sequence):
        user_events = tuple(str(p) for p in user_raw)
    else:
        raise ConfigError("'user_events' must be a pattern string or a list")
    system_raw = raw.get("system_events", raw.get("systemEvents", sorted(SYSTEM_EVENTS)))
    if isinstance(system_raw, str):
        system_raw = [p.strip() for p in system_raw.split(",") if p.strip()]
    if not isinstance(system_raw, Sequence) or not set(map(str, system_raw)) <= SYSTEM_EVENTS:
        raise ConfigError(f"'system_events' must be a subset of {sorted(SYSTEM_EVENTS)}, got {system_raw!r}")
    return EventHandler(url=url, user_events=user_events, system_events=frozenset(map(str, system_raw)))


def parse_hubs(raw: str | Mapping[str, object] | None) -> dict[str, tuple[EventHandler, ...]]:
    """``WEBPUBSUB_EMULATOR_HUBS`` → {hub (lower-case): handlers}; empty or missing → no handlers."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    data = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(data, Mapping):
        raise ConfigError("WEBPUBSUB_EMULATOR_HUBS must be a JSON object {hub: handler}")
    hubs: dict[str, tuple[EventHandler, ...]] = {}
    for hub, value in data.items():
        items = value if isinstance(value, list) else [value]
        handlers: list[EventHandler] = []
        for item in items:
            if not isinstance(item, Mapping):
                raise ConfigError(f"hub {hub!r}: a handler must be an object")
            handlers.append(parse_handler(item))
        hubs[str(hub).lower()] = tuple(handlers)
    return hubs


@dataclass(frozen=True)
class EmulatorConfig:
    connection: ConnectionString
    hubs: Mapping[str, tuple[EventHandler, ...]] = field(default_factory=dict)
    extra_keys: tuple[str, ...] = ()  # a "secondary" key: accepted on JWTs, signed into ce-signature too
    listen_host: str = "127.0.0.1"
    listen_port: int | None = None  # None: the connection string's port
    recovery_window_seconds: float = 30.0
    upstream_timeout_seconds: float = 20.0
    abuse_protection_ttl_seconds: float = 60.0
    max_frame_bytes: int = 1024 * 1024
    max_unacked_messages: int = 1000
    max_unacked_bytes: int = 16 * 1024 * 1024
    clock_skew_seconds: float = 30.0

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.connection.access_key, *self.extra_keys)

    @property
    def port(self) -> int:
        return self.listen_port if self.listen_port is not None else self.connection.port
