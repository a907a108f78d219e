"""The id of the request being served, carried through logs without passing it around.

A ``ContextVar`` works for both threads (the sync worker pool) and asyncio tasks, so every log
line written while serving a request can carry the id the client sees in ``X-Request-Id``.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# A client-supplied id is accepted only if it is short and harmless in a log line.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(client_value: str | None = None) -> str:
    """Reuse a well-formed id sent by the client (or a proxy), else mint a fresh one."""
    if client_value and _SAFE_ID.match(client_value):
        return client_value
    return uuid.uuid4().hex


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` so formatters can print it (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True
