"""Error categories shared by every layer.

Domain and application errors subclass one of these categories; the interface layer maps a
category to an HTTP status in exactly one place (``interface/http/errors.py``). Keeping the
category here (and not an HTTP status) lets the inner layers say *what* went wrong without
knowing that HTTP exists.
"""

from __future__ import annotations


class AppError(Exception):
    """Base of every error that is safe to show to a client.

    ``code`` is a stable machine-readable identifier; ``message`` is a human sentence that must
    never contain secrets or internal details (stack traces, SQL, connection strings).
    """

    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, object] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class InvalidInput(AppError):
    code = "invalid_input"


class Unauthenticated(AppError):
    code = "unauthenticated"


class Forbidden(AppError):
    code = "forbidden"


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    code = "conflict"


class PayloadTooLarge(AppError):
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"


class RateLimited(AppError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int, code: str | None = None):
        super().__init__(message, code=code, details={"retry_after": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class Unavailable(AppError):
    """A dependency (database, storage, ...) cannot be reached right now; the client may retry."""

    code = "unavailable"
