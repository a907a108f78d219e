"""Decorator every HTTP trigger wears: request id, error mapping and one log line.

It sits *under* the Functions decorators (``@bp.route`` on top) and keeps the wrapped signature
(``functools.wraps``), because the worker binds trigger and input bindings by parameter name.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import Any, Awaitable, Callable, TypeVar, cast

import azure.functions as func

from interface.http.errors import app_error_response, unexpected_error_response
from shared.errors import AppError
from shared.request_context import REQUEST_ID_HEADER, new_request_id, reset_request_id, set_request_id

log = logging.getLogger("tagarela.http")
F = TypeVar("F", bound=Callable[..., Any])


def _find_request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> func.HttpRequest | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, func.HttpRequest):
            return value
    return None


def _finish(response: func.HttpResponse, request_id: str, req: func.HttpRequest | None, started: float) -> func.HttpResponse:
    response.headers[REQUEST_ID_HEADER] = request_id
    if req is not None:
        log.info(
            "%s %s -> %s in %.1f ms",
            req.method,
            req.url.split("?", 1)[0],
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
    return response


def _begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[func.HttpRequest | None, str, object, float]:
    req = _find_request(args, kwargs)
    request_id = new_request_id(req.headers.get(REQUEST_ID_HEADER) if req is not None else None)
    return req, request_id, set_request_id(request_id), time.perf_counter()


def http_endpoint(handler: F) -> F:
    if inspect.iscoroutinefunction(handler):
        async_handler = cast(Callable[..., Awaitable[func.HttpResponse]], handler)

        @functools.wraps(handler)
        async def async_wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
            req, request_id, token, started = _begin(args, kwargs)
            try:
                response = await async_handler(*args, **kwargs)
            except AppError as error:
                response = app_error_response(error)
            except Exception as error:
                response = unexpected_error_response(error, request_id)
            try:
                return _finish(response, request_id, req, started)
            finally:
                reset_request_id(token)

        return cast(F, async_wrapper)

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        req, request_id, token, started = _begin(args, kwargs)
        try:
            response = handler(*args, **kwargs)
        except AppError as error:
            response = app_error_response(error)
        except Exception as error:
            response = unexpected_error_response(error, request_id)
        try:
            return _finish(response, request_id, req, started)
        finally:
            reset_request_id(token)

    return cast(F, wrapper)
