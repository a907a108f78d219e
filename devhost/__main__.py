"""``python -m devhost``: the local stand-in for ``func start``.

Steps, in the order Core Tools takes them: load ``local.settings.json`` into the environment
(variables already set win), read ``host.json``, import the app and index its functions, then on
one event loop start Azurite (when ``AzureWebJobsStorage`` points at a local emulator), the
durable host and the functions host, print every HTTP function's URL, and run until SIGINT or
SIGTERM. Shutdown reverses the order: stop accepting requests and let in-flight ones finish (grace
period), stop the durable host, stop Azurite, exit 0. A second signal during shutdown exits at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devhost.azurite import AzuriteSupervisor, storage_connection_string
from devhost.function_index import FunctionIndex, load_app
from devhost.functions_host import CorsPolicy, FunctionsHost, FunctionsHostSettings, HostJson
from devhost.functions_host.server import DEFAULT_MAX_REQUEST_BODY_BYTES
from devhost.local_settings import LocalSettings, LocalSettingsError
from devhost.oidc_provider import OidcProviderSupervisor
from devhost.webpubsub import ConfigError, EmulatorThread, emulator_from_environment
from devhost.worker_processes import (
    DurableForwarder,
    WorkerProcesses,
    announce_ready,
    exit_when_orphaned,
    worker_process_count,
)

log = logging.getLogger("devhost")

DEFAULT_PORT = 7071


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port (default: Host.LocalHttpPort of local.settings.json, else {DEFAULT_PORT})")
    parser.add_argument("--app", default="function_app",
                        help="module[:attribute] of the FunctionApp (default function_app:app)")
    parser.add_argument("--no-azurite", action="store_true", help="never start Azurite")
    parser.add_argument("--azurite-in-memory", action="store_true",
                        help="start Azurite with in-memory persistence instead of .data/azurite")
    parser.add_argument("--no-webpubsub", action="store_true",
                        help="never start the Web PubSub emulator (devhost/webpubsub)")
    parser.add_argument("--cors", default=None, metavar="ORIGINS",
                        help='allowed origins, "*" or comma-separated (default: Host.CORS of local.settings.json)')
    parser.add_argument("--cors-credentials", action="store_true", default=None,
                        help="send Access-Control-Allow-Credentials (default: Host.CORSCredentials)")
    parser.add_argument("--shutdown-grace", type=float, default=10.0, metavar="SECONDS",
                        help="how long in-flight requests may run after a stop signal (default 10)")
    parser.add_argument("--max-request-body-mb", type=float, default=DEFAULT_MAX_REQUEST_BODY_BYTES / 2**20,
                        metavar="MB", help="reject larger request bodies with 413 (default 100, like Azure)")
    parser.add_argument("--log-level", default=os.environ.get("DEVHOST_LOG_LEVEL", "INFO"),
                        help="logging level (default INFO, or $DEVHOST_LOG_LEVEL)")
    # Internal: how a primary devhost starts its HTTP worker processes (see devhost.worker_processes).
    parser.add_argument("--http-worker-of", default=None, metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--http-worker-number", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--http-worker-parent", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def http_worker_argv(args: argparse.Namespace, port: int) -> list[str]:
    """The command line of an HTTP worker: this host's options, on the port actually bound."""
    argv = ["--app", args.app, "--host", args.host, "--port", str(port), "--no-azurite", "--no-webpubsub",
            "--shutdown-grace", str(args.shutdown_grace), "--max-request-body-mb", str(args.max_request_body_mb),
            "--log-level", args.log_level]
    if args.cors is not None:
        argv += ["--cors", args.cors]
    if args.cors_credentials:
        argv.append("--cors-credentials")
    return argv


