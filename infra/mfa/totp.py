"""RFC 6238 TOTP through pyotp: 30-second steps, 6 digits, SHA-1 (what every authenticator app
supports), one step of clock drift either way.

``matching_step`` returns *which* step matched (pyotp's ``verify`` only says yes or no), because
the replay rule needs it: a code is accepted once per time step.
"""

from __future__ import annotations

from datetime import datetime

import pyotp
import pyotp.utils

VALID_WINDOW = 1  # steps of drift accepted on each side


class PyotpTotp:
    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def new_secret(self) -> str:
        return pyotp.random_base32()  # 32 base32 characters = 160 bits (RFC 4226 recommends >= 128)

    def provisioning_uri(self, secret: str, account_name: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=self._issuer)

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        code = code.strip()
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        current = totp.timecode(at)
        matched: int | None = None
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
            # Every candidate is compared (no early exit), each in constant time.
            if pyotp.utils.strings_equal(totp.generate_otp(step), code):
                matched = step
        return matched

    def code_at(self, secret: str, at: datetime, step_offset: int = 0) -> str:
        """The code an authenticator shows at ``at`` (tests, tooling)."""
        totp = pyotp.TOTP(secret)
        return totp.generate_otp(totp.timecode(at) + step_offset)
