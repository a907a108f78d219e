"""Small helpers that build ``HttpResponse`` objects with JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import azure.functions as func


def json_response(body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str),
        status_code=status,
        headers=dict(headers or {}),
        mimetype="application/json",
        charset="utf-8",
    )
