"""Message search: the query language, its AST and the text normalization every dialect shares.

Pure functions and frozen dataclasses; the SQL adapters translate a :class:`ParsedQuery` into their
own full-text syntax from *normalized tokens only*, so no character a user types ever reaches a
full-text parser unquoted.

Query language (whitespace separated, case- and accent-insensitive)::

    word            the word must appear (all words are ANDed)
    "exact phrase"  the words must appear next to each other, in order (an unclosed quote runs to the end)
    prefix*         a word starting with "prefix" (at least 2 characters); also as the last word of a phrase
    -word -"a b"    exclude messages with that word / phrase (needs at least one positive term)
    from:<id|me>    sender (a user id, an agent id, or "me")
    in:<session id> one session
    after:YYYY-MM-DD / before:YYYY-MM-DD   created on or after / strictly before that day (UTC)
    has:file        messages with attachments

Normalization = Unicode NFKD, combining marks dropped, lower case; a token is a run of letters and
digits (``[^\\W_]+``). It matches SQLite FTS5's ``unicode61 remove_diacritics 2`` tokenizer and
PostgreSQL's ``to_tsvector('simple', lower(unaccent(body)))`` for Portuguese, English and Spanish text
("não" = "nao" = "NÃO", "ação" = "acao", "España" = "espana").
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.errors import InvalidInput

MAX_QUERY_CHARS = 512
MAX_TERMS = 16
MAX_PHRASE_WORDS = 8
MIN_PREFIX_CHARS = 2
MAX_TOKEN_CHARS = 64

_TOKEN = re.compile(r"[^\W_]+")
_SENDER = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class InvalidSearchQuery(InvalidInput):
    code = "invalid_search_query"


def normalize(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokenize(text: str) -> list[str]:
    """The normalized tokens of ``text`` (what the indexes store)."""
    return _TOKEN.findall(normalize(text))


@dataclass(frozen=True, slots=True)
class Term:
    """One word or phrase (``words`` in order); ``prefix``: the last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False
    negated: bool = False

    def matches(self, token: str, index: int) -> bool:
        word = self.words[index]
        return token.startswith(word) if self.prefix and index == len(self.words) - 1 else token == word


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: tuple[Term, ...] = ()
    senders: tuple[str, ...] = ()  # "me" is kept as is; the use case resolves it
    sessions: tuple[str, ...] = ()
    after: datetime | None = None
    before: datetime | None = None
    has_file: bool = False

    @property
    def positive(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.negated)

    @property
    def negative(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.negated)


