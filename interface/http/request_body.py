"""Parsing and validating JSON request bodies into pydantic models, with clear 4xx errors.

Every endpoint that takes a body goes through :func:`parse_json`, so malformed JSON, a wrong
content type, wrong field types, unknown fields and oversized bodies are rejected the same way
(400/413/415) before any use case runs — bad input changes nothing.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import azure.functions as func

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

T = TypeVar("T")
DEFAULT_MAX_BYTES = 64 * 1024


def parse_json(req: func.HttpRequest, model: type[T], *, max_bytes: int = DEFAULT_MAX_BYTES) -> T:
    """``model`` is a pydantic model class (imported by callers; pydantic loads lazily here)."""
    from pydantic import ValidationError

    body = req.get_body() or b""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    content_type = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        data: Any = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The request body is not valid JSON.", code="malformed_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.", code="malformed_json")
    try:
        return model.model_validate(data)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as error:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        details = {"fields": fields}
        raise InvalidInput("The request body is invalid.", code="validation_failed", details=details) from None
