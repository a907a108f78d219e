"""Helper processes devhost runs beside the app (Azurite, the local OIDC provider).

Both are Node programs that devhost starts in their own session (so a Ctrl-C on the terminal
reaches devhost only, which then stops them in order), waits for until their port answers, and
stops with SIGTERM, then SIGKILL. One implementation, so both behave the same.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger("devhost")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_is_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def spawn(cmd: Sequence[str], *, cwd: Path, log_path: Path | None,
          env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen[bytes], IO[bytes] | None]:
    """Start ``cmd`` with its output appended to ``log_path`` (or discarded); ``env`` replaces the
    environment when given."""
    log_file: IO[bytes] | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("ab")
    output = log_file if log_file is not None else subprocess.DEVNULL
    process = subprocess.Popen(list(cmd), cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True,
                               env=dict(env) if env is not None else None)
    return process, log_file


def wait_until_listening(process: subprocess.Popen[bytes] | None, host: str, port: int, *, timeout: float,
                         what: str, error: type[Exception], hint: str = "") -> None:
    """Return once ``host:port`` answers; raise ``error`` if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise error(f"{what} exited with code {process.returncode} before listening{hint}")
        if port_is_open(host, port):
            return
        time.sleep(0.05)
    raise error(f"{what} did not listen on {host}:{port} within {timeout:.0f}s{hint}")


def terminate(process: subprocess.Popen[bytes] | None, log_file: IO[bytes] | None, *, timeout: float,
              what: str) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; closes the log file."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s (pid %d) ignored SIGTERM for %.0fs; killing it", what, process.pid, timeout)
            process.kill()
            process.wait()
    if log_file is not None:
        log_file.close()
