"""``PublishSigningKeys``: the public half of our signing keys, for ``/api/.well-known/jwks.json``."""

from __future__ import annotations

from typing import Any, Protocol

from application.ports.clock import Clock

# How long clients and proxies may cache the JWKS (Cache-Control max-age). A new signing key is
# published JWT_KEY_PUBLISH_LEAD_SECONDS (at least 600) before it signs, longer than this.
JWKS_CACHE_SECONDS = 300


class PublishedKeys(Protocol):
    def jwks(self, now: Any) -> dict[str, Any]:
        """An RFC 7517 key set of every key published at ``now`` (never private material)."""
        ...


class PublishSigningKeys:
    def __init__(self, keys: PublishedKeys, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock

    def __call__(self) -> dict[str, Any]:
        return self._keys.jwks(self._clock.now())
