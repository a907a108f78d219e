"""The one place that turns errors into HTTP responses.

Every failure leaves as ``{"error": {"code": ..., "message": ...}}`` with the status its category
implies. Unknown exceptions become a 500 whose body carries only the request id: the stack trace
goes to the log, never to the client.
"""

from __future__ import annotations

import logging

import azure.functions as func

from interface.http.responses import json_response
from shared.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

_STATUS_BY_CATEGORY: tuple[tuple[type[AppError], int], ...] = (
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (RateLimited, 429),
    (Unavailable, 503),
)


def status_for(error: AppError) -> int:
    for category, status in _STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 500


def error_body(code: str, message: str, details: dict[str, object] | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def app_error_response(error: AppError) -> func.HttpResponse:
    status = status_for(error)
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if error.code == "invalid_token" else "Bearer"
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, Unavailable):
        headers["Retry-After"] = "5"
    if status >= 500:
        log.warning("request failed: %s (%s)", error.code, error.message)
    return json_response(error_body(error.code, error.message, error.details or None), status=status, headers=headers)


def unexpected_error_response(error: BaseException, request_id: str) -> func.HttpResponse:
    log.error("unhandled error", exc_info=error)
    return json_response(
        error_body("internal_error", f"An unexpected error occurred. Quote request id {request_id} when reporting it."),
        status=500,
    )