def configure_logging(level: str, worker: int = 0) -> None:
    where = f"[worker {worker}] " if worker else ""  # an HTTP worker process's lines say so
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)-7s {where}%(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the functions host logs requests itself


def sync_thread_count() -> int | None:
    """``PYTHON_THREADPOOL_THREAD_COUNT``, the worker's setting for its sync thread pool (1-32)."""
    raw = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    if not raw:
        return None
    try:
        return max(1, min(32, int(raw)))
    except ValueError:
        log.warning("PYTHON_THREADPOOL_THREAD_COUNT=%r is not a number; using the default", raw)
        return None


def make_durable_host(index: FunctionIndex, host_json: HostJson) -> Any | None:
    """``devhost.durable.DurableHost``, or None (logged) while that module is not there yet."""
    try:
        from devhost.durable import DurableHost
    except ImportError as exc:
        if exc.name != "devhost.durable":
            raise  # a real bug inside the durable host, not its absence
        log.warning("devhost.durable.DurableHost is not available; orchestrations and durableClient "
                    "functions will not work")
        return None
    return DurableHost(index, task_hub=host_json.task_hub, activity_workers=host_json.max_concurrent_activities)


def print_function_urls(functions_host: FunctionsHost) -> None:
    """Like ``func start``: one ``name: [METHODS] url`` line per HTTP function."""
    lines = [f"        {url}" for url in functions_host.function_urls()]
    print("\nFunctions:\n\n" + ("\n".join(lines) if lines else "        (no HTTP functions)") + "\n", flush=True)


async def serve(index: FunctionIndex, settings: FunctionsHostSettings, *, host_json: HostJson,
                azurite: AzuriteSupervisor | None, webpubsub: EmulatorThread | None = None,
                args: argparse.Namespace | None = None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting without waiting", signal.Signals(signum).name)
            os._exit(1)
        log.info("%s received; shutting down", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    primary_url = args.http_worker_of if args is not None else None
    workers = worker_process_count(os.environ) if args is not None and primary_url is None else 1
    background: set[asyncio.Task[None]] = set()  # referenced until serve() returns
    if primary_url is not None:  # an HTTP worker: the primary runs the durable host
        durable: Any = DurableForwarder(primary_url, host_json.task_hub)
        parent = args.http_worker_parent if args is not None and args.http_worker_parent else os.getppid()
        background.add(loop.create_task(exit_when_orphaned(stop, parent)))
    else:
        durable = make_durable_host(index, host_json)
    if workers > 1 or primary_url is not None:
        settings = dataclasses.replace(settings, reuse_port=True, joins_port=primary_url is not None)
    functions_host = FunctionsHost(index, settings, durable=durable)
    started: list[Any] = []
    try:
        if azurite is not None:
            await azurite.start()
            started.append(azurite)
        if durable is not None and primary_url is None:
            await durable.start()
            started.append(durable)
        if webpubsub is not None:  # the Web PubSub emulator, on this loop, before the functions host
            try:
                await webpubsub.start()
                started.append(webpubsub)
            except OSError as exc:  # e.g. `python -m devhost.webpubsub` already serves that port: use it
                log.warning("Web PubSub emulator not started (port %d: %s); using whatever listens there",
                            webpubsub.port, exc.strerror or exc)
                await webpubsub.stop()
        try:
            # With HTTP workers, the port opens once they are ready, so nobody queues on one process.
            await functions_host.start(listen=workers <= 1)
        except OSError as exc:
            log.error("cannot listen on %s:%d: %s", settings.host, settings.port, exc.strerror or exc)
            return 1
        started.append(functions_host)
        if primary_url is not None:
            log.info("HTTP worker %d serving %s", args.http_worker_number if args else 0, functions_host.base_url)
            if announce_ready():
                await stop.wait()
            return 0
        if workers > 1 and args is not None and functions_host.port is not None:
            private_url = await functions_host.add_private_listener()
            worker_processes = WorkerProcesses(workers, http_worker_argv(args, functions_host.port), private_url)
            await worker_processes.start()
            started.append(worker_processes)
            await functions_host.listen()
        print_function_urls(functions_host)
        log.info("devhost listening on %s (route prefix '/%s'); press Ctrl+C to stop", functions_host.base_url,
                 settings.route_prefix)
        await stop.wait()
    finally:
        for service in reversed(started):
            try:
                await service.stop()
            except Exception:
                log.exception("error while stopping %s", type(service).__name__)
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
    log.info("devhost stopped")
    return 0


def split_app_spec(spec: str) -> tuple[str, str]:
    module, _, attribute = spec.partition(":")
    return module, attribute or "app"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level, args.http_worker_number)
    project_dir = Path.cwd()
    try:
        local = LocalSettings.find(project_dir)
    except LocalSettingsError as exc:
        log.error("%s", exc)
        return 2
    if args.http_worker_of is None:  # an HTTP worker inherits the environment its primary built
        applied = local.apply_to(os.environ)
        if local.path is not None:
            log.info("loaded %d setting(s) from %s", len(applied), local.path.name)
        else:
            log.warning("no local.settings.json or local.settings.json.example; using the environment only")
    host_json = HostJson.load(project_dir / "host.json")

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))  # the worker imports function_app from the app root
    # --- local OIDC provider: before the app is imported (it validates its settings at import) ---
    oidc = OidcProviderSupervisor(os.environ.get("DEV_OIDC_ISSUER"), project_root=project_dir)
    if args.http_worker_of is None:  # an HTTP worker inherits the primary's provider (and its environment)
        oidc.start()
    try:
        return _index_and_serve(args, local, host_json, project_dir)
    finally:
        oidc.stop()


def _index_and_serve(args: argparse.Namespace, local: LocalSettings, host_json: HostJson, project_dir: Path) -> int:
    module, attribute = split_app_spec(args.app)
    try:
        index = FunctionIndex.from_app(load_app(module, attribute))
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        log.error("cannot import the app module '%s' from %s (use --app module[:attribute])", module, project_dir)
        return 2

    settings = FunctionsHostSettings(
        host=args.host,
        port=args.port if args.port is not None else (local.local_http_port or DEFAULT_PORT),
        route_prefix=host_json.route_prefix,
        max_request_body_bytes=int(args.max_request_body_mb * 2**20),
        sync_threads=sync_thread_count(),
        shutdown_grace_seconds=args.shutdown_grace,
        function_directory=str(project_dir),
        cors=CorsPolicy.parse(args.cors if args.cors is not None else local.cors,
                              args.cors_credentials if args.cors_credentials is not None else local.cors_credentials),
    )
    azurite = None if args.no_azurite else AzuriteSupervisor(
        storage_connection_string(dict(os.environ)), project_root=project_dir, in_memory=args.azurite_in_memory)
    # --- Web PubSub emulator: only when WebPubSubConnectionString points at this machine ---
    try:
        webpubsub = None if args.no_webpubsub else emulator_from_environment(os.environ)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    return asyncio.run(serve(index, settings, host_json=host_json, azurite=azurite, webpubsub=webpubsub, args=args))


if __name__ == "__main__":
    sys.exit(main())
