"""The chat's tunable limits, filled from settings by the composition root."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_message_chars: int = 4000
    # Messages per user per window (REST and WebSocket together); 0 turns the limit off.
    send_rate_limit: int = 30
    send_rate_window_seconds: int = 10
    page_size_default: int = 50
    page_size_max: int = 100
    # Typing notices per user per window: typing is cheap but fans out to every member.
    typing_rate_limit: int = 20
    typing_rate_window_seconds: int = 10

    def page_size(self, requested: int | None) -> int:
        if requested is None:
            return self.page_size_default
        return max(1, min(requested, self.page_size_max))
