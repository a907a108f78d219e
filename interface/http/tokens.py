"""Our session endpoints: JWKS, refresh, logout, logout everywhere.

- ``GET /api/.well-known/jwks.json`` → 200 RFC 7517 key set, ``Cache-Control: public, max-age=300``.
- ``POST /api/auth/refresh`` ``{"refresh_token": ...}`` → 200 ``{"access_token", "refresh_token",
  "token_type": "Bearer", "expires_in", "user"}`` (``no-store``); 401 + ``WWW-Authenticate: Bearer``
  for an unknown, expired, revoked or reused token; 400/413/415 for a bad body.
- ``POST /api/auth/logout`` (bearer) → 204: this session is revoked, its access tokens stop at once.
- ``POST /api/auth/logout-all`` (bearer) → 200 ``{"revoked_sessions": n}``: every session of the user.
"""

from __future__ import annotations

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from application.identity.jwks import JWKS_CACHE_SECONDS
from application.identity.results import SignedIn
from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE, sign_in_response
from interface.http.endpoint import http_endpoint
from interface.http.rate_limit import rate_limited
from interface.http.request_body import parse_json
from interface.http.responses import json_response

bp = func.Blueprint()


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_token: str = Field(min_length=1, max_length=256)


@bp.route(route=".well-known/jwks.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def jwks(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(
        services().publish_signing_keys(),
        headers={"Cache-Control": f"public, max-age={JWKS_CACHE_SECONDS}"},
    )


@bp.route(route="auth/refresh", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("refresh")
def refresh(req: func.HttpRequest) -> func.HttpResponse:
    body = parse_json(req, RefreshRequest)
    signed_in: SignedIn = services().refresh_session(body.refresh_token)
    return sign_in_response(signed_in)


@bp.route(route="auth/logout", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("logout")
def logout(req: func.HttpRequest) -> func.HttpResponse:
    services().logout(require_principal(req))
    return func.HttpResponse(status_code=204, headers=dict(NO_STORE))


@bp.route(route="auth/logout-all", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("logout")
def logout_all(req: func.HttpRequest) -> func.HttpResponse:
    revoked = services().logout_all(require_principal(req))
    return json_response({"revoked_sessions": revoked}, headers=NO_STORE)
