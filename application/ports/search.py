"""Port for full-text message search: one adapter per SQL dialect (``infra/sql/search``).

The adapter owns the whole query: full-text match, the caller's membership (results only ever come
from sessions ``user_id`` belongs to), every filter of :class:`SearchCriteria`, deleted messages
left out, the order and the keyset. It returns at most ``limit`` hits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from domain.chat import Message
from domain.search import SearchCriteria


@dataclass(frozen=True, slots=True)
class SearchKey:
    """A position in the result order: the adapter's raw sort value (``rank``; None in date order)
    and the message id (the tiebreaker; ids are chronological and unique)."""

    rank: float | None
    message_id: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: Message
    session_title: str
    attachments: tuple[uuid.UUID, ...]
    key: SearchKey
    # Relevance, higher is better (the scale is the engine's own: bm25, ts_rank, RANK); None in date order.
    score: float | None


class MessageSearch(Protocol):
    def search(
        self, user_id: uuid.UUID, criteria: SearchCriteria, *, after: SearchKey | None, limit: int
    ) -> list[SearchHit]:
        """Hits strictly after ``after`` in ``criteria.sort`` order (relevance: best first, then newest;
        date: newest first)."""
        ...
