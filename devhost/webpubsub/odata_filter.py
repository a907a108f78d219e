"""The OData ``filter`` subset the REST API accepts on sends and ``:addToGroups``.

Grammar: comparisons ``userId|connectionId eq|ne '<text>'`` (either side may be the literal; ``null``
allowed for userId), membership ``'<group>' in groups``, combined with ``and``, ``or``, ``not`` and
parentheses. Strings use single quotes, ``''`` escapes a quote. Anything else is a ``FilterError``
(400 for the caller).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

Predicate = Callable[[str, "str | None", Collection[str]], bool]  # (connection_id, user_id, groups)

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")
_FIELDS = {"userid": "user", "connectionid": "connection"}


class FilterError(ValueError):
    """The filter is not in the supported subset."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | paren | word
    value: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"unexpected input at {pos}: {text[pos:pos + 20]!r}")
        pos = match.end()
        if match.group("str") is not None:
            tokens.append(_Tok("str", match.group("str")[1:-1].replace("''", "'")))
        elif match.group("paren") is not None:
            tokens.append(_Tok("paren", match.group("paren")))
        else:
            tokens.append(_Tok("word", match.group("word")))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek_word(self, *words: str) -> bool:
        if self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            return tok.kind == "word" and tok.value.lower() in words
        return False

    def take(self) -> _Tok:
        if self.pos >= len(self.tokens):
            raise FilterError("unexpected end of filter")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.pos != len(self.tokens):
            raise FilterError(f"unexpected {self.tokens[self.pos].value!r}")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.peek_word("or"):
            self.pos += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda c, u, g: any(p(c, u, g) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.peek_word("and"):
            self.pos += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda c, u, g: all(p(c, u, g) for p in parts))

    def unary(self) -> Predicate:
        if self.peek_word("not"):
            self.pos += 1
            inner = self.unary()
            return lambda c, u, g: not inner(c, u, g)
        tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if tok is not None and tok.kind == "paren" and tok.value == "(":
            self.pos += 1
            inner = self.or_expr()
            close = self.take()
            if close.kind != "paren" or close.value != ")":
                raise FilterError("missing ')'")
            return inner
        return self.comparison()

    def operand(self) -> tuple[str, str | None]:
        tok = self.take()
        if tok.kind == "str":
            return "literal", tok.value
        if tok.kind == "word" and tok.value.lower() in _FIELDS:
            return "field", _FIELDS[tok.value.lower()]
        if tok.kind == "word" and tok.value.lower() == "null":
            return "literal", None
        if tok.kind == "word" and tok.value.lower() == "groups":
            return "groups", None
        raise FilterError(f"unexpected {tok.value!r}")

    def comparison(self) -> Predicate:
        left = self.operand()
        op_tok = self.take()
        op = op_tok.value.lower()
        if op_tok.kind != "word" or op not in ("eq", "ne", "in"):
            raise FilterError(f"expected eq, ne or in, got {op_tok.value!r}")
        right = self.operand()
        if op == "in":
            if left[0] != "literal" or left[1] is None or right[0] != "groups":
                raise FilterError("'in' needs the form '<group>' in groups")
            group = left[1]
            return lambda c, u, g: group in g
        if left[0] == "literal" and right[0] == "field":
            left, right = right, left
        if left[0] != "field" or right[0] != "literal":
            raise FilterError("a comparison needs a field (userId, connectionId) and a string")
        which, value = left[1], right[1]
        if which == "connection":
            def pick(c: str, u: str | None) -> str | None:
                return c
        else:
            def pick(c: str, u: str | None) -> str | None:
                return u
        if op == "eq":
            return lambda c, u, g: pick(c, u) == value
        return lambda c, u, g: pick(c, u) != value


def parse_filter(text: str) -> Predicate:
    """Compile ``text`` into a predicate over (connection_id, user_id, groups)."""
    if not text.strip():
        raise FilterError("empty filter")
    return _Parser(_tokenize(text)).parse()
