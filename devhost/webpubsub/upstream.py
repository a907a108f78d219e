"""Calls to the hub's event handler: CloudEvents over HTTP, binary content mode.

Before the first delivery to a handler URL (and again once the cached success is older than the
TTL) the abuse-protection handshake runs: ``OPTIONS`` with ``WebHook-Request-Origin: <service host>``
(``GET`` if the upstream answers 404), which must answer 2xx with ``WebHook-Allowed-Origin`` ``*``
or our host. An upstream that fails it gets no events; the caller treats that like an unreachable
upstream.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from devhost.webpubsub.config import EmulatorConfig, EventHandler
from devhost.webpubsub.messages import dumps
from devhost.webpubsub.tokens import signature

log = logging.getLogger("devhost.webpubsub")


@dataclass(frozen=True)
class UpstreamReply:
    status: int
    body: bytes
    content_type: str | None
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class EventContext:
    """What the CloudEvents headers say about the connection."""

    hub: str
    connection_id: str
    user_id: str | None
    subprotocol: str | None
    connection_state: str | None
    event_id: int


class Upstream:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.hubs: dict[str, tuple[EventHandler, ...]] = dict(config.hubs)
        self._session: aiohttp.ClientSession | None = None
        self._validated: dict[str, float] = {}  # validation URL -> monotonic time of success
        self._validation_locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.config.upstream_timeout_seconds),
            connector=aiohttp.TCPConnector(limit=200), auto_decompress=True)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def set_hub(self, hub: str, handlers: tuple[EventHandler, ...]) -> None:
        self.hubs[hub.lower()] = handlers
        self._validated.clear()

    def handler_for(self, hub: str, event: str, *, system: bool) -> EventHandler | None:
        for handler in self.hubs.get(hub.lower(), ()):
            if handler.handles(event, system=system):
                return handler
        return None

    @property
    def origin(self) -> str:
        return self.config.connection.host

    async def _validate(self, handler: EventHandler, hub: str) -> bool:
        url = handler.url_for(hub, "validate")
        ttl = self.config.abuse_protection_ttl_seconds
        checked = self._validated.get(url)
        if checked is not None and time.monotonic() - checked < ttl:
            return True
        lock = self._validation_locks.setdefault(url, asyncio.Lock())
        async with lock:
            checked = self._validated.get(url)
            if checked is not None and time.monotonic() - checked < ttl:
                return True
            assert self._session is not None
            headers = {"WebHook-Request-Origin": self.origin, "ce-awpsversion": "1.0"}
            try:
                async with self._session.options(url, headers=headers) as resp:
                    status, allowed = resp.status, resp.headers.get("WebHook-Allowed-Origin", "")
                if status == 404:
                    async with self._session.get(url, headers=headers) as resp:
                        status, allowed = resp.status, resp.headers.get("WebHook-Allowed-Origin", "")
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("abuse protection: %s unreachable: %s", url, exc)
                return False
            origins = {o.strip().lower() for o in allowed.split(",") if o.strip()}
            if 200 <= status < 300 and ("*" in origins or self.origin.lower() in origins):
                self._validated[url] = time.monotonic()
                return True
            log.warning("abuse protection: %s answered %d with WebHook-Allowed-Origin %r; no events are sent "
                        "to it", url, status, allowed)
            return False

    def headers(self, ctx: EventContext, ce_type: str, event_name: str, content_type: str) -> dict[str, str]:
        headers = {
            "Content-Type": content_type,
            "ce-specversion": "1.0",
            "ce-awpsversion": "1.0",
            "ce-type": ce_type,
            "ce-source": f"/hubs/{ctx.hub}/client/{ctx.connection_id}",
            "ce-id": str(ctx.event_id),
            "ce-time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "ce-hub": ctx.hub,
            "ce-connectionId": ctx.connection_id,
            "ce-eventName": event_name,
            "ce-signature": signature(ctx.connection_id, self.config.keys),
            "WebHook-Request-Origin": self.origin,
        }
        if ctx.user_id is not None:
            headers["ce-userId"] = ctx.user_id
        if ctx.subprotocol:
            headers["ce-subprotocol"] = ctx.subprotocol
        if ctx.connection_state:
            headers["ce-connectionState"] = ctx.connection_state
        return headers

    async def post(self, handler: EventHandler, ctx: EventContext, *, system: bool, event_name: str,
                   body: bytes, content_type: str) -> UpstreamReply | None:
        """POST one event; None when the upstream is unreachable, times out or fails validation."""
        if not await self._validate(handler, ctx.hub):
            return None
        ce_type = f"azure.webpubsub.sys.{event_name}" if system else f"azure.webpubsub.user.{event_name}"
        url = handler.url_for(ctx.hub, event_name)
        assert self._session is not None
        try:
            async with self._session.post(url, data=body,
                                          headers=self.headers(ctx, ce_type, event_name, content_type)) as resp:
                reply = UpstreamReply(resp.status, await resp.read(), resp.headers.get("Content-Type"),
                                      dict(resp.headers.items()))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("upstream %s for %s failed: %s", url, ce_type, exc or type(exc).__name__)
            return None
        if not reply.ok:
            log.info("upstream %s answered %d to %s", url, reply.status, ce_type)
        return reply

    async def post_json(self, handler: EventHandler, ctx: EventContext, event_name: str,
                        payload: Any) -> UpstreamReply | None:
        return await self.post(handler, ctx, system=True, event_name=event_name, body=dumps(payload).encode(),
                               content_type="application/json; charset=utf-8")
