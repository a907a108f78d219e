"""Time sources for the durable engine.

Orchestrators only ever see time through history timestamps, so the engine owns the clock:
``VirtualClock`` makes timers and retry back-offs fire instantly and deterministically (tests),
``RealClock`` sleeps for real but wakes early when new work arrives (dev server).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current UTC time (timezone-aware)."""
        ...

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event) -> None:
        """Return at ``deadline`` or as soon as ``wake`` is set, whichever comes first."""
        ...

    @property
    def is_virtual(self) -> bool: ...


class RealClock:
    """Wall-clock time; sleeping is interrupted by ``wake`` so new input is handled at once."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event) -> None:
        delay = (deadline - self.now()).total_seconds()
        if delay <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=delay)

    @property
    def is_virtual(self) -> bool:
        return False


class VirtualClock:
    """Deterministic time that only moves when the engine (or a test) advances it.

    Sleeping jumps straight to the deadline, so a one-hour durable timer costs nothing.
    """

    DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or self.DEFAULT_START

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def advance_to(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event) -> None:
        if not wake.is_set():
            self.advance_to(deadline)
        await asyncio.sleep(0)

    @property
    def is_virtual(self) -> bool:
        return True
