"""Server processes a benchmark starts (devhost, a standalone emulator): start, wait, stop.

Built on devhost's own helper-process code, so benchmarks start and stop servers the way devhost
starts its helpers: output to a log file, wait until the port answers, SIGTERM then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from devhost.child_process import free_port, spawn, terminate, wait_until_listening

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["free_port", "serving"]


@contextlib.contextmanager
def serving(cmd: list[str], env: dict[str, str], log_path: Path, port: int,
            timeout: float = 40.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` (with ``env`` over the current environment) until the block ends."""
    process, log_file = spawn(cmd, cwd=ROOT, log_path=log_path, env={**os.environ, **env})
    try:
        wait_until_listening(process, "127.0.0.1", port, timeout=timeout, what=cmd[2] if len(cmd) > 2 else cmd[0],
                             error=RuntimeError, hint=f" (see {log_path})")
        yield process
    finally:
        terminate(process, log_file, timeout=15, what=f"benchmark server on port {port}")
