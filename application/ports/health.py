"""Port for a dependency whose availability the health endpoint reports."""

from __future__ import annotations

from typing import Protocol


class HealthProbe(Protocol):
    """Checks one dependency. ``name`` is the key in the health report ("database", "storage").

    ``check`` returns normally when the dependency answers and raises any exception otherwise;
    the exception text is logged, never shown to the client.
    """

    name: str

    def check(self) -> None: ...
