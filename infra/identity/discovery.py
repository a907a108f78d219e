"""OpenID Provider metadata (``/.well-known/openid-configuration``), fetched once and cached.

Endpoints come from discovery, not from code, so a test or a local run points a provider at a
local issuer with one setting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.identity.http import ProviderUnreachable, get_json

DISCOVERY_TTL_SECONDS = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class DiscoveryCache:
    def __init__(self, url: str, *, timeout: float, ttl: float = DISCOVERY_TTL_SECONDS,
                 fetch: Callable[[str], Any] | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._fetch = fetch or (lambda u: get_json(u, timeout=timeout))
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: ProviderMetadata | None = None
        self._fetched_at = 0.0

    def get(self) -> ProviderMetadata:
        with self._lock:
            if self._value is None or self._monotonic() - self._fetched_at > self._ttl:
                document = self._fetch(self.url)
                try:
                    self._value = ProviderMetadata(
                        issuer=str(document["issuer"]),
                        authorization_endpoint=str(document["authorization_endpoint"]),
                        token_endpoint=str(document["token_endpoint"]),
                        jwks_uri=str(document["jwks_uri"]),
                    )
                except (KeyError, TypeError):
                    raise ProviderUnreachable("The sign-in provider's configuration is incomplete.") from None
                self._fetched_at = self._monotonic()
            return self._value


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"
