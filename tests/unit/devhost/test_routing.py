"""ASP.NET route template parsing, constraints, precedence and resolution (pure)."""

from __future__ import annotations

import pytest

from devhost.functions_host.routing import (
    MethodNotAllowed,
    NoRoute,
    RouteMatch,
    RouteTable,
    RouteTemplate,
    RouteTemplateError,
    split_path,
)


def match(template: str, path: str) -> dict[str, str] | None:
    return RouteTemplate.parse(template).match(split_path(path))


@pytest.mark.parametrize(("template", "path", "expected"), [
    ("hello", "hello", {}),
    ("hello", "HELLO", {}),  # literals are case-insensitive
    ("hello", "hello/", {}),  # a trailing slash is ignored
    ("hello", "hello/x", None),
    ("hello/{name}", "hello/Ada", {"name": "Ada"}),
    ("hello/{name}", "hello", None),
    ("hello/{name}", "hello/Ada%20L", {"name": "Ada L"}),  # values are percent-decoded
    ("hello/{name}", "hello/a%2Fb", {"name": "a%2Fb"}),  # ... except %2F, as in Kestrel
    ("opt/{v?}", "opt", {}),
    ("opt/{v?}", "opt/1", {"v": "1"}),
    ("opt/{v:int?}", "opt/x", None),
    ("opt/{v:int?}", "opt", {}),
    ("def/{v=7}", "def", {"v": "7"}),
    ("def/{v:int=7}", "def/8", {"v": "8"}),
    ("files/{*rest}", "files", {}),
    ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
    ("files/{**rest}", "files/a/b", {"rest": "a/b"}),
    ("dl/{name}.{ext}", "dl/report.final.pdf", {"name": "report.final", "ext": "pdf"}),
    ("dl/{name}.{ext}", "dl/report", None),
    ("a/{x}/b/{y}", "a/1/B/2", {"x": "1", "y": "2"}),
])
def test_template_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert match(template, path) == expected


@pytest.mark.parametrize(("constraint", "good", "bad"), [
    ("int", ["0", "-5", "2147483647"], ["x", "1.5", "2147483648", ""]),
    ("long", ["9223372036854775807"], ["9223372036854775808", "a"]),
    ("bool", ["true", "False"], ["yes", "1"]),
    ("guid", ["0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5bd9cb469fa16570867728950e"], ["nope"]),
    ("alpha", ["abcXYZ"], ["abc1", "é"]),
    ("double", ["1.5", "-2e3"], ["x", "nan"]),
    ("decimal", ["1.25"], ["1,25"]),
    ("datetime", ["2024-01-31", "2024-01-31T10:00:00"], ["31/01/2024"]),
    ("min(3)", ["3", "10"], ["2", "x"]),
    ("max(3)", ["3", "-1"], ["4"]),
    ("range(1,5)", ["1", "5"], ["0", "6"]),
    ("minlength(2)", ["ab"], ["a"]),
    ("maxlength(2)", ["ab"], ["abc"]),
    ("length(2)", ["ab"], ["a", "abc"]),
    ("length(1,3)", ["a", "abc"], ["abcd"]),
    ("regex(^[a-z]{{2}}$)", ["ab", "AB"], ["abc"]),  # braces doubled in templates; ignore-case as ASP.NET
    ("int:min(10)", ["10"], ["9", "x"]),
])
def test_constraints(constraint: str, good: list[str], bad: list[str]) -> None:
    template = RouteTemplate.parse(f"c/{{v:{constraint}}}")
    for value in good:
        assert template.match(["c", value]) == {"v": value}, value
    for value in bad:
        assert template.match(["c", value]) is None, value


@pytest.mark.parametrize("bad", [
    "a/{x", "a/x}", "a/{x}{y}", "a/{*rest}/b", "a/{x}/{x}", "a/{x:nosuch}", "a/{x?=1}", "a//b", "a/{1x}",
    "a/{x:min(a)}",
])
def test_invalid_templates_are_rejected(bad: str) -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate.parse(bad)


def test_precedence_digits() -> None:
    assert RouteTemplate.parse("users/me").precedence == "11"
    assert RouteTemplate.parse("users/{id:int}").precedence == "13"
    assert RouteTemplate.parse("users/{name}").precedence == "14"
    assert RouteTemplate.parse("users/{*rest}").precedence == "15"
    assert RouteTemplate.parse("dl/{a}.{b}").precedence == "12"


def _table() -> RouteTable[str]:
    table: RouteTable[str] = RouteTable("api")
    # registered least specific first, to prove order does not decide
    table.add("users/{*rest}", [], "catch_all")
    table.add("users/{name}", ["GET", "PUT"], "by_name")
    table.add("users/{id:int}", ["GET"], "by_id")
    table.add("users/me", ["get"], "me")
    return table


@pytest.mark.parametrize(("path", "target"), [
    ("/api/users/me", "me"),
    ("/api/users/42", "by_id"),
    ("/api/users/bob", "by_name"),
    ("/api/users/bob/extra", "catch_all"),
    ("/API/users/me", "me"),  # the prefix is matched like a literal
])
def test_more_specific_routes_win(path: str, target: str) -> None:
    result = _table().resolve("GET", path)
    assert isinstance(result, RouteMatch)
    assert result.target == target


def test_method_falls_through_to_a_less_specific_route() -> None:
    result = _table().resolve("PUT", "/api/users/me")  # 'me' is GET only; {name} allows PUT
    assert isinstance(result, RouteMatch) and result.target == "by_name"


def test_method_not_allowed_lists_allowed_methods() -> None:
    table: RouteTable[str] = RouteTable("api")
    table.add("things/{id}", ["GET"], "get")
    table.add("things/{id:int}", ["DELETE"], "delete")
    result = table.resolve("POST", "/api/things/1")
    assert result == MethodNotAllowed(("DELETE", "GET"))


def test_no_route_outside_prefix_and_empty_prefix() -> None:
    table: RouteTable[str] = RouteTable("api")
    table.add("ping", [], "ping")
    assert isinstance(table.resolve("GET", "/ping"), NoRoute)
    assert isinstance(table.resolve("GET", "/api"), NoRoute)
    bare: RouteTable[str] = RouteTable("")
    bare.add("ping", [], "ping")
    assert isinstance(bare.resolve("GET", "/ping"), RouteMatch)
    assert isinstance(bare.resolve("GET", "/api/ping"), NoRoute)


def test_multi_segment_prefix_and_query_ignored() -> None:
    table: RouteTable[str] = RouteTable("/v1/api/")
    table.add("ping", [], "ping")
    assert isinstance(table.resolve("GET", "/v1/api/ping?x=1"), RouteMatch)


def test_split_path() -> None:
    assert split_path("/") == []
    assert split_path("/api/a%20b/") == ["api", "a b"]
    assert split_path("/api/x?q=1") == ["api", "x"]
