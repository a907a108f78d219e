"""Fakes for unit tests of the interface layer (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.health import CheckHealth


@dataclass
class FakeProbe:
    name: str
    fails_with: Exception | None = None
    calls: int = field(default=0)

    def check(self) -> None:
        self.calls += 1
        if self.fails_with is not None:
            raise self.fails_with


@dataclass
class FakeServices:
    check_health: CheckHealth
