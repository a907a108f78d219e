"""Ports of the MFA area: what the two-factor use cases need from libraries (pyotp, AES-GCM, QR).

The adapters live in ``infra/mfa``; the use cases only see these interfaces, so they are tested
with fakes and import no library.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class SecretCipher(Protocol):
    """Authenticated encryption of TOTP secrets at rest."""

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        """Encrypt with the newest key. ``context`` (the user id) is bound to the ciphertext, so a
        ciphertext copied into another user's row does not decrypt."""
        ...

    def decrypt(self, ciphertext: bytes, *, context: bytes) -> bytes:
        """Decrypt with whichever configured key encrypted it; raises ``SecretUnreadable``."""
        ...


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (tampered, or encrypted under a key no longer configured)."""


class TotpAlgorithm(Protocol):
    """RFC 6238 time-based one-time passwords (30-second steps, 6 digits, SHA-1: what apps support)."""

    def new_secret(self) -> str:
        """A fresh random base32 secret (160 bits)."""
        ...

    def provisioning_uri(self, secret: str, account_name: str) -> str:
        """The ``otpauth://totp/...`` URI an authenticator app scans (issuer and account name)."""
        ...

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step whose code equals ``code`` within one step of drift of ``at`` (the latest,
        if several), compared in constant time; None when none matches."""
        ...



class QrCodeRenderer(Protocol):
    def svg(self, text: str) -> str:
        """A QR code of ``text`` as an SVG document."""
        ...
