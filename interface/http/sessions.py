"""Chat session endpoints (bearer). A session the caller is not a member of is a 404, as if it did
not exist.

- ``POST /api/sessions`` ``{"title", "member_ids"?}`` → 201 session (with members); the caller owns it.
- ``GET /api/sessions?cursor=&limit=`` → 200 ``{"sessions": [...], "next_cursor": str|null}``, most
  recently active first.
- ``GET /api/sessions/{session_id}`` → 200 session with ``members``.
- ``PATCH /api/sessions/{session_id}`` ``{"title"}`` → 200 session; owners only (403 otherwise).
- ``POST /api/sessions/{session_id}/members`` ``{"user_id"}`` → 201 member; owners only; 409
  ``already_member``; 404 ``user_not_found``.
- ``DELETE /api/sessions/{session_id}/members/{user_id}`` → 204; owners only; 409 ``last_owner``.
- ``POST /api/sessions/{session_id}/leave`` → 204; the last owner hands ownership to the oldest member.
"""

from __future__ import annotations

import uuid

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE
from interface.http.chat_params import query_int, query_str, route_uuid
from interface.http.endpoint import http_endpoint
from interface.http.request_body import parse_json
from interface.http.responses import json_response

bp = func.Blueprint()


class CreateSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class RenameSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)


class AddMemberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: uuid.UUID


def _no_content() -> func.HttpResponse:
    return func.HttpResponse(status_code=204, headers=dict(NO_STORE))


@bp.route(route="sessions", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def create_session(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    body = parse_json(req, CreateSessionRequest)
    view = services().create_session(principal.user_id, body.title, body.member_ids)
    return json_response(view, status=201, headers=NO_STORE)


@bp.route(route="sessions", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def list_sessions(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    page = services().list_my_sessions(
        principal.user_id, cursor=query_str(req, "cursor"), limit=query_int(req, "limit")
    )
    return json_response({"sessions": page.sessions, "next_cursor": page.next_cursor}, headers=NO_STORE)


@bp.route(route="sessions/{session_id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def get_session(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    view = services().get_session(principal.user_id, route_uuid(req, "session_id"))
    return json_response(view, headers=NO_STORE)


@bp.route(route="sessions/{session_id}", methods=["PATCH"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def rename_session(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id = route_uuid(req, "session_id")
    body = parse_json(req, RenameSessionRequest)
    return json_response(services().rename_session(principal.user_id, session_id, body.title), headers=NO_STORE)


@bp.route(route="sessions/{session_id}/members", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def add_member(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id = route_uuid(req, "session_id")
    body = parse_json(req, AddMemberRequest)
    view = services().add_member(principal.user_id, session_id, body.user_id)
    return json_response(view, status=201, headers=NO_STORE)


@bp.route(route="sessions/{session_id}/members/{user_id}", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def remove_member(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    session_id, member_id = route_uuid(req, "session_id"), route_uuid(req, "user_id")
    services().remove_member(principal.user_id, session_id, member_id)
    return _no_content()


@bp.route(route="sessions/{session_id}/leave", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def leave_session(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    services().leave_session(principal.user_id, route_uuid(req, "session_id"))
    return _no_content()
