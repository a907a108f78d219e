"""AES-256-GCM encryption of TOTP secrets at rest, with key rotation by key id.

A stolen database dump (or backup) must not hand out everyone's second factor, so secrets are
encrypted under a key that lives in settings (Key Vault on Azure), not in the database.

Stored format: ``0x01 | len(kid) | kid | 12-byte nonce | ciphertext+tag``. The key id travels with
the ciphertext, so several keys can be configured at once: encryption always uses the newest
(``MFA_ENCRYPTION_KEY``), decryption whichever key the id names (``MFA_PREVIOUS_ENCRYPTION_KEYS``
keeps old ones readable until every secret has been re-encrypted or replaced). The user id is the
associated data: a ciphertext copied into another user's row fails authentication.

Random 96-bit nonces are safe here: a key encrypts one secret per 2FA setup, nowhere near the
2**32 messages after which random GCM nonces become a concern.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.identity.mfa_ports import SecretUnreadable

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class InvalidKeySpec(ValueError):
    """A configured key is malformed; the message names the problem, never the key material."""


def key_id_of(key: bytes) -> str:
    """The id of a key given without one: a short fingerprint (not secret: a hash prefix)."""
    return "k" + hashlib.sha256(b"tagarela-mfa-key-id:" + key).hexdigest()[:12]


def parse_key(spec: str) -> tuple[str, bytes]:
    """``kid:base64`` or bare ``base64`` (then the id is the key's fingerprint) of exactly 32 bytes."""
    spec = spec.strip()
    kid, sep, encoded = spec.rpartition(":")
    if not sep:
        kid, encoded = "", spec
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeySpec("not valid base64 (expected base64 of 32 random bytes, optionally 'kid:' first)") from None
    if len(key) != KEY_BYTES:
        raise InvalidKeySpec(f"must be base64 of exactly {KEY_BYTES} bytes (AES-256), got {len(key)}")
    kid = kid.strip() or key_id_of(key)
    if not KEY_ID_PATTERN.match(kid):
        raise InvalidKeySpec("key id must be 1-32 characters of letters, digits, '_', '.', '-'")
    return kid, key


def parse_key_list(specs: str | None) -> list[tuple[str, bytes]]:
    """A comma-separated list of key specs (empty entries ignored)."""
    return [parse_key(part) for part in (specs or "").split(",") if part.strip()]


class AesGcmSecretCipher:
    """``application.identity.mfa_ports.SecretCipher`` with AES-256-GCM and rotating keys."""

    def __init__(self, current: tuple[str, bytes], previous: Iterable[tuple[str, bytes]] = ()) -> None:
        self._current_id = current[0]
        keys: dict[str, AESGCM] = {current[0]: AESGCM(current[1])}
        for kid, key in previous:
            keys.setdefault(kid, AESGCM(key))
        self._keys: Mapping[str, AESGCM] = keys

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        kid = self._current_id.encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current_id].encrypt(nonce, plaintext, self._aad(kid, context))
        return bytes([FORMAT_VERSION, len(kid)]) + kid + nonce + sealed

    def decrypt(self, ciphertext: bytes, *, context: bytes) -> bytes:
        if len(ciphertext) < 2 or ciphertext[0] != FORMAT_VERSION:
            raise SecretUnreadable("unknown secret format")
        kid_end = 2 + ciphertext[1]
        kid = ciphertext[2:kid_end]
        key = self._keys.get(kid.decode("ascii", errors="replace"))
        if key is None:
            raise SecretUnreadable("the secret was encrypted under a key that is not configured")
        nonce, sealed = ciphertext[kid_end : kid_end + NONCE_BYTES], ciphertext[kid_end + NONCE_BYTES :]
        try:
            return key.decrypt(nonce, sealed, self._aad(kid, context))
        except (InvalidTag, ValueError):
            raise SecretUnreadable("the secret failed authentication (tampered or wrong key)") from None

    def key_id_of_ciphertext(self, ciphertext: bytes) -> str | None:
        """Which key encrypted ``ciphertext`` (to find secrets still under an old key)."""
        if len(ciphertext) < 2 or ciphertext[0] != FORMAT_VERSION:
            return None
        return ciphertext[2 : 2 + ciphertext[1]].decode("ascii", errors="replace")

    @staticmethod
    def _aad(kid: bytes, context: bytes) -> bytes:
        # The header is authenticated too, so the key id cannot be swapped on a stored value.
        return bytes([FORMAT_VERSION, len(kid)]) + kid + context
