"""``SearchMessages``: full-text search over the caller's chat history.

The endpoint's parameters and the query string's modifiers (``from:``, ``in:``, ``after:``,
``before:``, ``has:file``) merge into one :class:`SearchCriteria` (both must hold: two different
sessions or senders match nothing). Cursors are opaque keysets bound to the criteria: a cursor
reused with another query or order is a 400, never a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.chat.views import message_view
from application.ports.search import MessageSearch, SearchKey
from domain.chat import SenderKind, SentimentLabel
from domain.search import SORTS, InvalidSearchQuery, SearchCriteria, make_snippet, parse_day, parse_query
from shared.errors import InvalidInput

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_MAX_CURSOR = 300


class InvalidSearchCursor(InvalidInput):
    code = "invalid_cursor"


@dataclass(frozen=True, slots=True)
class SearchLimits:
    page_size_default: int = 20
    page_size_max: int = 50


@dataclass(frozen=True, slots=True)
class SearchParams:
    """The endpoint's query parameters, as strings (None when absent)."""

    q: str = ""
    session: str | None = None
    sender: str | None = None
    sender_kind: str | None = None
    after: str | None = None
    before: str | None = None
    has_attachments: str | None = None
    language: str | None = None
    sentiment: str | None = None
    sort: str | None = None
    cursor: str | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    results: list[dict[str, Any]]
    next_cursor: str | None


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidSearchQuery(f"'{name}' must be a session id (UUID).", details={"parameter": name}) from None


def _bool(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidSearchQuery(f"'{name}' must be true or false.", details={"parameter": name})


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def build_criteria(user_id: uuid.UUID, params: SearchParams) -> SearchCriteria:
    parsed = parse_query(params.q)
    sessions = {_uuid(s, "in:") for s in parsed.sessions}
    if params.session is not None:
        sessions.add(_uuid(params.session, "session"))
    senders = {str(user_id) if s == "me" else s for s in parsed.senders}
    if params.sender is not None:
        if len(params.sender) > 64:
            raise InvalidSearchQuery("'sender' is too long.", details={"parameter": "sender"})
        senders.add(str(user_id) if params.sender.lower() == "me" else params.sender)
    kind = params.sender_kind
    if kind is not None and kind not in {k.value for k in SenderKind}:
        raise InvalidSearchQuery("'sender_kind' must be user, agent or system.", details={"parameter": "sender_kind"})
    sentiment = params.sentiment
    if sentiment is not None and sentiment not in {s.value for s in SentimentLabel}:
        raise InvalidSearchQuery("'sentiment' must be positive, neutral, negative or mixed.",
                                 details={"parameter": "sentiment"})
    language = params.language
    if language is not None and not _LANGUAGE.match(language):
        raise InvalidSearchQuery("'language' must be a language code like 'pt' or 'pt-BR'.",
                                 details={"parameter": "language"})
    sort = params.sort or "relevance"
    if sort not in SORTS:
        raise InvalidSearchQuery("'sort' must be relevance or date.", details={"parameter": "sort"})
    has_attachments = _bool(params.has_attachments, "has_attachments") if params.has_attachments else None
    if parsed.has_file:
        if has_attachments is False:
            raise InvalidSearchQuery("'has:file' contradicts has_attachments=false.")
        has_attachments = True
    after = _latest(parsed.after, parse_day(params.after, "after") if params.after else None)
    before = _earliest(parsed.before, parse_day(params.before, "before") if params.before else None)
    return SearchCriteria(
        terms=parsed.terms, sessions=frozenset(sessions), senders=frozenset(senders), sender_kind=kind,
        after=after, before=before, has_attachments=has_attachments, language=language.lower() if language else None,
        sentiment=sentiment, sort=sort,
    )


def _binding(criteria: SearchCriteria) -> str:
    return hashlib.sha256(criteria.fingerprint().encode()).hexdigest()[:16]


def encode_search_cursor(criteria: SearchCriteria, key: SearchKey) -> str:
    raw = json.dumps([_binding(criteria), key.rank, key.message_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_search_cursor(criteria: SearchCriteria, value: str) -> SearchKey:
    try:
        if len(value) > _MAX_CURSOR:
            raise ValueError("too long")
        binding, rank, message_id = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        if binding != _binding(criteria):
            raise InvalidSearchCursor("The cursor belongs to another search (query, filters or sort changed).")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or not 0 < message_id < 2**63:
            raise ValueError("id")
        if criteria.sort == "relevance":
            if not isinstance(rank, int | float) or isinstance(rank, bool) or rank != rank:
                raise ValueError("rank")
            return SearchKey(float(rank), message_id)
        if rank is not None:
            raise ValueError("rank")
        return SearchKey(None, message_id)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error, json.JSONDecodeError):
        raise InvalidSearchCursor("The cursor is not one this API handed out.") from None


class SearchMessages:
    def __init__(self, search: MessageSearch, limits: SearchLimits) -> None:
        self._search = search
        self._limits = limits

    def __call__(self, user_id: uuid.UUID, params: SearchParams) -> SearchPage:
        criteria = build_criteria(user_id, params)
        after = decode_search_cursor(criteria, params.cursor) if params.cursor else None
        limit = self._limits.page_size_default if params.limit is None else params.limit
        limit = max(1, min(limit, self._limits.page_size_max))
        if criteria.empty():
            return SearchPage([], None)
        hits = self._search.search(user_id, criteria, after=after, limit=limit + 1)
        more = len(hits) > limit
        hits = hits[:limit]
        results = []
        for hit in hits:
            item: dict[str, Any] = {
                "message": message_view(hit.message, hit.attachments),
                "session": {"id": str(hit.message.session_id), "title": hit.session_title},
                "snippet": make_snippet(hit.message.body, criteria.positive),
            }
            if hit.score is not None:
                item["rank"] = round(hit.score, 6)
            results.append(item)
        next_cursor = encode_search_cursor(criteria, hits[-1].key) if more and hits else None
        return SearchPage(results, next_cursor)
