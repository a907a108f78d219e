"""Port for abuse limits that must hold across every Function instance (so: shared storage)."""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    def hit(self, bucket: str, *, limit: int, window_seconds: int) -> None:
        """Count one attempt in ``bucket``; raise ``shared.errors.RateLimited`` (with
        ``retry_after_seconds``) once more than ``limit`` attempts fall in the current window."""
        ...
