"""Use case: report whether the app's dependencies answer.

Probes run in parallel with one deadline, so one hung dependency cannot make the health endpoint
hang (load balancers and the Functions platform poll it with short timeouts). Failure details go
to the log only: a health endpoint is public and must not leak hostnames or driver messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from application.ports.health import HealthProbe
from shared.errors import NotFound

CheckResult = Literal["ok", "error", "timeout"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, CheckResult]

    @property
    def healthy(self) -> bool:
        return all(result == "ok" for result in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return sorted(name for name, result in self.checks.items() if result != "ok")


class CheckHealth:
    def __init__(self, probes: Sequence[HealthProbe], *, timeout_seconds: float) -> None:
        self._probes = {probe.name: probe for probe in probes}
        self._timeout = timeout_seconds
        # Daemon-free pool kept for the process lifetime: health is polled often.
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self._probes)), thread_name_prefix="health")

    @property
    def check_names(self) -> list[str]:
        return sorted(self._probes)

    def __call__(self) -> HealthReport:
        futures = {name: self._pool.submit(probe.check) for name, probe in self._probes.items()}
        wait(futures.values(), timeout=self._timeout)
        return HealthReport({name: _outcome(name, future) for name, future in futures.items()})

    def check_one(self, name: str) -> CheckResult:
        """Runs a single probe (used by the durable deep-health orchestration, one activity each)."""
        probe = self._probes.get(name)
        if probe is None:
            raise NotFound(f"No health check named '{name}'")
        future = self._pool.submit(probe.check)
        wait([future], timeout=self._timeout)
        return _outcome(name, future)


def _outcome(name: str, future: Future[None]) -> CheckResult:
    if not future.done():
        log.warning("health check %s timed out", name)
        return "timeout"
    error = future.exception()
    if error is not None:
        log.warning("health check %s failed: %s: %s", name, type(error).__name__, error)
        return "error"
    return "ok"
