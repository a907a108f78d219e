"""Apple's ``client_secret``: an ES256 JWT signed with the team's .p8 key, built locally.

Apple accepts such a secret for up to six months; we make it live ``lifetime`` (default one day)
and build a new one once half of that has passed, so a secret in flight never expires mid-request
and a leaked one is short-lived. Claims (Apple's documentation): ``iss`` = team id, ``iat``,
``exp``, ``aud`` = ``https://appleid.apple.com``, ``sub`` = the client (services) id; header
``kid`` = key id.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import jwt

from application.ports.clock import Clock

APPLE_AUDIENCE = "https://appleid.apple.com"


class AppleClientSecret:
    def __init__(self, *, team_id: str, key_id: str, client_id: str, private_key_pem: str, clock: Clock,
                 lifetime: timedelta = timedelta(days=1)) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(private_key_pem.replace("\\n", "\n").encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("APPLE_PRIVATE_KEY is not a PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("APPLE_PRIVATE_KEY must be an ES256 (P-256) key, the .p8 file Apple gives")
        self._key = key
        self._team_id, self._key_id, self._client_id = team_id, key_id, client_id
        self._clock = clock
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._value: str | None = None
        self._renew_at: datetime | None = None

    def __call__(self) -> str:
        with self._lock:
            now = self._clock.now()
            if self._value is None or self._renew_at is None or now >= self._renew_at:
                issued = int(now.timestamp())
                claims = {"iss": self._team_id, "iat": issued, "exp": issued + int(self._lifetime.total_seconds()),
                          "aud": APPLE_AUDIENCE, "sub": self._client_id}
                self._value = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id})
                self._renew_at = now + self._lifetime / 2
            return self._value
