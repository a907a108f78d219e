"""Is this upstream request really from *our* Web PubSub? (CloudEvents abuse protection + signature.)

The service signs every event with ``ce-signature: sha256=<hex HMAC-SHA256(access key, connection id)>``,
one value per access key (primary, secondary) separated by commas. We accept the event when any
value matches any of our keys, so rotating a key (swap primary and secondary) never drops events.
Comparison is constant-time. Nothing in an event is acted on before this check passes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from shared.errors import InvalidInput, Unauthenticated

_MAX_SIGNATURE_HEADER = 2048


def sign(key: str, connection_id: str) -> str:
    """The signature value the service sends for one key (also used by tests and tools)."""
    digest = hmac.new(key.encode("utf-8"), connection_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class UpstreamGuard:
    def __init__(self, *, hub: str, signature_keys: Sequence[str], allowed_origins: Sequence[str]) -> None:
        if not signature_keys:
            raise ValueError("at least one signature key is required to accept upstream events")
        self._hub = hub.lower()
        self._keys = tuple(k.encode("utf-8") for k in signature_keys)
        self._origins = frozenset(o.strip().lower() for o in allowed_origins if o.strip())

    def allowed_origin(self, request_origin: str | None) -> bool:
        """Abuse protection: only our service's host (without port) may use this endpoint."""
        if not request_origin:
            return False
        host = request_origin.strip().lower()
        return "*" in self._origins or host in self._origins

    def verify(self, *, hub: str, connection_id: str, signature_header: str | None, origin: str | None) -> None:
        """Raise unless the event comes from our service, for our hub, signed with one of our keys."""
        if not self.allowed_origin(origin):
            raise Unauthenticated("The event's origin is not an allowed Web PubSub service.", code="origin_not_allowed")
        if hub.lower() != self._hub:
            raise InvalidInput("The event is for another hub.", code="unknown_hub")
        if not signature_header or len(signature_header) > _MAX_SIGNATURE_HEADER:
            raise Unauthenticated("The event is not signed.", code="invalid_signature")
        message = connection_id.encode("utf-8")
        expected = [hmac.new(key, message, hashlib.sha256).hexdigest().encode("ascii") for key in self._keys]
        matched = False
        for value in signature_header.split(","):
            algorithm, _, digest = value.strip().partition("=")
            if algorithm.lower() != "sha256":
                continue
            provided = digest.strip().lower().encode("utf-8", "replace")
            for candidate in expected:
                # No early exit: the time taken does not depend on which value or key matched.
                matched |= hmac.compare_digest(candidate, provided)
        if not matched:
            raise Unauthenticated("The event's signature is not valid.", code="invalid_signature")
