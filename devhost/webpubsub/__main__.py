"""``python -m devhost.webpubsub``: run the Web PubSub emulator on its own.

Without options it reads ``WebPubSubConnectionString`` and ``WEBPUBSUB_EMULATOR_HUBS`` from the
environment (else the official emulator's default key on port 8080), and prints the connection
string the app and the SDKs should use.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from devhost.webpubsub.config import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PORT,
    ConfigError,
    EmulatorConfig,
    parse_connection_string,
    parse_hubs,
)
from devhost.webpubsub.server import WebPubSubEmulator
from devhost.webpubsub.settings import CONNECTION_STRING_SETTING, HUBS_SETTING


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost.webpubsub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default: the connection string's, else 8080; 0 picks a free one)")
    parser.add_argument("--connection-string", default=os.environ.get(CONNECTION_STRING_SETTING),
                        help=f"Endpoint=...;AccessKey=...;Version=1.0; (default ${CONNECTION_STRING_SETTING})")
    parser.add_argument("--hubs", default=os.environ.get(HUBS_SETTING),
                        help=f'event handlers as JSON {{"hub": {{"url": ..., "user_events": "*", '
                             f'"system_events": [...]}}}} (default ${HUBS_SETTING})')
    parser.add_argument("--recovery-seconds", type=float, default=30.0,
                        help="how long a dropped reliable connection can be recovered (default 30)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def run(emulator: WebPubSubEmulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await emulator.start()
    endpoint = f"http://localhost:{emulator.port}"
    print(f"Web PubSub emulator ready. Connection string:\n  "
          f"Endpoint={endpoint};AccessKey={emulator.config.connection.access_key};Version=1.0;", flush=True)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    raw = args.connection_string or f"Endpoint=http://localhost:{DEFAULT_PORT};AccessKey={DEFAULT_ACCESS_KEY};Version=1.0;"
    try:
        connection = parse_connection_string(raw)
        hubs = parse_hubs(args.hubs)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = EmulatorConfig(connection=connection, hubs=hubs, listen_host=args.host, listen_port=args.port,
                            recovery_window_seconds=args.recovery_seconds)
    asyncio.run(run(WebPubSubEmulator(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
