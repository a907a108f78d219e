"""Chat message endpoints (bearer; members only — others get 404 for the session).

- ``POST /api/sessions/{session_id}/messages`` ``{"client_message_id", "text", "reply_to_seq"?,
  "file_ids"?}`` → 201 ``{"message": {...}, "duplicate": false}``; a retry with the same
  ``client_message_id`` → 200 ``{"message": <the original>, "duplicate": true}`` with header
  ``Idempotent-Replayed: true``. 413 ``message_too_long``, 400 ``empty_message`` /
  ``invalid_client_message_id`` / ``invalid_reply_to`` / ``invalid_attachment``, 429 with ``Retry-After``.
- ``GET /api/sessions/{session_id}/messages?after_seq=N&limit=`` (catch-up) → 200 ``{"messages": [...],
  "has_more", "last_seq", "next_after_seq"}``; ``?before_seq=N`` (scrollback) or nothing (latest page) →
  ``{"messages", "has_more", "last_seq", "next_before_seq"}``. Oldest first; deleted messages are
  tombstones (``"deleted": true``) so seqs have no gaps.
- ``PATCH /api/sessions/{session_id}/messages/{seq}`` ``{"text"}`` → 200 ``{"message"}`` (sender only).
- ``DELETE /api/sessions/{session_id}/messages/{seq}`` → 204 (sender or an owner; idempotent).
- ``POST /api/sessions/{session_id}/read`` ``{"seq"}`` → 200 ``{"session_id", "seq"}``: the caller's read
  position after the call (forward only, capped at the last seq).
"""

from __future__ import annotations

import uuid

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE
from interface.http.chat_params import query_int, route_int, route_uuid
from interface.http.endpoint import http_endpoint
from interface.http.request_body import parse_json
from interface.http.responses import json_response

bp = func.Blueprint()

# A 16,000-character text is at most 64 KB of UTF-8, and the use case enforces the real limit.
_MESSAGE_BODY_MAX_BYTES = 96 * 1024


class SendMessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_message_id: str = Field(min_length=1, max_length=64)
    text: str
    reply_to_seq: int | None = Field(default=None, ge=1)
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class EditMessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)


@bp.route(route="sessions/{session_id}/messages", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def send_message(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id = route_uuid(req, "session_id")
    body = parse_json(req, SendMessageRequest, max_bytes=_MESSAGE_BODY_MAX_BYTES)
    sent = services().send_message(
        principal.user_id, session_id, body.client_message_id, body.text, body.reply_to_seq, body.file_ids
    )
    headers = dict(NO_STORE)
    if sent.duplicate:
        headers["Idempotent-Replayed"] = "true"
    return json_response(
        {"message": sent.message, "duplicate": sent.duplicate}, status=200 if sent.duplicate else 201, headers=headers
    )


@bp.route(route="sessions/{session_id}/messages", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def list_messages(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id = route_uuid(req, "session_id")
    page = services().list_messages(
        principal.user_id,
        session_id,
        after_seq=query_int(req, "after_seq"),
        before_seq=query_int(req, "before_seq"),
        limit=query_int(req, "limit"),
    )
    body: dict[str, object] = {"messages": page.messages, "has_more": page.has_more, "last_seq": page.last_seq}
    if page.next_after_seq is not None:
        body["next_after_seq"] = page.next_after_seq
    else:
        body["next_before_seq"] = page.next_before_seq
    return json_response(body, headers=NO_STORE)


@bp.route(route="sessions/{session_id}/messages/{seq}", methods=["PATCH"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def edit_message(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id, seq = route_uuid(req, "session_id"), route_int(req, "seq")
    body = parse_json(req, EditMessageRequest, max_bytes=_MESSAGE_BODY_MAX_BYTES)
    view = services().edit_message(principal.user_id, session_id, seq, body.text)
    return json_response({"message": view}, headers=NO_STORE)


@bp.route(route="sessions/{session_id}/messages/{seq}", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def delete_message(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id, seq = route_uuid(req, "session_id"), route_int(req, "seq")
    services().delete_message(principal.user_id, session_id, seq)
    return func.HttpResponse(status_code=204, headers=dict(NO_STORE))


@bp.route(route="sessions/{session_id}/read", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def mark_read(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id = route_uuid(req, "session_id")
    body = parse_json(req, ReadRequest)
    seq = services().mark_read(principal.user_id, session_id, body.seq)
    return json_response({"session_id": str(session_id), "seq": seq}, headers=NO_STORE)
