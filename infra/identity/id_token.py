"""ID-token verification with PyJWT: every check OpenID Connect Core §3.1.3.7 asks for.

Order matters: the header's ``alg`` is checked against the provider's allowlist (asymmetric
algorithms only: never ``none``, never HS*, which would let a public key act as an HMAC secret)
*before* a key is looked up; the key comes from the provider's JWKS by ``kid`` — never from the
token — and must match the algorithm's key type; then signature, ``iss`` (or Microsoft's
``{tenantid}`` template checked against ``tid``), ``aud``, ``exp``/``iat``/``nbf`` with a small
leeway, ``sub``, and ``nonce`` in constant time. Any failure is the same ``SignInFailed``; the
reason is logged (without the token) for operators.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from domain.identity import SignInFailed
from infra.identity.jwks import JwksCache, UnknownSigningKey

log = logging.getLogger("tagarela.identity")

ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                                   "EdDSA"})
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
TENANT_PLACEHOLDER = "{tenantid}"
_TENANT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_TOKEN_LENGTH = 16 * 1024
DEFAULT_LEEWAY_SECONDS = 30


def _failed(provider: str, reason: str) -> SignInFailed:
    log.info("rejected an ID token from %s: %s", provider, reason)
    return SignInFailed("The sign-in could not be verified.")


@dataclass(frozen=True)
class IdTokenPolicy:
    provider: str
    issuers: tuple[str, ...]  # accepted iss values; one may hold "{tenantid}" (Microsoft multi-tenant)
    audiences: tuple[str, ...]  # our client id(s); native apps may add theirs
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = DEFAULT_LEEWAY_SECONDS
    allow_hashed_nonce: bool = False  # Apple's native SDKs put SHA-256(nonce) in the token
    tenant_allowed: Callable[[str], bool] | None = None  # Microsoft: which tid values may sign in

    def __post_init__(self) -> None:
        unsafe = [a for a in self.algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if unsafe or not self.algorithms:
            raise ValueError(f"{self.provider}: only asymmetric ID-token algorithms are allowed, not {unsafe}")


def nonce_matches(claim: object, expected: str, *, allow_hashed: bool) -> bool:
    if not isinstance(claim, str) or not expected:
        return False
    if hmac.compare_digest(claim.encode(), expected.encode()):
        return True
    if allow_hashed:
        hashed = hashlib.sha256(expected.encode()).hexdigest()
        return hmac.compare_digest(claim.lower().encode(), hashed.encode())
    return False


class IdTokenVerifier:
    def __init__(self, policy: Callable[[], IdTokenPolicy], jwks: JwksCache) -> None:
        # The policy is a callable because the issuer may come from discovery (fetched lazily).
        self._policy = policy
        self._jwks = jwks

    def verify(self, token: str, *, nonce: str, allow_hashed_nonce: bool | None = None) -> dict[str, Any]:
        policy = self._policy()
        name = policy.provider
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise _failed(name, "missing or oversized token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _failed(name, "malformed token") from None
        alg = header.get("alg")
        if alg not in policy.algorithms:
            raise _failed(name, f"algorithm {alg!r} not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _failed(name, "no key id")
        try:
            key = self._jwks.key(kid)
        except UnknownSigningKey:
            raise _failed(name, "unknown key id") from None
        if key.key_type != _KEY_TYPES.get(alg[:2], "?") or (key.algorithm_name not in (alg, None)):
            raise _failed(name, "key does not match the algorithm")
        template = next((i for i in policy.issuers if TENANT_PLACEHOLDER in i), None)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=list(policy.audiences),
                issuer=None if template else list(policy.issuers),
                leeway=policy.leeway_seconds,
                options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_iss": template is None},
            )
        except jwt.ExpiredSignatureError:
            raise _failed(name, "expired") from None
        except jwt.ImmatureSignatureError:
            raise _failed(name, "not yet valid (iat/nbf in the future)") from None
        except jwt.InvalidAudienceError:
            raise _failed(name, "wrong audience") from None
        except jwt.InvalidIssuerError:
            raise _failed(name, "wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise _failed(name, "bad signature") from None
        except jwt.PyJWTError as error:
            raise _failed(name, type(error).__name__) from None
        if template is not None:
            self._check_tenant_issuer(policy, template, claims)
        if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
            raise _failed(name, "bad subject")
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") not in policy.audiences:
            raise _failed(name, "several audiences and azp is not ours")
        hashed_ok = policy.allow_hashed_nonce if allow_hashed_nonce is None else allow_hashed_nonce
        if not nonce_matches(claims.get("nonce"), nonce, allow_hashed=hashed_ok):
            raise _failed(name, "missing or wrong nonce")
        return claims

    @staticmethod
    def _check_tenant_issuer(policy: IdTokenPolicy, template: str, claims: dict[str, Any]) -> None:
        tid = claims.get("tid")
        if not isinstance(tid, str) or not _TENANT_ID.match(tid):
            raise _failed(policy.provider, "no tenant id")
        accepted = {i for i in policy.issuers if TENANT_PLACEHOLDER not in i} | {
            template.replace(TENANT_PLACEHOLDER, tid)
        }
        if claims.get("iss") not in accepted:
            raise _failed(policy.provider, "issuer does not match the tenant")
        if policy.tenant_allowed is not None and not policy.tenant_allowed(tid.lower()):
            raise _failed(policy.provider, "tenant not allowed")
