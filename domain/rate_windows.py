"""Fixed rate-limit windows, aligned on the Unix epoch so that every instance agrees on them.

Shared by the standalone SQL rate limiter (sign-in abuse limits) and the chat send limit, which is
counted inside the send's own transaction (see ``application.chat.messages.SendMessage``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def window_bounds(now: datetime, window_seconds: int) -> tuple[datetime, datetime]:
    """The fixed window containing ``now``: ``[start, end)``."""
    if window_seconds < 1:
        raise ValueError("window_seconds must be positive")
    epoch = math.floor(now.timestamp())
    start = epoch - epoch % window_seconds
    window_start = datetime.fromtimestamp(start, UTC)
    return window_start, window_start + timedelta(seconds=window_seconds)


def retry_after_seconds(now: datetime, window_end: datetime) -> int:
    """Whole seconds until the window ends, at least 1 (what ``Retry-After`` carries)."""
    return max(1, math.ceil((window_end - now).total_seconds()))
