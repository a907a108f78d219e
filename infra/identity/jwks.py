"""A provider's signing keys (JWKS), cached; refetched once on an unknown ``kid``, at most once a minute.

Providers rotate keys, so a token with a ``kid`` we have not seen triggers one refetch. A forger
can put any ``kid`` in a token, so refetches are rate-limited: within ``min_refetch_seconds`` of
the last fetch an unknown ``kid`` is rejected without touching the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

log = logging.getLogger("tagarela.identity")


class UnknownSigningKey(Exception):
    pass


class JwksCache:
    def __init__(self, jwks_uri: Callable[[], str], fetch: Callable[[str], Any], *, ttl_seconds: float = 3600.0,
                 min_refetch_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._jwks_uri = jwks_uri
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self.fetch_count = 0

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._monotonic()
            if self._fetched_at is None or now - self._fetched_at > self._ttl:
                self._refresh(now)
            elif kid not in self._keys and now - self._fetched_at >= self._min_refetch:
                log.info("unknown signing key id; refetching the provider's JWKS once")
                self._refresh(now)
            found = self._keys.get(kid)
        if found is None:
            raise UnknownSigningKey(kid)
        return found

    def _refresh(self, now: float) -> None:
        document = self._fetch(self._jwks_uri())
        keys: dict[str, jwt.PyJWK] = {}
        for item in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(item, dict) or "kid" not in item or item.get("use", "sig") != "sig":
                continue
            try:
                keys[str(item["kid"])] = jwt.PyJWK(item)
            except jwt.PyJWKError:
                continue  # a key type we do not use (or cannot): skip it, keep the others
        self._keys = keys
        self._fetched_at = now
        self.fetch_count += 1
