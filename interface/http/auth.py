"""Authentication of protected endpoints: ``Authorization: Bearer <access token>``.

Any failure — missing, malformed, expired, forged, or a token of a revoked session — is the same
401 with ``WWW-Authenticate: Bearer`` (RFC 6750), so a caller learns nothing about which check
failed. The verification itself is a use case (``services().authenticate``), which also checks that
the token's session is still alive: logging out stops the access token at once.
"""

from __future__ import annotations

import azure.functions as func

from application.identity.results import Principal
from interface.dependencies import services
from shared.errors import Unauthenticated

# JWTs are a few hundred bytes; anything far larger is not ours and not worth parsing.
_MAX_TOKEN_LENGTH = 4096


def bearer_token(req: func.HttpRequest) -> str:
    header = req.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("A bearer access token is required.", code="unauthenticated")
    if len(token) > _MAX_TOKEN_LENGTH or " " in token:
        raise Unauthenticated("The access token is invalid.", code="invalid_token")
    return token


def require_principal(req: func.HttpRequest) -> Principal:
    return services().authenticate(bearer_token(req))
