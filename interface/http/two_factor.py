"""Two-factor authentication endpoints (TOTP + recovery codes). Every answer is ``no-store``.

- ``POST /api/auth/2fa/setup`` (bearer, no body) → 200 ``{"secret", "otpauth_uri", "qr_svg"}``: a
  new pending secret (replaces a pending one); 409 ``mfa_already_enabled`` when 2FA is on.
- ``POST /api/auth/2fa/enable`` (bearer) ``{"code"}`` → 200 ``{"enabled": true, "recovery_codes":
  [10 codes]}`` (shown once); 401 ``invalid_mfa_code``; 409 when not set up or already enabled.
- ``POST /api/auth/2fa/verify`` ``{"mfa_token", "code"}`` or ``{"mfa_token", "recovery_code"}`` →
  the sign-in response (tokens + user); 401 ``invalid_mfa_token`` (unknown/expired/used/5 attempts
  spent: sign in again) or ``invalid_mfa_code``.
- ``POST /api/auth/2fa/disable`` (bearer) ``{"code"}`` or ``{"recovery_code"}`` → 200
  ``{"enabled": false}``; 409 ``mfa_not_enabled``.
- ``POST /api/auth/2fa/recovery-codes`` (bearer) ``{"code"}`` → 200 ``{"recovery_codes": [...]}``;
  every older code stops working.

Wrong codes count towards a per-account lockout: 429 ``mfa_locked`` with ``Retry-After`` while it
lasts. Per-IP limits: ``mfa`` (verify, enable, disable, regenerate) and ``mfa_setup``. A malformed
body is a 400 that counts as no attempt and changes nothing.
"""

from __future__ import annotations

from typing import Self

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, model_validator

from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE, sign_in_response
from interface.http.client_info import client_info
from interface.http.endpoint import http_endpoint
from interface.http.rate_limit import rate_limited
from interface.http.request_body import parse_json
from interface.http.responses import json_response

bp = func.Blueprint()

TOTP_PATTERN = r"^[0-9]{6}$"  # the 6-digit code the authenticator app shows


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=TOTP_PATTERN)


class CodeOrRecoveryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str | None = Field(default=None, pattern=TOTP_PATTERN)
    # One of the recovery codes; case, spaces and dashes do not matter.
    recovery_code: str | None = Field(default=None, min_length=8, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send exactly one of 'code' or 'recovery_code'")
        return self


class VerifyRequest(CodeOrRecoveryRequest):
    mfa_token: str = Field(min_length=16, max_length=128)



@bp.route(route="auth/2fa/setup", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("mfa_setup")
def setup(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    result = services().setup_two_factor.execute(principal.user_id)
    body = {"secret": result.secret, "otpauth_uri": result.otpauth_uri, "qr_svg": result.qr_svg}
    return json_response(body, headers=NO_STORE)


@bp.route(route="auth/2fa/enable", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("mfa")
def enable(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    body = parse_json(req, CodeRequest)
    codes = services().enable_two_factor.execute(principal.user_id, body.code)
    return json_response({"enabled": True, "recovery_codes": list(codes)}, headers=NO_STORE)


@bp.route(route="auth/2fa/verify", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("mfa")
def verify(req: func.HttpRequest) -> func.HttpResponse:
    body = parse_json(req, VerifyRequest)
    signed_in = services().verify_two_factor.execute(
        body.mfa_token, client_info(req), code=body.code, recovery_code=body.recovery_code
    )
    return sign_in_response(signed_in)


@bp.route(route="auth/2fa/disable", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("mfa")
def disable(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    body = parse_json(req, CodeOrRecoveryRequest)
    services().disable_two_factor.execute(principal.user_id, code=body.code, recovery_code=body.recovery_code)
    return json_response({"enabled": False}, headers=NO_STORE)


@bp.route(route="auth/2fa/recovery-codes", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("mfa")
def regenerate_recovery_codes(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    body = parse_json(req, CodeRequest)
    codes = services().regenerate_recovery_codes.execute(principal.user_id, body.code)
    return json_response({"recovery_codes": list(codes)}, headers=NO_STORE)
