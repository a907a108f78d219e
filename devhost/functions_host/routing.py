"""ASP.NET-style route templates, matched the way the Functions host matches them.

The Functions host routes HTTP triggers with ASP.NET Core routing, so a route like
``sessions/{id:guid}/messages/{*rest}`` behaves by ASP.NET's rules, not by aiohttp's. Matching
those rules here (case-insensitive literals, optional parameters, defaults, inline constraints,
catch-alls, precedence of literal over parameter routes) keeps a route that works under devhost
working on Azure, and a route that 404s on Azure 404ing here too.

Precedence follows ASP.NET's ``RoutePrecedence.ComputeInbound``: each segment gets a digit
(1 literal, 2 complex segment, 3 constrained parameter, 4 parameter, 5 catch-all) and the
template with the smaller digit string wins; ties keep registration order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class RouteTemplateError(ValueError):
    """A route template the Functions host would refuse to index."""


# --------------------------------------------------------------------------- constraints


def _parse_int(value: str, bounds: tuple[int, int]) -> int | None:
    if not re.fullmatch(r"[+-]?\d+", value.strip()):
        return None
    number = int(value)
    return number if bounds[0] <= number <= bounds[1] else None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}


def _is_decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return _is_float(value)


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _args(raw: str | None, count: int, name: str) -> list[str]:
    parts = [] if raw is None else [p.strip() for p in raw.split(",")]
    if len(parts) != count:
        raise RouteTemplateError(f"constraint '{name}' takes {count} argument(s)")
    return parts


def _int_args(raw: str | None, count: int, name: str) -> list[int]:
    try:
        return [int(a) for a in _args(raw, count, name)]
    except ValueError as exc:
        raise RouteTemplateError(f"constraint '{name}' takes integer arguments") from exc


def build_constraint(name: str, raw_args: str | None) -> Callable[[str], bool]:
    """Turn one inline constraint (``int``, ``min(1)``, ``regex(^a+$)``...) into a predicate."""
    lname = name.lower()
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _parse_int(v, INT32) is not None,
        "long": lambda v: _parse_int(v, INT64) is not None,
        "bool": lambda v: v.strip().lower() in {"true", "false"},
        "guid": _is_guid,
        "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
        "datetime": _is_datetime,
        "decimal": _is_decimal,
        "double": _is_float,
        "float": _is_float,
        "required": lambda v: v != "",
        "nonfile": lambda v: "." not in v.rsplit("/", 1)[-1],
        "file": lambda v: "." in v.rsplit("/", 1)[-1],
    }
    if lname in simple:
        if raw_args is not None:
            raise RouteTemplateError(f"constraint '{name}' takes no arguments")
        return simple[lname]
    if lname == "minlength":
        (n,) = _int_args(raw_args, 1, name)
        return lambda v: len(v) >= n
    if lname == "maxlength":
        (n,) = _int_args(raw_args, 1, name)
        return lambda v: len(v) <= n
    if lname == "length":
        bounds = _int_args(raw_args, 2 if raw_args and "," in raw_args else 1, name)
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        return lambda v: low <= len(v) <= high
    if lname in {"min", "max", "range"}:
        limits = _int_args(raw_args, 2 if lname == "range" else 1, name)
        low = limits[0] if lname in {"min", "range"} else INT64[0]
        high = limits[-1] if lname in {"max", "range"} else INT64[1]

        def in_range(v: str) -> bool:
            number = _parse_int(v, INT64)
            return number is not None and low <= number <= high

        return in_range
    if lname == "regex":
        if raw_args is None:
            raise RouteTemplateError("constraint 'regex' needs a pattern")
        pattern = re.compile(raw_args, re.IGNORECASE)  # ASP.NET: IgnoreCase | CultureInvariant
        return lambda v: pattern.search(v) is not None
    raise RouteTemplateError(f"unknown route constraint '{name}'")


# --------------------------------------------------------------------------- template model


@dataclass(frozen=True)
class Parameter:
    name: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    constraints: tuple[Callable[[str], bool], ...] = ()

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.constraints)


@dataclass(frozen=True)
class Segment:
    """One ``/``-separated piece: literal text and parameters (``{name}.{ext}`` has three parts)."""

    parts: tuple[str | Parameter, ...]

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def parameter(self) -> Parameter | None:
        """The parameter when the segment is exactly one parameter, else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Parameter):
            return self.parts[0]
        return None

    @property
    def precedence_digit(self) -> str:
        if self.is_literal:
            return "1"
        param = self.parameter
        if param is None:
            return "2"
        if param.catch_all:
            return "5"
        return "3" if param.constraints else "4"


