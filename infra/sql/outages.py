"""Database outages as the application sees them: one retryable ``Unavailable`` (503).

A driver error is an outage when the server could not be reached or the connection died
(``OperationalError``, or any ``DBAPIError`` that invalidated its connection); anything else
(a constraint, a syntax error) is a bug or a conflict and propagates as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, OperationalError

from shared.errors import Unavailable

UNAVAILABLE_MESSAGE = "The database is unavailable right now; please retry."


def is_outage(exc: BaseException | None) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@contextmanager
def outages_as_unavailable() -> Iterator[None]:
    """Work outside a unit of work (which maps outages itself) raises ``Unavailable`` on an outage."""
    try:
        yield
    except DBAPIError as error:
        if is_outage(error):
            raise Unavailable(UNAVAILABLE_MESSAGE) from error
        raise