def parse_day(value: str, name: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO-8601 instant with an offset."""
    try:
        if _DAY.match(value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        if len(value) > 40:
            raise ValueError
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError
        return parsed.astimezone(UTC)
    except ValueError:
        raise InvalidSearchQuery(
            f"'{name}' must be a date (YYYY-MM-DD) or an ISO-8601 time with an offset.", details={"parameter": name}
        ) from None


def _split(query: str) -> list[tuple[str, bool]]:
    """(chunk, quoted) pieces: quoted phrases keep their leading ``-``/``modifier:`` outside."""
    pieces: list[tuple[str, bool]] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        negated = ch == "-" and i + 1 < n and query[i + 1] == '"'
        if ch == '"' or negated:
            i += 2 if negated else 1
            end = query.find('"', i)
            end = n if end < 0 else end
            text = query[i:end]
            pieces.append((("-" if negated else "") + text, True))
            i = end + 1
            if i < n and query[i] == "*":
                pieces[-1] = (pieces[-1][0] + "*", True)
                i += 1
            continue
        while i < n and not query[i].isspace() and query[i] != '"':
            i += 1
        pieces.append((query[start:i], False))
    return pieces


def _term(text: str, *, negated: bool) -> Term | None:
    prefix = text.rstrip().endswith("*")
    words = tokenize(text)
    if not words:
        return None
    if len(words) > MAX_PHRASE_WORDS:
        raise InvalidSearchQuery(f"A phrase may have at most {MAX_PHRASE_WORDS} words.")
    if any(len(w) > MAX_TOKEN_CHARS for w in words):
        raise InvalidSearchQuery(f"Words longer than {MAX_TOKEN_CHARS} characters cannot be searched.")
    if prefix and len(words[-1]) < MIN_PREFIX_CHARS:
        raise InvalidSearchQuery(f"A prefix search needs at least {MIN_PREFIX_CHARS} letters before '*'.")
    return Term(tuple(words), prefix=prefix, negated=negated)


def parse_query(query: str) -> ParsedQuery:
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidSearchQuery(f"The search query is longer than {MAX_QUERY_CHARS} characters.",
                                 code="query_too_long")
    terms: list[Term] = []
    senders: list[str] = []
    sessions: list[str] = []
    after: datetime | None = None
    before: datetime | None = None
    has_file = False
    for chunk, quoted in _split(query):
        negated = chunk.startswith("-")
        body = chunk[1:] if negated else chunk
        if not quoted and not negated:
            key, sep, value = body.partition(":")
            key = key.lower()
            if sep and key in ("from", "in", "after", "before", "has"):
                if key == "from":
                    if not _SENDER.match(value):
                        raise InvalidSearchQuery("'from:' needs a user id, an agent id or 'me'.")
                    senders.append("me" if value.lower() == "me" else value)
                elif key == "in":
                    if not _UUID.match(value):
                        raise InvalidSearchQuery("'in:' needs a session id.")
                    sessions.append(value)
                elif key == "has":
                    if value.lower() not in ("file", "files", "attachment", "attachments"):
                        raise InvalidSearchQuery("Only 'has:file' is understood.")
                    has_file = True
                elif key == "after":
                    day = parse_day(value, "after:")
                    after = day if after is None else max(after, day)
                else:
                    day = parse_day(value, "before:")
                    before = day if before is None else min(before, day)
                continue
        term = _term(body, negated=negated)
        if term is not None:
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise InvalidSearchQuery(f"A search may have at most {MAX_TERMS} words or phrases.")
    return ParsedQuery(tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(senders)), tuple(dict.fromkeys(sessions)),
                       after, before, has_file)


# --- snippets -----------------------------------------------------------------------------------

_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return normalize(ch)


# Latin-1 Supplement and Latin Extended-A/B folded in one C-level str.translate (pt/en/es text).
_LATIN_FOLD = {cp: normalize(chr(cp)) for cp in range(0x80, 0x250) if len(normalize(chr(cp))) == 1}


def _folded(body: str) -> str | None:
    """``body`` normalized character by character, when that keeps every index in place."""
    if body.isascii():
        return body.lower()
    latin = body.translate(_LATIN_FOLD).lower()
    if latin.isascii() and len(latin) == len(body):
        return latin
    folded = [_fold_char(ch) for ch in body]
    return "".join(folded) if all(len(ch) == 1 for ch in folded) else None


def _marked_spans(body: str, terms: tuple[Term, ...]) -> list[_Span]:
    folded = _folded(body)
    if folded is not None:
        tokens = [(m.start(), m.end(), m.group()) for m in _WORDS.finditer(folded)]
    else:  # NFKD changed lengths (e.g. "ﬁ"): normalize each body token whole instead
        tokens = [(m.start(), m.end(), normalize(m.group())) for m in _WORDS.finditer(body)]
    marked: set[int] = set()
    words = {t.words[0] for t in terms if len(t.words) == 1 and not t.prefix}
    others = [t for t in terms if len(t.words) > 1 or t.prefix]
    for i, (_, _, token) in enumerate(tokens):
        if token in words:
            marked.add(i)
    for term in others:
        size = len(term.words)
        for i in range(len(tokens) - size + 1):
            if all(term.matches(tokens[i + k][2], k) for k in range(size)):
                marked.update(range(i, i + size))
    return [_Span(tokens[i][0], tokens[i][1]) for i in sorted(marked)]


def make_snippet(body: str, terms: tuple[Term, ...], *, width: int = 160) -> str:
    """An HTML-safe excerpt of ``body`` around the first match, matches wrapped in ``<mark>``."""
    spans = _marked_spans(body, tuple(t for t in terms if not t.negated))
    start = 0
    if spans and len(body) > width:
        start = max(0, spans[0].start - width // 4)
        if start > 0:
            space = body.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(body), start + width)
    if end < len(body):
        space = body.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    out: list[str] = ["…"] if start > 0 else []
    pos = start
    for span in spans:
        if span.end <= start or span.start >= end:
            continue
        s, e = max(span.start, pos), min(span.end, end)
        out.append(html.escape(body[pos:s]))
        out.append(f"<mark>{html.escape(body[s:e])}</mark>")
        pos = e
    out.append(html.escape(body[pos:end]))
    if end < len(body):
        out.append("…")
    return "".join(out)


# --- the whole request, after the endpoint's parameters are merged with the query's modifiers ----

SORTS = ("relevance", "date")


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    terms: tuple[Term, ...]
    sessions: frozenset[uuid.UUID] = field(default_factory=frozenset)  # all required (AND)
    senders: frozenset[str] = field(default_factory=frozenset)  # all required (AND)
    sender_kind: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    has_attachments: bool | None = None
    language: str | None = None
    sentiment: str | None = None
    sort: str = "relevance"

    def __post_init__(self) -> None:
        if not any(not t.negated for t in self.terms):
            raise InvalidSearchQuery("The search needs at least one word to look for.", code="empty_query")

    @property
    def positive(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.negated)

    @property
    def negative(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.negated)

    def fingerprint(self) -> str:
        """Stable text of everything that shapes the result set (cursors are bound to it)."""
        parts = [
            "|".join(sorted(f"{'-' if t.negated else ''}{' '.join(t.words)}{'*' if t.prefix else ''}"
                            for t in self.terms)),
            ",".join(sorted(str(s) for s in self.sessions)), ",".join(sorted(self.senders)), self.sender_kind or "",
            self.after.isoformat() if self.after else "", self.before.isoformat() if self.before else "",
            "" if self.has_attachments is None else str(self.has_attachments), self.language or "",
            self.sentiment or "", self.sort,
        ]
        return "\x1f".join(parts)

    def empty(self) -> bool:
        """True when the filters can match nothing (contradictory sessions/senders, empty date range)."""
        if len(self.sessions) > 1 or len(self.senders) > 1:
            return True
        return self.after is not None and self.before is not None and self.after >= self.before
