"""Fakes and builders shared by the tokens tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.tokens.access_tokens import JwtAccessTokens
from infra.tokens.key_ring import KeyRing, SigningKey, StaticKeys

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ISSUER = "https://tagarela.test"
AUDIENCE = "tagarela-api"
ACCESS_TTL = timedelta(minutes=15)
LEEWAY = timedelta(seconds=30)


@dataclass
class FakeClock:
    current: datetime = T0

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def new_key(kid: str = "k1", activates_at: datetime | None = None, retires_at: datetime | None = None) -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()), activates_at, retires_at)


def pem_of(key: SigningKey) -> str:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def ring_of(*keys: SigningKey) -> KeyRing:
    return KeyRing(StaticKeys(keys), access_ttl=ACCESS_TTL, leeway=LEEWAY)


def tokens_with(ring: KeyRing) -> JwtAccessTokens:
    return JwtAccessTokens(ring, issuer=ISSUER, audience=AUDIENCE, ttl=ACCESS_TTL, leeway=LEEWAY)
