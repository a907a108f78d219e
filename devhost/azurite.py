"""Azurite (npm ``azurite``), the Blob Storage emulator, started and watched by devhost.

Core Tools expects you to start Azurite yourself; devhost starts it when the app's storage
connection string points at a local emulator, so ``make run`` is one command. Only the blob
service is started: it is the only storage service the app uses (the Durable state lives in
devhost's durable host, not in Azure Storage queues and tables).

Flags, and why (see ``../shared/research/local-infrastructure.md``):

* ``--skipApiVersionCheck``: azure-storage-blob 12.31 sends an API version newer than Azurite knows;
* ``--disableTelemetry``: Azurite sends telemetry by default;
* ``--silent``: no access log on the console; Azurite's own output goes to a log file;
* ``--location .data/azurite``: blobs survive restarts (tests use ``--inMemoryPersistence``).

Two entry points: ``AzuriteSupervisor`` (async, for the launcher: reuse a running emulator, start
one, restart it when it dies, stop it on shutdown) and ``run_azurite`` (a sync context manager that
starts a private Azurite on a free port, for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from devhost.child_process import free_port, is_loopback, port_is_open, spawn, terminate, wait_until_listening

log = logging.getLogger("devhost.azurite")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BLOB_PORT = 10000
DEV_ACCOUNT_NAME = "devstoreaccount1"
# The emulator's well-known key, published in Microsoft's docs; it protects nothing.
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
INSTALL_HINT = "run `make run` (it installs the Node tools) or `npm ci` in the project root"


class AzuriteError(RuntimeError):
    """Azurite could not be started or did not come up."""


# --------------------------------------------------------------------------- connection strings


def parse_connection_string(value: str) -> dict[str, str]:
    """``Key=Value;...`` into a dict with lower-case keys (Azure treats keys case-insensitively)."""
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if "=" in item:
            key, _, val = item.partition("=")
            parts[key.strip().lower()] = val.strip()
    return parts


@dataclass(frozen=True)
class BlobEndpoint:
    host: str
    port: int


def local_blob_endpoint(connection_string: str | None) -> BlobEndpoint | None:
    """Where the app expects a local Azurite, or None when the connection string is not local."""
    if not connection_string:
        return None
    parts = parse_connection_string(connection_string)
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return BlobEndpoint("127.0.0.1", DEFAULT_BLOB_PORT)
    endpoint = parts.get("blobendpoint")
    if not endpoint:
        return None
    url = urlsplit(endpoint)
    if not url.hostname or not is_loopback(url.hostname):
        return None
    port = url.port or (443 if url.scheme == "https" else 80)
    host = "127.0.0.1" if url.hostname.lower() == "localhost" else url.hostname
    return BlobEndpoint(host, port)


def connection_string_for(port: int, host: str = "127.0.0.1") -> str:
    """The connection string of a local Azurite's blob service."""
    return (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};"
            f"BlobEndpoint=http://{host}:{port}/{DEV_ACCOUNT_NAME};")


# --------------------------------------------------------------------------- the process


def azurite_blob_executable(project_root: Path = PROJECT_ROOT) -> Path | None:
    """``node_modules/.bin/azurite-blob`` if ``npm ci`` has installed it."""
    candidate = project_root / "node_modules" / ".bin" / "azurite-blob"
    return candidate if candidate.exists() else None


