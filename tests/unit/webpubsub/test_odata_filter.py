"""The OData filter subset used on sends."""

from __future__ import annotations

import pytest

from devhost.webpubsub.odata_filter import FilterError, parse_filter


@pytest.mark.parametrize(("text", "expected"), [
    ("userId eq 'alice'", True),
    ("userId ne 'alice'", False),
    ("'alice' eq userId", True),
    ("connectionId eq 'c1'", True),
    ("'room' in groups", True),
    ("'other' in groups", False),
    ("userId eq 'alice' and 'other' in groups", False),
    ("userId eq 'bob' or 'room' in groups", True),
    ("not ('room' in groups)", False),
    ("NOT (userId eq 'bob') AND (connectionId ne 'c2')", True),
    ("userId eq null", False),
    ("userId eq 'it''s'", False),
])
def test_filters_evaluate(text: str, expected: bool) -> None:
    assert parse_filter(text)("c1", "alice", {"room"}) is expected


def test_quotes_escape_and_null_user() -> None:
    assert parse_filter("userId eq 'it''s'")("c", "it's", set())
    assert parse_filter("userId eq null")("c", None, set())


@pytest.mark.parametrize("text", ["", "userId", "userId eq", "userId like 'a'", "'a' in users", "userId eq 'a' and",
                                  "(userId eq 'a'", "userId eq 'a')", "groups eq 'a'", "'a' eq 'b'", "userId eq \"a\"",
                                  "1 eq userId"])
def test_bad_filters_raise(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(text)
