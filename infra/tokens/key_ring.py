"""The signing-key ring: which key signs now, which keys verify, what JWKS publishes.

Each key has an optional ``activates_at`` (when it may start signing) and ``retires_at`` (when it
stops). The rules, evaluated against the injected clock on every call:

- **signer**: among the keys with ``activates_at <= now < retires_at``, the one that activated last
  (ties: the later one in the list). A new key is therefore *published before it signs*: it sits
  in the JWKS from the moment it is configured, and only signs once ``activates_at`` is reached —
  which must be at least one JWKS cache lifetime later (``JWT_KEY_PUBLISH_LEAD_SECONDS``), so that
  a verifier that fetched the JWKS just before the switch already knows it.
- **published / accepted for verification**: every key until ``retires_at + access TTL + leeway``:
  an access token signed by a retiring key stays verifiable until it expires, then the key drops
  out of the JWKS and out of verification.

A token's ``kid`` is only ever looked up in this ring: a key carried by the token itself (``jwk``,
``jku``, ``x5u`` headers) is never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ALGORITHM = "ES256"


class KeyConfigurationError(RuntimeError):
    """The signing keys are missing or unusable; the message names the setting, never key material."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    activates_at: datetime | None = None
    retires_at: datetime | None = None

    def __repr__(self) -> str:  # never print key material
        return f"SigningKey(kid={self.kid!r}, activates_at={self.activates_at}, retires_at={self.retires_at})"

    @cached_property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        # Derived once per key, not once per verification (a frozen dataclass still allows this:
        # cached_property writes the instance __dict__ directly).
        return self.private_key.public_key()

    def signs_at(self, now: datetime) -> bool:
        started = self.activates_at is None or self.activates_at <= now
        return started and (self.retires_at is None or now < self.retires_at)

    def published_at(self, now: datetime, verify_for: timedelta) -> bool:
        return self.retires_at is None or now < self.retires_at + verify_for

    def public_jwk(self) -> dict[str, Any]:
        """RFC 7517 public JWK: kty EC, crv P-256, x, y, plus kid, use and alg."""
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"],
                "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def require_p256(private_key: object, where: str) -> ec.EllipticCurvePrivateKey:
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
        raise KeyConfigurationError(f"{where}: ES256 needs an EC P-256 private key")
    return private_key


class KeySource(Protocol):
    def keys(self, now: datetime) -> Sequence[SigningKey]: ...


class StaticKeys:
    """Keys fixed at start (production: ``JWT_SIGNING_KEYS``)."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        self._keys = tuple(keys)

    def keys(self, now: datetime) -> Sequence[SigningKey]:
        return self._keys


class KeyRing:
    def __init__(self, source: KeySource, *, access_ttl: timedelta, leeway: timedelta,
                 setting_name: str = "JWT_SIGNING_KEYS") -> None:
        self._source = source
        # A retired key verifies for as long as a token it signed can live.
        self._verify_for = access_ttl + leeway
        self._setting_name = setting_name

    def signer(self, now: datetime) -> SigningKey:
        active = [(index, key) for index, key in enumerate(self._source.keys(now)) if key.signs_at(now)]
        if not active:
            raise KeyConfigurationError(f"{self._setting_name}: no signing key is active now")
        far_past = datetime.min.replace(tzinfo=now.tzinfo)
        return max(active, key=lambda item: (item[1].activates_at or far_past, item[0]))[1]

    def published(self, now: datetime) -> list[SigningKey]:
        return [key for key in self._source.keys(now) if key.published_at(now, self._verify_for)]

    def verification_key(self, kid: str, now: datetime) -> SigningKey | None:
        return next((key for key in self.published(now) if key.kid == kid), None)

    def jwks(self, now: datetime) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.published(now)]}