def _closing_paren(text: str) -> int:
    """Index of the ``)`` closing ``text[0] == "("``: the last one before ``:``, ``?``, ``=`` or the end."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and (i + 1 == len(text) or text[i + 1] in ":?="):
                return i
    raise RouteTemplateError(f"unclosed '(' in route constraint '{text}'")


def _parse_parameter(body: str) -> Parameter:
    """Parse ``[*]name[:constraint[(args)]]...[?][=default]``, ASP.NET's inline parameter syntax."""
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    name = re.match(r"[^:=?]*", body).group()  # type: ignore[union-attr]
    rest = body[len(name) :]
    constraints: list[Callable[[str], bool]] = []
    while rest.startswith(":"):
        m = re.match(r":(\w+)", rest)
        if m is None:
            raise RouteTemplateError(f"malformed route constraint in '{{{body}}}'")
        rest = rest[m.end() :]
        args: str | None = None
        if rest.startswith("("):
            end = _closing_paren(rest)
            args, rest = rest[1:end], rest[end + 1 :]
        constraints.append(build_constraint(m.group(1), args))
    optional = rest.startswith("?")
    rest = rest[1:] if optional else rest
    default: str | None = None
    if rest.startswith("="):
        default, rest = rest[1:], ""
    if rest:
        raise RouteTemplateError(f"malformed route parameter '{{{body}}}'")
    if optional and default is not None:
        raise RouteTemplateError(f"parameter '{name}' cannot be optional and have a default")
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise RouteTemplateError(f"invalid route parameter name '{name}'")
    return Parameter(name=name, optional=optional or catch_all, catch_all=catch_all, default=default,
                     constraints=tuple(constraints))


def _read_parameter_body(text: str, start: int) -> tuple[str, int]:
    """Read ``{...}`` from ``text[start]``; inside it ``{{``/``}}`` stand for literal braces (regex)."""
    body, j = "", start + 1
    while j < len(text):
        ch, nxt = text[j], text[j + 1 : j + 2]
        if ch in "{}" and nxt == ch:
            body, j = body + ch, j + 2
        elif ch == "}":
            return body, j + 1
        elif ch == "{":
            break
        else:
            body, j = body + ch, j + 1
    raise RouteTemplateError(f"unbalanced braces in segment '{text}'")


