"""The functions host: every HTTP trigger of the app served over real HTTP with aiohttp.

One catch-all aiohttp route hands each request to a ``RouteTable`` that follows ASP.NET's rules
(see ``routing``), because aiohttp's own router cannot express optional parameters, inline
constraints or ASP.NET precedence. The durable host's management routes are attached first, so
``/runtime/webhooks/durabletask/...`` never reaches the functions' table.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from devhost.function_index import FunctionIndex, HttpFunction

from .conversion import error_response, from_return_value, to_function_request
from .cors import CorsPolicy
from .host_config import DEFAULT_ROUTE_PREFIX
from .invocation import BindingNotAvailable, DurableClientProvider, FunctionInvoker, InvocationContext
from .routing import MethodNotAllowed, NoRoute, RouteTable

log = logging.getLogger("devhost.http")

DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's limit (100 MB)


class DurableHostLike(DurableClientProvider, Protocol):
    """The part of ``devhost.durable.DurableHost`` the functions host uses."""

    def attach(self, web_app: web.Application) -> None: ...


@dataclass(frozen=True)
class FunctionsHostSettings:
    """How the functions host listens and behaves; defaults match ``func start``."""

    host: str = "127.0.0.1"
    port: int = 7071  # 0 picks a free port; ``FunctionsHost.port`` tells which
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    sync_threads: int | None = None  # None = ThreadPoolExecutor's default, like the worker on 3.9+
    shutdown_grace_seconds: float = 10.0
    function_directory: str = field(default_factory=os.getcwd)
    cors: CorsPolicy | None = None  # Host.CORS of local.settings.json; None = no CORS headers
    reuse_port: bool = False  # SO_REUSEPORT: several processes serve one port (FUNCTIONS_WORKER_PROCESS_COUNT)
    joins_port: bool = False  # an HTTP worker joining its primary's port (else the port must be free)


@dataclass(frozen=True)
class FunctionUrl:
    name: str
    methods: tuple[str, ...]
    url: str

    def __str__(self) -> str:
        methods = ",".join(self.methods) if self.methods else "ALL"
        return f"{self.name}: [{methods}] {self.url}"


class FunctionsHost:
    """Serves the HTTP functions of ``index``; ``start``/``stop`` or ``async with``."""

    def __init__(self, index: FunctionIndex, settings: FunctionsHostSettings | None = None,
                 durable: DurableHostLike | None = None) -> None:
        self.index = index
        self.settings = settings or FunctionsHostSettings()
        self.durable = durable
        self.routes: RouteTable[HttpFunction] = RouteTable(self.settings.route_prefix)
        for fn in index.http:
            self.routes.add(fn.route, fn.methods, fn)
        self.invoker = FunctionInvoker(durable=durable, sync_threads=self.settings.sync_threads,
                                       function_directory=self.settings.function_directory)
        self.app = self.build_app()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def build_app(self) -> web.Application:
        # client_max_size is the backstop; _read_body checks first so the 413 has our JSON shape.
        middlewares = [self.settings.cors.middleware()] if self.settings.cors is not None else []
        app = web.Application(client_max_size=self.settings.max_request_body_bytes, middlewares=middlewares)
        if self.durable is not None:
            self.durable.attach(app)  # before the catch-all, so its routes win
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def start(self, *, listen: bool = True) -> None:
        """Bind the port (``port`` tells which) and, unless ``listen=False``, start accepting.
        ``listen=False`` (with ``reuse_port``) binds now and accepts from ``listen()`` on, so a host
        can start HTTP worker processes on the very port and open it only once they are ready."""
        self._runner = web.AppRunner(self.app, access_log=None,
                                     shutdown_timeout=self.settings.shutdown_grace_seconds)
        await self._runner.setup()
        if self.settings.reuse_port:
            sock = self._shared_port_socket()
            self.port = int(sock.getsockname()[1])
            self._site: web.BaseSite = web.SockSite(self._runner, sock)
        else:
            self._site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        if listen or not self.settings.reuse_port:
            await self.listen()

    def _shared_port_socket(self) -> socket.socket:
        """A socket bound with ``SO_REUSEPORT``. A primary first checks that nobody holds the port
        (with ``SO_REUSEPORT`` another process's socket, even another devhost's, would otherwise be
        joined silently and get half of the connections); a worker joins its primary's on purpose."""
        if not hasattr(socket, "SO_REUSEPORT"):
            raise OSError("FUNCTIONS_WORKER_PROCESS_COUNT > 1 needs SO_REUSEPORT, which this system lacks")
        family, kind, proto, _, address = socket.getaddrinfo(self.settings.host, self.settings.port,
                                                             type=socket.SOCK_STREAM)[0]
        if self.settings.port and not self.settings.joins_port:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
                probe.bind(address)  # OSError (address in use) when anyone listens there
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        return sock

    async def listen(self) -> None:
        await self._site.start()
        if self.port is None:  # a TCPSite (the shared-port socket set it in start): the only site yet
            addresses = self._runner.addresses if self._runner is not None else []
            self.port = int(addresses[0][1]) if addresses else self.settings.port

    async def add_private_listener(self) -> str:
        """Also listen on a loopback port of this process alone (the public port may be shared with
        HTTP worker processes); returns its base URL. Call after ``start``."""
        assert self._runner is not None, "start the host first"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish within the grace period, then cancel them."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.invoker.shutdown()

    async def __aenter__(self) -> FunctionsHost:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ urls

    @property
    def base_url(self) -> str:
        """Where clients (and the durable client) reach this host; wildcard binds mean loopback."""
        host = self.settings.host
        if host in {"", "0.0.0.0", "::"}:
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port or self.settings.port}"

    def function_urls(self, base_url: str | None = None) -> list[FunctionUrl]:
        """One line per HTTP function, as ``func start`` prints them."""
        base = (base_url or self.base_url).rstrip("/")
        prefix = f"/{self.settings.route_prefix.strip('/')}" if self.settings.route_prefix.strip("/") else ""
        return [FunctionUrl(fn.name, fn.methods, f"{base}{prefix}/{fn.route.strip('/')}")
                for fn in sorted(self.index.http, key=lambda f: f.name.lower())]

    # ------------------------------------------------------------------ requests

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        function_name = "-"
        response: web.StreamResponse
        resolved = self.routes.resolve(request.method, request.raw_path)
        if isinstance(resolved, NoRoute):
            response = error_response(404, "not_found", f"no function matches {request.method} {request.path}")
        elif isinstance(resolved, MethodNotAllowed):
            # The real host answers 404, not 405, when the route exists but not for this method
            # (Azure/azure-functions-host#10098); devhost does the same so clients do not come to
            # depend on a status Azure never sends. The body and Allow header say what would work.
            allowed = ", ".join(resolved.allowed)
            message = f"no function accepts {request.method} on {request.path} (it accepts {allowed})"
            response = error_response(404, "method_not_allowed", message, headers={"Allow": allowed})
        else:
            function_name = resolved.target.name
            response = await self._invoke(request, resolved.target, resolved.route_params)
        self._log_request(request, response, function_name, started)
        return response

    async def _invoke(self, request: web.Request, fn: HttpFunction, route_params: dict[str, str]) -> web.StreamResponse:
        body = await self._read_body(request)
        if isinstance(body, web.Response):
            return body
        fn_request = to_function_request(request, body, route_params)
        context = InvocationContext(fn.name, self.settings.function_directory,
                                    trace_parent=request.headers.get("traceparent"),
                                    trace_state=request.headers.get("tracestate", ""))
        try:
            kwargs = self.invoker.arguments(fn, fn_request, context, self.base_url)
        except BindingNotAvailable as exc:
            log.error("%s", exc)
            return error_response(500, "binding_unavailable", str(exc))
        try:
            result = await self.invoker.call(fn, kwargs)
            return from_return_value(result, fn.name)
        except Exception:
            # The host logs the failure and answers a bare 500; the client never sees the traceback.
            log.exception("Executed 'Functions.%s' (Failed, Id=%s)", fn.name, context.invocation_id)
            return error_response(500, "internal_error",
                                  f"Exception while executing function: Functions.{fn.name}")

    async def _read_body(self, request: web.Request) -> bytes | web.Response:
        limit = self.settings.max_request_body_bytes

        def too_large() -> web.Response:  # built only when needed: most requests never are
            return error_response(413, "payload_too_large", f"request body exceeds {limit} bytes")

        if request.content_length is not None and request.content_length > limit:
            return too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return too_large()
        return too_large() if len(body) > limit else body

    def _log_request(self, request: web.Request, response: web.StreamResponse, function_name: str,
                     started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        request_id = response.headers.get("X-Request-Id", "-")
        log.info("%s %s -> %d in %.1f ms (function=%s, request_id=%s)", request.method, request.path,
                 response.status, elapsed_ms, function_name, request_id)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago; good enough for tests and for ``--port 0`` callers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])

