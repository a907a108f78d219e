"""Sign-in with external providers (Google, Apple, Microsoft, generic OIDC, dev).

``GET  /api/auth/providers``                    the configured providers and their flows
``GET  /api/auth/{provider}/login``             302 to the provider (code + PKCE S256 + state + nonce)
``GET|POST /api/auth/{provider}/callback``      the provider's answer (Apple posts a form) → sign-in
``POST /api/auth/{provider}/token``             native: {"id_token", "nonce"} → sign-in
``POST /api/auth/{provider}/link``              bearer: {"authorization_url"} to link another provider
``POST /api/auth/handover``                     {"code"} from a return_to redirect → sign-in

Each handler parses, calls one use case, and answers with the shared sign-in response shape.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import parse_qs

import azure.functions as func

from application.identity.sign_in import HandoverRedirect
from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE, sign_in_response
from interface.http.client_info import client_info
from interface.http.endpoint import http_endpoint
from interface.http.rate_limit import rate_limited
from interface.http.request_body import parse_json
from interface.http.responses import json_response
from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

bp = func.Blueprint()

_PROVIDER = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_MAX_FORM_BYTES = 16 * 1024
_REDIRECT_HEADERS = {**NO_STORE, "Referrer-Policy": "no-referrer"}


def _provider(req: func.HttpRequest) -> str:
    name = (req.route_params.get("provider") or "").lower()
    if not _PROVIDER.match(name):
        raise InvalidInput("This sign-in provider is not available.", code="unknown_provider")
    return name


def _query(req: func.HttpRequest, name: str, max_length: int = 2048) -> str | None:
    value = req.params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise InvalidInput(f"The '{name}' parameter is too long.")
    return value


def _redirect(location: str) -> func.HttpResponse:
    return func.HttpResponse(status_code=302, headers={"Location": location, **_REDIRECT_HEADERS})


def _callback_fields(req: func.HttpRequest) -> dict[str, str]:
    """Query parameters (GET) or the form Apple posts with ``response_mode=form_post``."""
    if req.method.upper() == "GET":
        return {k: v for k, v in req.params.items() if isinstance(v, str)}
    body = req.get_body() or b""
    if len(body) > _MAX_FORM_BYTES:
        raise PayloadTooLarge(f"The request body is larger than {_MAX_FORM_BYTES} bytes.")
    content_type = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("The callback takes an application/x-www-form-urlencoded form.")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The callback form is malformed.", code="malformed_form") from None
    return {k: v[0] for k, v in parsed.items() if len(v) == 1}


def _apple_name(user_field: str | None) -> str | None:
    """Apple's ``user`` form field (first sign-in only): {"name":{"firstName","lastName"},"email"}.
    Not signed, so it only ever supplies a display name, never an identity."""
    if not user_field or len(user_field) > 4096:
        return None
    try:
        data: Any = json.loads(user_field)
    except ValueError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, dict):
        return None
    parts = [name.get("firstName"), name.get("lastName")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return joined[:100] or None


@bp.route(route="auth/providers", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("providers")
def list_providers(req: func.HttpRequest) -> func.HttpResponse:
    providers = [
        {"name": p.name, "display_name": p.display_name, "flows": list(p.flows)} for p in services().list_providers()
    ]
    return json_response({"providers": providers}, headers={"Cache-Control": "public, max-age=60"})


@bp.route(route="auth/{provider}/login", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("login")
def login(req: func.HttpRequest) -> func.HttpResponse:
    url = services().start_web_login(
        _provider(req), return_to=_query(req, "return_to"), login_hint=_query(req, "login_hint", 320)
    )
    return _redirect(url)


@bp.route(route="auth/{provider}/callback", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("callback")
def callback(req: func.HttpRequest) -> func.HttpResponse:
    provider = _provider(req)
    fields = _callback_fields(req)
    outcome = services().finish_web_login(
        provider,
        state=fields.get("state"),
        code=fields.get("code"),
        error=fields.get("error"),
        client=client_info(req),
        name_hint=_apple_name(fields.get("user")),
    )
    if isinstance(outcome, HandoverRedirect):
        return _redirect(outcome.location)
    return sign_in_response(outcome)


@functools.cache
def _token_body() -> type:
    from pydantic import BaseModel, ConfigDict, Field

    class IdTokenBody(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id_token: str = Field(min_length=16, max_length=16384)
        nonce: str = Field(min_length=16, max_length=256)
        display_name: str | None = Field(default=None, max_length=100)

    return IdTokenBody


@functools.cache
def _handover_body() -> type:
    from pydantic import BaseModel, ConfigDict, Field

    class HandoverBody(BaseModel):
        model_config = ConfigDict(extra="forbid")
        code: str = Field(min_length=16, max_length=256)

    return HandoverBody


@functools.cache
def _link_body() -> type:
    from pydantic import BaseModel, ConfigDict, Field

    class LinkBody(BaseModel):
        model_config = ConfigDict(extra="forbid")
        return_to: str | None = Field(default=None, max_length=2048)

    return LinkBody


@bp.route(route="auth/{provider}/token", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("token")
def native_token(req: func.HttpRequest) -> func.HttpResponse:
    provider = _provider(req)
    body: Any = parse_json(req, _token_body())
    outcome = services().sign_in_with_id_token(
        provider, id_token=body.id_token, nonce=body.nonce, client=client_info(req), name_hint=body.display_name
    )
    return sign_in_response(outcome)


@bp.route(route="auth/{provider}/link", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("login")
def link(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    provider = _provider(req)
    body: Any = parse_json(req, _link_body()) if (req.get_body() or b"").strip() else None
    url = services().start_link(principal.user_id, provider, return_to=body.return_to if body else None)
    return json_response({"authorization_url": url}, headers=NO_STORE)


@bp.route(route="auth/handover", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("token")
def handover(req: func.HttpRequest) -> func.HttpResponse:
    body: Any = parse_json(req, _handover_body())
    return sign_in_response(services().redeem_handover(body.code, client_info(req)))
