"""JWTs the service checks (client access tokens, REST bearer tokens) and the tokens it issues.

Every token is HS256 over the UTF-8 bytes of the AccessKey string exactly as written (not base64
decoded) — what the Python and JS SDKs sign with. ``aud`` is compared like the notes advise: scheme
and host case-insensitively, path and query exactly (a trailing slash tolerated on client URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import jwt

RECONNECTION_ISSUER = "azure-webpubsub-emulator"
RECONNECTION_TOKEN_SECONDS = 7 * 24 * 3600


class TokenError(Exception):
    """The token is missing, malformed, badly signed, expired or for another audience."""


def decode(token: str, keys: Sequence[str], *, leeway: float) -> dict[str, Any]:
    """Verify signature and ``exp`` with any of ``keys``; ``aud`` is checked by the caller."""
    if not token:
        raise TokenError("no access token")
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(token, key.encode(), algorithms=["HS256"], leeway=leeway,
                                options={"verify_aud": False, "require": ["exp"]})
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        if not isinstance(claims, dict):
            raise TokenError("claims are not an object")
        return claims
    raise TokenError(f"bad signature: {last}")


def _normalise(url: str, *, strip_slash: bool) -> tuple[str, str, str]:
    parts = urlsplit(url)
    path = parts.path.rstrip("/") if strip_slash else parts.path
    hostport = (parts.netloc or "").lower()
    target = path + (f"?{parts.query}" if parts.query else "")
    return parts.scheme.lower(), hostport, target


def audience_matches(claims: Mapping[str, Any], expected_url: str, *, client: bool) -> bool:
    """``aud`` (string or list) names ``expected_url``.

    Client tokens: the path is compared case-insensitively and without a trailing slash (the SDKs
    keep the hub name as given). REST tokens: path and query must be exactly the raw request target.
    """
    audiences = claims.get("aud")
    if isinstance(audiences, str):
        audiences = [audiences]
    if not isinstance(audiences, list):
        return False
    want = _normalise(expected_url, strip_slash=client)
    for aud in audiences:
        if not isinstance(aud, str):
            continue
        got = _normalise(aud, strip_slash=client)
        if client:
            if got[:2] == want[:2] and got[2].split("?")[0].lower() == want[2].split("?")[0].lower():
                return True
        elif got == want:
            return True
    return False


def issue_reconnection_token(connection_id: str, key: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": RECONNECTION_ISSUER, "aud": connection_id, "iat": now,
                       "exp": now + RECONNECTION_TOKEN_SECONDS}, key.encode(), algorithm="HS256")


def reconnection_token_valid(token: str, connection_id: str, keys: Sequence[str]) -> bool:
    for key in keys:
        try:
            jwt.decode(token, key.encode(), algorithms=["HS256"], audience=connection_id,
                       issuer=RECONNECTION_ISSUER)
            return True
        except jwt.PyJWTError:
            continue
    return False


def issue_client_token(key: str, audience: str, *, user_id: str | None, roles: Sequence[str],
                       groups: Sequence[str], minutes: float) -> str:
    """What ``:generateToken`` returns (the same claims as the SDK's ``get_client_access_token``)."""
    now = int(time.time())
    claims: dict[str, Any] = {"aud": audience, "iat": now, "exp": now + int(minutes * 60)}
    if user_id:
        claims["sub"] = user_id
    if roles:
        claims["role"] = list(roles)
    if groups:
        claims["webpubsub.group"] = list(groups)
    return jwt.encode(claims, key.encode(), algorithm="HS256")


def signature(connection_id: str, keys: Sequence[str]) -> str:
    """``ce-signature``: ``sha256=<hex>`` per key, comma-separated, over the connection id."""
    return ",".join(
        "sha256=" + hmac.new(key.encode(), connection_id.encode(), hashlib.sha256).hexdigest() for key in keys)


def claim_list(claims: Mapping[str, Any], name: str) -> list[str]:
    """A claim that may be a string or a list of strings, as a list."""
    value = claims.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]
