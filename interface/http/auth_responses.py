"""JSON shapes of sign-in results, shared by every endpoint that completes or renews a sign-in."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from application.identity.results import MfaRequired, SignedIn, SignInOutcome, TokenPair
from domain.users import User
from interface.http.responses import json_response

# Tokens must never be cached by browsers or proxies (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "display_name": user.display_name,
        "email": user.email,
        "email_verified": user.email_verified,
    }


def tokens_json(tokens: TokenPair) -> dict[str, Any]:
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": tokens.token_type,
        "expires_in": tokens.expires_in,
    }


def sign_in_response(outcome: SignInOutcome) -> func.HttpResponse:
    if isinstance(outcome, MfaRequired):
        body: dict[str, Any] = {"mfa_required": True, "mfa_token": outcome.mfa_token, "expires_in": outcome.expires_in}
    elif isinstance(outcome, SignedIn):
        body = {**tokens_json(outcome.tokens), "user": user_json(outcome.user)}
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown sign-in outcome {outcome!r}")
    return json_response(body, headers=NO_STORE)
