"""The emulator as an aiohttp server: on a caller's event loop (devhost) or on its own thread (tests).

``WebPubSubEmulator`` has the ``start()``/``stop()`` shape devhost uses for its other helpers.
``BackgroundEmulator`` runs one on a private loop in a daemon thread, for synchronous callers such
as pytest fixtures, and offers test hooks (cut a client's socket, change a hub's event handler).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

from devhost.webpubsub.client_endpoint import ClientEndpoint
from devhost.webpubsub.config import EmulatorConfig, EventHandler
from devhost.webpubsub.rest_api import RestApi
from devhost.webpubsub.service import Service

log = logging.getLogger("devhost.webpubsub")
T = TypeVar("T")
REST_BODY_LIMIT = 1024 * 1024 + 64 * 1024  # a 1 MB message plus headroom; larger bodies get 413


def build_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=REST_BODY_LIMIT)
    client = ClientEndpoint(service)
    rest = RestApi(service)
    app.router.add_get("/client/hubs/{hub}", client.handle)
    app.router.add_get("/client/hubs/{hub}/", client.handle)
    app.router.add_get("/client", client.handle)
    app.router.add_get("/client/", client.handle)
    app.router.add_route("*", "/api/{tail:.*}", rest.handle)
    return app


class WebPubSubEmulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.service = Service(config)
        self._runner: web.AppRunner | None = None
        self.port = config.port

    @property
    def connection_string(self) -> str:
        return self.config.connection.render()

    async def start(self) -> None:
        await self.service.upstream.start()
        self._runner = web.AppRunner(build_app(self.service), access_log=None, handle_signals=False,
                                     shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.listen_host, self.config.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        if self.config.connection.host == "localhost" and self.config.listen_host == "127.0.0.1":
            # clients may resolve "localhost" to ::1 first; answer there too when IPv6 loopback exists
            with contextlib.suppress(OSError):
                await web.TCPSite(self._runner, "::1", self.port, reuse_address=True).start()
        log.info("Web PubSub emulator listening on http://%s:%d (hubs with event handlers: %s)",
                 self.config.listen_host, self.port, ", ".join(sorted(self.service.upstream.hubs)) or "none")

    async def stop(self) -> None:
        await self.service.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.service.upstream.stop()

    # --- hooks for tests and tools (run on the emulator's loop) --------------------------------
    def set_hub(self, hub: str, handlers: tuple[EventHandler, ...]) -> None:
        self.service.upstream.set_hub(hub, handlers)

    def cut(self, hub: str, connection_id: str) -> bool:
        """Kill the TCP connection under a client's socket (no close frame), as a network would."""
        conn = self.service.find(hub, connection_id)
        if conn is None or conn.ws is None:
            return False
        sock = conn.ws.get_extra_info("socket")
        if sock is None:
            return False
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return True

    def connection_ids(self, hub: str) -> list[str]:
        found = self.service.hubs.get(hub.lower())
        return sorted(found.connections) if found is not None else []


class BackgroundEmulator:
    """A ``WebPubSubEmulator`` on its own event loop thread."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.emulator = WebPubSubEmulator(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webpubsub-emulator", daemon=True)

    def __enter__(self) -> BackgroundEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        self.call(self.emulator.start())

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.call(self.emulator.stop(), timeout=15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def run(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the emulator's loop (its state is not thread-safe)."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def call() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(call)
        return future.result(10)

    @property
    def port(self) -> int:
        return self.emulator.port

    @property
    def connection_string(self) -> str:
        return self.emulator.connection_string

    def set_hub(self, hub: str, handlers: tuple[EventHandler, ...]) -> None:
        self.run(self.emulator.set_hub, hub, handlers)

    def cut(self, hub: str, connection_id: str) -> bool:
        return bool(self.run(self.emulator.cut, hub, connection_id))

    def connection_ids(self, hub: str) -> list[str]:
        return list(self.run(self.emulator.connection_ids, hub))
