"""Local/dev signing keys: generated on first run into a directory, rotated by age.

Used when ``JWT_SIGNING_KEYS`` is not set (never in production: settings refuse that). Each key is
a PKCS#8 PEM file ``jwt-<activates_at>-<random>.pem`` (mode 0600, directory 0700), so the whole
timeline lives in the file names and several worker processes agree on it without a lock:

- the first key activates at once (nobody can have cached a JWKS without it);
- when the current signer has signed for ``rotation_interval - publish_lead``, a new key is written
  with ``activates_at = now + publish_lead``: it is published at once and signs after the lead;
- a key retires when the next one activates, and its file is deleted once it has left the JWKS
  (``retires_at + access TTL + leeway``).

The directory is re-read at most once a minute (or at once when no key is active), so a rotation
made by another process is picked up quickly.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.tokens.key_ring import KeyConfigurationError, SigningKey, require_p256

_NAME = re.compile(r"^jwt-(\d{8}T\d{6}Z)-([0-9a-f]{8})\.pem$")
_STAMP = "%Y%m%dT%H%M%SZ"
RESCAN_INTERVAL = timedelta(minutes=1)


class DevKeyDirectory:
    def __init__(self, directory: Path, *, rotation_interval: timedelta, publish_lead: timedelta,
                 verify_for: timedelta) -> None:
        if rotation_interval <= publish_lead:
            raise KeyConfigurationError("JWT_DEV_KEY_ROTATION_DAYS: the rotation interval must exceed the publish lead")
        self._directory = directory
        self._rotation = rotation_interval
        self._lead = publish_lead
        self._verify_for = verify_for
        self._lock = threading.Lock()
        self._keys: tuple[SigningKey, ...] = ()
        self._scanned_at: datetime | None = None

    def keys(self, now: datetime) -> Sequence[SigningKey]:
        with self._lock:
            stale = self._scanned_at is None or now - self._scanned_at >= RESCAN_INTERVAL or now < self._scanned_at
            if stale or not any(key.signs_at(now) for key in self._keys):
                self._keys = tuple(self._refresh(now))
                self._scanned_at = now
            return self._keys

    # -- internals -----------------------------------------------------------------------------

    def _refresh(self, now: datetime) -> list[SigningKey]:
        self._directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self._directory, 0o700)
        files = self._key_files()
        if not files:
            self._write_key(now)
        else:
            newest_activation = files[-1][0]
            if newest_activation <= now and now - newest_activation >= self._rotation - self._lead:
                self._write_key(now + self._lead)
        files = self._key_files()
        keys: list[SigningKey] = []
        for index, (activates_at, path) in enumerate(files):
            retires_at = files[index + 1][0] if index + 1 < len(files) else None
            if retires_at is not None and now >= retires_at + self._verify_for:
                path.unlink(missing_ok=True)  # left the JWKS: no token it signed is still valid
                continue
            keys.append(self._load(path, activates_at, retires_at))
        return keys

    def _key_files(self) -> list[tuple[datetime, Path]]:
        found = []
        for path in self._directory.iterdir():
            match = _NAME.match(path.name)
            if match:
                activates_at = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
                found.append((activates_at, path))
        return sorted(found)

    def _write_key(self, activates_at: datetime) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = self._directory / f"jwt-{activates_at.astimezone(UTC).strftime(_STAMP)}-{secrets.token_hex(4)}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)

    @staticmethod
    def _load(path: Path, activates_at: datetime, retires_at: datetime | None) -> SigningKey:
        try:
            private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            raise KeyConfigurationError(f"JWT_KEY_DIRECTORY: {path.name} is not a PEM private key") from None
        kid = path.stem.removeprefix("jwt-")
        return SigningKey(kid, require_p256(private_key, path.name), activates_at, retires_at)