@dataclass
class AzuriteProcess:
    """One ``azurite-blob`` process: ``start()``, ``wait_until_listening()``, ``stop()``."""

    port: int
    host: str = "127.0.0.1"
    location: Path | None = None  # None = in-memory persistence
    project_root: Path = PROJECT_ROOT
    log_path: Path | None = None  # Azurite's stdout/stderr; None discards them
    process: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return connection_string_for(self.port, self.host)

    def command(self) -> list[str]:
        executable = azurite_blob_executable(self.project_root)
        if executable is None:
            raise AzuriteError(f"Azurite is not installed in {self.project_root / 'node_modules'}: {INSTALL_HINT}")
        cmd = [str(executable), "--blobHost", self.host, "--blobPort", str(self.port),
               "--skipApiVersionCheck", "--disableTelemetry", "--silent"]
        if self.location is None:
            cmd.append("--inMemoryPersistence")
        else:
            cmd += ["--location", str(self.location)]
        return cmd

    def start(self) -> None:
        cmd = self.command()
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        self.process, self._log_file = spawn(cmd, cwd=self.project_root, log_path=self.log_path)
        log.info("started Azurite blob service (pid %d) on %s:%d", self.process.pid, self.host, self.port)

    def wait_until_listening(self, timeout: float = 30.0) -> None:
        wait_until_listening(self.process, self.host, self.port, timeout=timeout, what="Azurite",
                             error=AzuriteError, hint=self._log_hint())

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (Azurite shuts down cleanly in 1-2 s), then SIGKILL after ``timeout``."""
        proc, self.process = self.process, None
        log_file, self._log_file = self._log_file, None
        terminate(proc, log_file, timeout=timeout, what="Azurite")

    def _log_hint(self) -> str:
        return f" (see {self.log_path})" if self.log_path is not None else ""


@contextlib.contextmanager
def run_azurite(*, port: int | None = None, location: Path | None = None, project_root: Path = PROJECT_ROOT,
                log_path: Path | None = None, timeout: float = 30.0) -> Iterator[AzuriteProcess]:
    """A private Azurite on a free port (in memory unless ``location``), stopped on exit. For tests."""
    azurite = AzuriteProcess(port=port or free_port(), location=location, project_root=project_root,
                             log_path=log_path)
    azurite.start()
    try:
        azurite.wait_until_listening(timeout)
        yield azurite
    finally:
        azurite.stop()


# --------------------------------------------------------------------------- the supervisor


class AzuriteSupervisor:
    """What the launcher runs: reuse, start, watch and stop the Azurite the app's settings point at."""

    def __init__(self, connection_string: str | None, *, project_root: Path = PROJECT_ROOT,
                 data_dir: Path | None = None, max_restarts: int = 3, in_memory: bool = False) -> None:
        self.endpoint = local_blob_endpoint(connection_string)
        self.project_root = project_root
        self.data_dir = data_dir or project_root / ".data" / "azurite"
        self.max_restarts = max_restarts
        self.in_memory = in_memory
        self.azurite: AzuriteProcess | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Never fails the launcher: problems are logged with what to do about them."""
        if self.endpoint is None:
            log.info("AzureWebJobsStorage does not point at a local emulator; not starting Azurite")
            return
        host, port = self.endpoint.host, self.endpoint.port
        if port_is_open(host, port):
            log.info("something already listens on %s:%d; using it as Azurite", host, port)
            return
        if azurite_blob_executable(self.project_root) is None:
            log.warning("Azurite is not installed (no node_modules/.bin/azurite-blob): %s. Continuing without "
                        "Blob Storage; uploads will fail.", INSTALL_HINT)
            return
        self.azurite = AzuriteProcess(port=port, host=host, location=None if self.in_memory else self.data_dir,
                                      project_root=self.project_root, log_path=self.data_dir / "azurite.log")
        try:
            await self._launch()
        except AzuriteError as exc:
            log.error("%s; continuing without Blob Storage", exc)
            self.azurite.stop()
            self.azurite = None
            return
        self._watch = asyncio.create_task(self._watch_process(), name="azurite-watch")

    async def _launch(self) -> None:
        assert self.azurite is not None
        self.azurite.start()
        await asyncio.to_thread(self.azurite.wait_until_listening)
        log.info("Azurite blob service ready at http://%s:%d/%s", self.azurite.host, self.azurite.port,
                 DEV_ACCOUNT_NAME)

    async def _watch_process(self) -> None:
        """Restart Azurite when it dies on its own, a few times, then give up loudly."""
        restarts = 0
        while not self._stopping and self.azurite is not None:
            proc = self.azurite.process
            if proc is None:
                return
            code = await asyncio.to_thread(proc.wait)
            if self._stopping:
                return
            log.error("Azurite (pid %d) exited unexpectedly with code %s (log: %s)", proc.pid, code,
                      self.azurite.log_path)
            if restarts >= self.max_restarts:
                log.error("Azurite died %d times; not restarting it again. Blob Storage is unavailable.",
                          restarts + 1)
                return
            restarts += 1
            await asyncio.sleep(min(2.0**restarts, 10.0))
            if self._stopping:
                return
            try:
                await self._launch()
            except AzuriteError as exc:
                log.error("restarting Azurite failed: %s", exc)

    async def stop(self) -> None:
        self._stopping = True
        if self.azurite is not None:
            await asyncio.to_thread(self.azurite.stop)
            self.azurite = None
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None


def storage_connection_string(environ: dict[str, str] | None = None) -> str | None:
    """The host's storage setting, ``AzureWebJobsStorage``."""
    return (environ if environ is not None else os.environ).get("AzureWebJobsStorage")
