"""The system clock (``application.ports.clock.Clock``); tests use a fake one they can move."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
