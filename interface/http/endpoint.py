"""Decorator every HTTP trigger wears: request id, error mapping and one log line.

It sits *under* the Functions decorators (``@bp.route`` on top) and keeps the wrapped signature
(``functools.wraps``), because the worker binds trigger and input bindings by parameter name.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import azure.functions as func

from interface.http.errors import app_error_response, unexpected_error_response
from shared.errors import AppError
from shared.request_context import REQUEST_ID_HEADER, new_request_id, reset_request_id, set_request_id

log = logging.getLogger("tagarela.http")
F = TypeVar("F", bound=Callable[..., Any])


class _RequestScope:
    """What happens around one invocation, shared by the sync and the async wrapper."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.req = next((v for v in (*args, *kwargs.values()) if isinstance(v, func.HttpRequest)), None)
        client_id = self.req.headers.get(REQUEST_ID_HEADER) if self.req is not None else None
        self.request_id = new_request_id(client_id)
        self._token = set_request_id(self.request_id)
        self._started = time.perf_counter()

    def failed(self, error: Exception) -> func.HttpResponse:
        if isinstance(error, AppError):
            return app_error_response(error)
        return unexpected_error_response(error, self.request_id)

    def finish(self, response: func.HttpResponse) -> func.HttpResponse:
        try:
            response.headers[REQUEST_ID_HEADER] = self.request_id
            if self.req is not None:
                elapsed_ms = (time.perf_counter() - self._started) * 1000
                path = self.req.url.split("?", 1)[0]
                # The id is in the message itself, not only in the record, because the host's own
                # log formatter (Application Insights, devhost) does not print custom attributes.
                log.info(
                    "%s %s -> %s in %.1f ms request_id=%s",
                    self.req.method, path, response.status_code, elapsed_ms, self.request_id,
                )
            return response
        finally:
            reset_request_id(self._token)


def http_endpoint(handler: F) -> F:
    if inspect.iscoroutinefunction(handler):
        async_handler = cast(Callable[..., Awaitable[func.HttpResponse]], handler)

        @functools.wraps(handler)
        async def async_wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
            scope = _RequestScope(args, kwargs)
            try:
                response = await async_handler(*args, **kwargs)
            except Exception as error:
                response = scope.failed(error)
            return scope.finish(response)

        return cast(F, async_wrapper)

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        scope = _RequestScope(args, kwargs)
        try:
            response = handler(*args, **kwargs)
        except Exception as error:
            response = scope.failed(error)
        return scope.finish(response)

    return cast(F, wrapper)
