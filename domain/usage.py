"""LLM token accounting, per user and per agent, for quotas and reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidTokenUsage
from domain.time import require_utc, utc_now


@dataclass(slots=True)
class TokenUsage:
    """One LLM call. ``total_tokens`` defaults to input + output but a provider may report more
    (e.g. reasoning tokens), so a larger total is kept as reported; a smaller one is a bug."""

    user_id: uuid.UUID
    agent: str
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int | None = None
    session_id: uuid.UUID | None = None
    message_id: int | None = None
    created_at: datetime = field(default_factory=utc_now)
    id: int | None = None

    def __post_init__(self) -> None:
        if not self.agent or not self.model:
            raise InvalidTokenUsage("agent and model are required")
        if self.input_tokens < 0 or self.output_tokens < 0:
            raise InvalidTokenUsage("token counts must not be negative")
        if self.total_tokens is None:
            self.total_tokens = self.input_tokens + self.output_tokens
        if self.total_tokens < self.input_tokens + self.output_tokens:
            raise InvalidTokenUsage("total tokens must be at least input + output")
        self.created_at = require_utc(self.created_at, "created_at")


@dataclass(frozen=True, slots=True)
class UsageTotals:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
