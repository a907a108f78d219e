"""Production signing keys from the ``JWT_SIGNING_KEYS`` setting (on Azure: a Key Vault reference).

The value is a JSON list::

    [{"kid": "2025-06", "private_key_pem": "-----BEGIN PRIVATE KEY-----\\n...",
      "activates_at": "2025-06-01T00:00:00Z", "retires_at": "2025-07-01T00:00:00Z"}]

To rotate: add the new key with ``activates_at`` at least ``JWT_KEY_PUBLISH_LEAD_SECONDS`` in the
future and give the current key the same instant as ``retires_at``; remove the old key once
``retires_at + ACCESS_TOKEN_TTL_SECONDS`` has passed (it leaves the JWKS by itself then).

The structure is checked when settings load (``shared/settings.py``, no cryptography import at
cold start); the PEM itself is parsed here, on first use, with errors that name the setting and the
``kid`` but never echo key material.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from infra.tokens.key_ring import KeyConfigurationError, SigningKey, require_p256

SETTING = "JWT_SIGNING_KEYS"


def _instant(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise KeyConfigurationError(f"{where}: not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise KeyConfigurationError(f"{where}: needs a timezone (e.g. a trailing Z)")
    return parsed.astimezone(UTC)


def parse_signing_keys(raw: str) -> list[SigningKey]:
    try:
        entries = json.loads(raw)
    except ValueError:
        raise KeyConfigurationError(f"{SETTING}: not valid JSON") from None
    if not isinstance(entries, list) or not entries:
        raise KeyConfigurationError(f"{SETTING}: must be a non-empty JSON list of keys")
    keys: list[SigningKey] = []
    for position, entry in enumerate(entries):
        where = f"{SETTING}[{position}]"
        if not isinstance(entry, dict):
            raise KeyConfigurationError(f"{where}: must be an object")
        kid, pem = entry.get("kid"), entry.get("private_key_pem")
        if not isinstance(kid, str) or not kid.strip() or len(kid) > 64:
            raise KeyConfigurationError(f"{where}: 'kid' must be a string of 1 to 64 characters")
        where = f"{SETTING}[kid={kid}]"
        if not isinstance(pem, str):
            raise KeyConfigurationError(f"{where}: 'private_key_pem' is required")
        try:
            private_key = load_pem_private_key(pem.encode("utf-8"), password=None)
        except (ValueError, TypeError):
            raise KeyConfigurationError(f"{where}: 'private_key_pem' is not an unencrypted PEM private key") from None
        activates_at = _instant(entry.get("activates_at"), f"{where}.activates_at")
        retires_at = _instant(entry.get("retires_at"), f"{where}.retires_at")
        if activates_at and retires_at and retires_at <= activates_at:
            raise KeyConfigurationError(f"{where}: 'retires_at' must come after 'activates_at'")
        keys.append(SigningKey(kid, require_p256(private_key, where), activates_at, retires_at))
    if len({key.kid for key in keys}) != len(keys):
        raise KeyConfigurationError(f"{SETTING}: every 'kid' must be unique")
    return keys
