"""``FUNCTIONS_WORKER_PROCESS_COUNT``: more than one Python process serving the app's HTTP functions.

The real Functions host starts that many Python worker processes (1 to 10) per instance and spreads
invocations over them, which is how a Python app uses more than one core despite the GIL. devhost
does the same in its own shape: the primary process (this one; it owns the durable host, Azurite,
the Web PubSub emulator and the OIDC provider) and ``count - 1`` **HTTP worker** processes listen on
the same port with ``SO_REUSEPORT``, and the kernel spreads incoming connections over them.

An HTTP worker imports and serves the same app with the same settings (it inherits the primary's
environment, including what the primary set up before importing the app). It runs no durable
engine: its ``durableClient`` bindings and any ``/runtime/webhooks/durabletask/...`` request that
lands on it are forwarded to the primary over a private loopback listener, so orchestrations, their
state and their activities live in one process, as with a single worker.

Not emulated: the host's own dispatching (here the kernel balances connections, not invocations),
and restarting a worker that dies (the primary logs it; the others keep serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, cast

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from devhost.durable.http_api import MOUNT, ManagementApi

log = logging.getLogger("devhost.workers")

SETTING = "FUNCTIONS_WORKER_PROCESS_COUNT"
READY_LINE = "devhost-http-worker-ready"
MAX_WORKER_PROCESSES = 10  # the host's limit
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade", "content-length"}


def worker_process_count(environ: Mapping[str, str]) -> int:
    """The setting as the host reads it: 1 when absent; out-of-range values are clamped (logged)."""
    raw = environ.get(SETTING, "").strip()
    if not raw:
        return 1
    try:
        count = int(raw)
    except ValueError:
        log.warning("%s=%r is not a number; using 1", SETTING, raw)
        return 1
    if not 1 <= count <= MAX_WORKER_PROCESSES:
        log.warning("%s=%d is outside 1-%d; clamped", SETTING, count, MAX_WORKER_PROCESSES)
    return max(1, min(MAX_WORKER_PROCESSES, count))


class DurableForwarder:
    """The durable host as an HTTP worker sees it: bindings and management calls go to the primary."""

    def __init__(self, primary_url: str, task_hub: str) -> None:
        self._primary_url = primary_url.rstrip("/")
        # Only the link-building half of the management API is used here (it needs no engine).
        self._links = ManagementApi(cast(Any, None), task_hub)
        self._session: aiohttp.ClientSession | None = None

    def client_binding_json(self, base_url: str) -> str:
        import json

        # The SDK's client in this process talks straight to the primary's private listener.
        return json.dumps(self._links.client_binding(self._primary_url))

    def attach(self, web_app: web.Application) -> None:
        web_app.router.add_route("*", MOUNT + "/{path:.*}", self._forward)
        web_app.on_cleanup.append(self._close)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self._session is None:
            # No total timeout: management calls may wait on purpose (``timeout=`` of
            # create-and-wait); reaching the primary must be quick, though.
            self._session = aiohttp.ClientSession(
                auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
        # Repeated headers survive (a multidict both ways). Host is kept: the primary builds the
        # links it answers with from it (the public address).
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        try:
            async with self._session.request(request.method, self._primary_url + request.rel_url.raw_path_qs,
                                             headers=headers, data=await request.read(),
                                             allow_redirects=False) as upstream:
                body = await upstream.read()
                out = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP)
                return web.Response(status=upstream.status, headers=out, body=body)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.error("durable request not forwarded to the primary devhost process: %s", error)
            problem = {"error": {"code": "durable_host_unreachable",
                                 "message": "The durable host (devhost's primary process) did not answer."}}
            return web.json_response(problem, status=502)

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()


class WorkerProcesses:
    """Starts and stops the HTTP worker processes of a primary devhost."""

    def __init__(self, count: int, argv: Sequence[str], primary_url: str) -> None:
        self._count = count
        self._argv = list(argv)
        self._primary_url = primary_url
        self._processes: list[subprocess.Popen[bytes]] = []
        self._watch: asyncio.Task[None] | None = None

    async def start(self, ready_timeout: float = 60.0) -> None:
        """Start the workers and wait until each listens (it prints ``READY_LINE`` on its stdout);
        one that does not is logged and left out, the rest serve."""
        for n in range(1, self._count):
            cmd = [sys.executable, "-m", "devhost", *self._argv, "--http-worker-of", self._primary_url,
                   "--http-worker-number", str(n), "--http-worker-parent", str(os.getpid())]
            self._processes.append(subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.PIPE))
        ready = await asyncio.gather(*(asyncio.wait_for(asyncio.to_thread(self._await_ready, p), ready_timeout)
                                       for p in self._processes), return_exceptions=True)
        for process, outcome in zip(self._processes, ready, strict=True):
            if outcome is not True:
                # Left out for good: a late starter must not begin serving the shared port later.
                process.kill()
                log.error("HTTP worker process %d did not start (%s); the others serve",
                          process.pid, type(outcome).__name__ if isinstance(outcome, BaseException) else "exited")
        self._watch = asyncio.create_task(self._report_deaths())
        log.info("%d HTTP worker process(es) ready (%s=%d)", sum(r is True for r in ready), SETTING, self._count)

    @staticmethod
    def _await_ready(process: subprocess.Popen[bytes]) -> bool:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == READY_LINE.encode():
                # From now on the worker's stdout (the app may print) goes where ours goes.
                threading.Thread(target=_relay, args=(process.stdout,), daemon=True).start()
                return True
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
        return False

    async def _report_deaths(self) -> None:
        reported: set[int] = set()
        while True:
            await asyncio.sleep(1.0)
            for process in self._processes:
                if process.poll() is not None and process.pid not in reported:
                    reported.add(process.pid)
                    log.error("HTTP worker process %d exited with %s; the others keep serving", process.pid,
                              process.returncode)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
        self._processes.clear()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]


def _relay(stream: Any) -> None:
    for line in stream:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()


def announce_ready() -> bool:
    """What an HTTP worker prints once it listens (its primary waits for it). False: the primary is
    gone already (nobody reads the pipe), and the worker should stop."""
    try:
        print(READY_LINE, flush=True)
    except BrokenPipeError:
        log.warning("the primary devhost process is gone; stopping")
        return False
    return True


async def exit_when_orphaned(stop: asyncio.Event, parent_pid: int) -> None:
    """An HTTP worker stops when its primary is gone (killed without a chance to stop it)."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("the primary devhost process is gone; stopping")
            stop.set()
            return
        await asyncio.sleep(1.0)