def _parse_segment(text: str) -> Segment:
    parts: list[str | Parameter] = []
    literal, i = "", 0
    while i < len(text):
        ch, nxt = text[i], text[i + 1 : i + 2]
        if ch in "{}" and nxt == ch:  # escaped literal brace
            literal, i = literal + ch, i + 2
        elif ch == "{":
            body, i = _read_parameter_body(text, i)
            if literal:
                parts.append(literal)
                literal = ""
            if parts and isinstance(parts[-1], Parameter):
                raise RouteTemplateError(f"segment '{text}' has two consecutive parameters")
            parts.append(_parse_parameter(body))
        elif ch == "}":
            raise RouteTemplateError(f"unbalanced braces in segment '{text}'")
        else:
            literal, i = literal + ch, i + 1
    if literal:
        parts.append(literal)
    return Segment(tuple(parts))


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template; ``match`` returns route values or None."""

    text: str
    segments: tuple[Segment, ...]
    precedence: str = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        cleaned = text.strip().strip("/")
        raw_segments = cleaned.split("/") if cleaned else []
        if any(s == "" for s in raw_segments):
            raise RouteTemplateError(f"route '{text}' has an empty segment")
        segments = tuple(_parse_segment(s) for s in raw_segments)
        names: set[str] = set()
        for i, seg in enumerate(segments):
            for part in seg.parts:
                if isinstance(part, Parameter):
                    if part.name.lower() in names:
                        raise RouteTemplateError(f"route '{text}' repeats parameter '{part.name}'")
                    names.add(part.name.lower())
                    if part.catch_all and (i != len(segments) - 1 or len(seg.parts) != 1):
                        raise RouteTemplateError(f"catch-all '{part.name}' must be the last segment of '{text}'")
                    if part.optional and not part.catch_all and len(seg.parts) != 1 and part is not seg.parts[-1]:
                        raise RouteTemplateError(f"optional '{part.name}' must end its segment in '{text}'")
        precedence = "".join(seg.precedence_digit for seg in segments)
        return cls(text=text, segments=segments, precedence=precedence)

    def match(self, path_segments: Sequence[str]) -> dict[str, str] | None:
        """Match already-split, percent-decoded path segments (no route prefix)."""
        values: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            param = seg.parameter
            if param is not None and param.catch_all:
                rest = "/".join(path_segments[i:])
                if rest:
                    if not param.accepts(rest):
                        return None
                    values[param.name] = rest
                elif param.default is not None:
                    values[param.name] = param.default
                return values
            if i >= len(path_segments):
                # Missing trailing segments are fine only if each is an optional or defaulted parameter.
                if param is None or not (param.optional or param.default is not None):
                    return None
                if param.default is not None:
                    values[param.name] = param.default
                continue
            if not _match_segment(seg, path_segments[i], values):
                return None
        if len(path_segments) > len(self.segments):
            return None
        return values


def _match_segment(seg: Segment, text: str, values: dict[str, str]) -> bool:
    if seg.is_literal:
        return text.lower() == "".join(seg.parts).lower()  # type: ignore[arg-type]
    param = seg.parameter
    if param is not None:
        if text == "":
            return False
        if not param.accepts(text):
            return False
        values[param.name] = text
        return True
    return _match_complex(seg, text, values)


def _match_complex(seg: Segment, text: str, values: dict[str, str]) -> bool:
    """Complex segments like ``{name}.{ext}``, matched right to left as ASP.NET does.

    ASP.NET finds each literal with ``LastIndexOf`` from the end, so ``a.b.txt`` gives
    ``name=a.b, ext=txt``; greedy groups give the same split.
    """
    pattern = ""
    params: list[Parameter] = []
    for part in seg.parts:
        if isinstance(part, str):
            pattern += re.escape(part)
        else:
            params.append(part)
            group = f"(?P<p{len(params) - 1}>.+)" if not part.optional else f"(?P<p{len(params) - 1}>.*)"
            pattern += group
    m = re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL)
    if m is None:
        return False
    found: dict[str, str] = {}
    for i, param in enumerate(params):
        value = m.group(f"p{i}")
        if value == "" and param.optional:
            continue
        if not param.accepts(value):
            return False
        found[param.name] = value
    values.update(found)
    return True


def split_path(raw_path: str) -> list[str]:
    """Split a raw (still percent-encoded) URL path into decoded segments.

    Splitting before decoding keeps an encoded ``%2F`` inside one segment, and the value keeps
    it as the text ``%2F``: Kestrel decodes every escape in the path except ``%2F``. A trailing
    slash is ignored, as ASP.NET routing ignores it.
    """
    path = raw_path.split("?", 1)[0]
    stripped = path.strip("/")
    if not stripped:
        return []
    return [unquote(_ENCODED_SLASH.sub(lambda m: "%25" + m.group(0)[1:], s)) for s in stripped.split("/")]


_ENCODED_SLASH = re.compile("%2F", re.IGNORECASE)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class RouteEntry(Generic[T]):
    template: RouteTemplate
    methods: frozenset[str]  # empty = every method
    target: T
    order: int

    def allows(self, method: str) -> bool:
        return not self.methods or method.upper() in self.methods


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    target: T
    route_params: dict[str, str]
    template: RouteTemplate


@dataclass(frozen=True)
class NoRoute:
    """No template matched the path (404)."""


@dataclass(frozen=True)
class MethodNotAllowed:
    """Some template matched the path but none for this method (404 like the host, with ``Allow``)."""

    allowed: tuple[str, ...]


class RouteTable(Generic[T]):
    """All HTTP routes under one prefix, sorted by ASP.NET precedence."""

    def __init__(self, prefix: str = "api") -> None:
        self.prefix_segments = [s.lower() for s in prefix.strip("/").split("/") if s]
        self._entries: list[RouteEntry[T]] = []

    def add(self, template: str, methods: Iterable[str], target: T) -> RouteEntry[T]:
        entry = RouteEntry(RouteTemplate.parse(template), frozenset(m.upper() for m in methods), target,
                           len(self._entries))
        self._entries.append(entry)
        self._entries.sort(key=lambda e: (e.template.precedence, e.order))
        return entry

    @property
    def entries(self) -> list[RouteEntry[T]]:
        return list(self._entries)

    def resolve(self, method: str, raw_path: str) -> RouteMatch[T] | NoRoute | MethodNotAllowed:
        segments = split_path(raw_path)
        n = len(self.prefix_segments)
        if [s.lower() for s in segments[:n]] != self.prefix_segments:
            return NoRoute()
        segments = segments[n:]
        allowed: set[str] = set()
        for entry in self._entries:
            values = entry.template.match(segments)
            if values is None:
                continue
            if entry.allows(method):
                return RouteMatch(entry.target, values, entry.template)
            allowed.update(entry.methods)
        if allowed:
            return MethodNotAllowed(tuple(sorted(allowed)))
        return NoRoute()
