"""ES256 access tokens with PyJWT: issuing and verifying (ports in ``application/identity/token_ports``).

Verification, in order — any failure is the same ``InvalidAccessToken`` (401 ``invalid_token``):

1. header: ``alg`` must be ES256 (so ``none`` and HS256-signed-with-our-public-key die here, and
   PyJWT's own allowlist checks again), ``typ`` must be ``at+jwt`` (RFC 9068: an ID token or any
   other JWT we might sign cannot be replayed as an access token), ``kid`` must name a key of *our*
   ring that is currently published; key material in the token is never looked at;
2. signature, ``iss``, ``aud`` and presence of every required claim: PyJWT;
3. ``exp``/``nbf``/``iat`` against the injected clock with a small leeway (PyJWT reads the system
   clock, which tests cannot move), and the claim types (``sub``/``sid`` UUIDs, ``amr`` a list).

The session check (exists, belongs to ``sub``, not revoked or expired) is the use case's job.

**Verified-token cache.** A client sends the same access token on every request for its whole
lifetime (15 min), and steps 1–2 cost ~0.4 ms of CPU per request here (PyJWT parses and
base64-checks the token twice, then the ECDSA verify): a tenth of a cheap search's whole budget.
So a token that passed steps 1–3 is remembered, keyed by its **exact text** (signature included:
any other byte sequence, forged or not, misses and is verified in full), with its ``kid`` and
times. A hit re-checks everything that can change without the token changing: the ring must still
publish the very key object that verified it (a key dropped from ``JWT_SIGNING_KEYS`` stops its
tokens at once, as before; a key the ring reloaded means a full verification again) and
``exp``/``nbf``/``iat`` against ``now``. Only successes are stored, so junk tokens
cannot fill it; it is bounded (``VERIFIED_CACHE_SIZE``, oldest dropped first) and per process.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from application.identity.token_ports import AccessClaims, IssuedAccessToken
from domain.auth_sessions import InvalidAccessToken
from infra.tokens.key_ring import ALGORITHM, KeyRing, SigningKey

log = logging.getLogger(__name__)

TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 media type, not a secret)
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "amr", "iat", "nbf", "exp"]
DEFAULT_LEEWAY = timedelta(seconds=30)
# Distinct live tokens remembered per process (~1 KB each); past it, the oldest entry is dropped.
VERIFIED_CACHE_SIZE = 4096


class _Rejected(Exception):
    """Internal: why a token failed (logged at DEBUG, never sent to the client)."""


def _timestamp(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Rejected(f"{name} is not a number")
    return int(value)


def _uuid(claims: dict[str, Any], name: str) -> uuid.UUID:
    value = claims.get(name)
    if not isinstance(value, str):
        raise _Rejected(f"{name} is not a string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _Rejected(f"{name} is not a UUID") from None


@dataclass(frozen=True, slots=True)
class _Verified:
    """What a hit of the verified-token cache must re-check, and what it answers."""

    key: SigningKey
    expires: int
    not_before: int
    issued: int
    claims: AccessClaims


class JwtAccessTokens:
    def __init__(self, ring: KeyRing, *, issuer: str, audience: str, ttl: timedelta,
                 leeway: timedelta = DEFAULT_LEEWAY, cache_size: int = VERIFIED_CACHE_SIZE) -> None:
        self._ring = ring
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._leeway = leeway
        self._cache_size = cache_size
        self._verified: dict[str, _Verified] = {}  # insertion-ordered: the first entry is the oldest
        self._cache_lock = threading.Lock()

    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID, amr: Sequence[str], now: datetime) -> IssuedAccessToken:
        key = self._ring.signer(now)
        issued = int(now.timestamp())
        ttl = int(self._ttl.total_seconds())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "amr": list(amr),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
        }
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE})
        return IssuedAccessToken(token=token, expires_in=ttl)

    def verify(self, token: str, now: datetime) -> AccessClaims:
        try:
            known = self._verified.get(token)
            if known is not None:
                claims = self._recheck(known, now)
                if claims is not None:
                    return claims
            verified = self._verify(token, now)
            self._remember(token, verified)
            return verified.claims
        except (_Rejected, jwt.PyJWTError, ValueError, TypeError) as reason:
            # The reason helps debugging; it never contains the token (PyJWT messages do not either).
            log.debug("access token rejected: %s", reason if isinstance(reason, _Rejected) else type(reason).__name__)
            raise InvalidAccessToken() from None

    def _recheck(self, known: _Verified, now: datetime) -> AccessClaims | None:
        """A token verified before: only the key's publication and the times can have changed.

        None when the ring now holds another key object under that kid (it reloaded its keys):
        the caller then verifies the token in full again.
        """
        key = self._ring.verification_key(known.key.kid, now)
        if key is None:
            raise _Rejected("the signing key is no longer published")
        if key is not known.key:
            return None
        self._check_times(known.expires, known.not_before, known.issued, now)
        return known.claims

    def _remember(self, token: str, verified: _Verified) -> None:
        if self._cache_size <= 0:  # caching turned off
            return
        with self._cache_lock:
            while len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = verified

    def _check_times(self, expires: int, not_before: int, issued: int, now: datetime) -> None:
        moment, leeway = now.timestamp(), self._leeway.total_seconds()
        if moment >= expires + leeway:
            raise _Rejected("expired")
        if not_before > moment + leeway:
            raise _Rejected("not yet valid")
        if issued > moment + leeway:
            raise _Rejected("issued in the future")

    def _verify(self, token: str, now: datetime) -> _Verified:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise _Rejected("algorithm not allowed")
        if str(header.get("typ", "")).lower() != TOKEN_TYPE:
            raise _Rejected("not an access token")
        kid = header.get("kid")
        key = self._ring.verification_key(kid, now) if isinstance(kid, str) else None
        if key is None:
            raise _Rejected("unknown key id")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            audience=self._audience,
            issuer=self._issuer,
            options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        expires, not_before, issued = (_timestamp(claims, name) for name in ("exp", "nbf", "iat"))
        self._check_times(expires, not_before, issued, now)
        amr = claims.get("amr")
        if not isinstance(amr, list) or not amr or not all(isinstance(m, str) and m for m in amr):
            raise _Rejected("amr is not a list of methods")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 64:
            raise _Rejected("jti is invalid")
        access = AccessClaims(
            user_id=_uuid(claims, "sub"),
            session_id=_uuid(claims, "sid"),
            token_id=jti,
            amr=tuple(amr),
            issued_at=datetime.fromtimestamp(issued, UTC),
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
        return _Verified(key, expires, not_before, issued, access)
