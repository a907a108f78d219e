"""Route and query parameters of the chat endpoints, validated into 400s before any use case runs.

Route templates stay untyped (``{session_id}``, not ``{session_id:guid}``) on purpose: a typed
template that does not match is a 404 from the host, but a malformed id is the client's mistake
and deserves a 400 that says which parameter is wrong.
"""

from __future__ import annotations

import re
import uuid

import azure.functions as func

from shared.errors import InvalidInput

_INT = re.compile(r"^[0-9]{1,18}$")  # non-negative, fits a BIGINT


def route_uuid(req: func.HttpRequest, name: str) -> uuid.UUID:
    value = req.route_params.get(name, "")
    try:
        if len(value) != 36:
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a UUID.", code="invalid_id", details={"parameter": name}) from None


def route_int(req: func.HttpRequest, name: str) -> int:
    value = req.route_params.get(name, "")
    if not _INT.match(value):
        raise InvalidInput(f"'{name}' must be a non-negative integer.", code="invalid_id", details={"parameter": name})
    return int(value)


def query_int(req: func.HttpRequest, name: str) -> int | None:
    value = req.params.get(name)
    if value is None or value == "":
        return None
    if not _INT.match(value):
        raise InvalidInput(
            f"'{name}' must be a non-negative integer.", code="invalid_query", details={"parameter": name}
        )
    return int(value)


def query_str(req: func.HttpRequest, name: str, *, max_length: int = 512) -> str | None:
    value = req.params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise InvalidInput(f"'{name}' is too long.", code="invalid_query", details={"parameter": name})
    return value
