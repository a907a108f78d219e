"""Turning two-factor authentication on and off, and renewing recovery codes (signed-in user).

- ``SetUpTwoFactor``: a new secret, stored encrypted and *pending*; answering again replaces a
  pending secret, but never an enabled one (409: disable first, with a current code).
- ``EnableTwoFactor``: only after a first valid code (proof the app holds the secret); returns 10
  recovery codes, shown this once.
- ``DisableTwoFactor``: needs a current TOTP code **or a recovery code**. Recovery codes are
  accepted on purpose: they exist for the lost-phone case, and a user who lost the device must be
  able to turn 2FA off and set up a new device (setup refuses while 2FA is enabled). A recovery
  code is as strong as a TOTP code (78 random bits, single use), so this adds no weaker path.
- ``RegenerateRecoveryCodes``: needs a current TOTP code (not a recovery code: whoever holds only
  the paper codes should not be able to mint new ones without the device); old codes all die.

All code checks go through :class:`SecondFactor`: lockout first, then no replay within a time step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.identity.mfa_codes import (
    SecondFactor,
    hashed_recovery_codes,
    new_recovery_codes,
    secret_context,
)
from application.identity.mfa_ports import QrCodeRenderer
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.mfa import InvalidMfaRequest, MfaAlreadyEnabled, MfaCredential, MfaNotSetUp
from shared.errors import Unauthenticated


@dataclass(frozen=True, slots=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


def _account_name(user_email: str | None, display_name: str, user_id: uuid.UUID) -> str:
    """How the authenticator app labels the entry (never used to look anything up)."""
    return user_email or display_name or str(user_id)


def _enabled_credential(uow: UnitOfWork, user_id: uuid.UUID) -> MfaCredential:
    credential = uow.mfa.get_credential(user_id, for_update=True)
    if credential is None or not credential.is_enabled:
        raise MfaNotSetUp("Two-factor authentication is not enabled.")
    return credential


class _TwoFactorUseCase:
    """What every enrollment use case needs: a unit of work per call and the code checker."""

    def __init__(self, uow_factory: UnitOfWorkFactory, factor: SecondFactor) -> None:
        self._uow_factory = uow_factory
        self._factor = factor


class SetUpTwoFactor(_TwoFactorUseCase):
    def __init__(self, uow_factory: UnitOfWorkFactory, factor: SecondFactor, qr: QrCodeRenderer) -> None:
        super().__init__(uow_factory, factor)
        self._qr = qr

    def execute(self, user_id: uuid.UUID) -> TotpSetup:
        factor = self._factor
        now = factor.clock.now()
        with self._uow_factory() as uow:
            user = uow.users.get(user_id)
            if user is None or user.is_disabled:
                raise Unauthenticated("The account is not available.")
            existing = uow.mfa.get_credential(user_id, for_update=True)
            if existing is not None and existing.is_enabled:
                raise MfaAlreadyEnabled("Two-factor authentication is already enabled; disable it first.")
            secret = factor.totp.new_secret()
            ciphertext = factor.cipher.encrypt(secret.encode("ascii"), context=secret_context(user_id))
            uow.mfa.save_credential(MfaCredential(user_id=user_id, secret_ciphertext=ciphertext, created_at=now))
            uow.commit()
        uri = factor.totp.provisioning_uri(secret, _account_name(user.email, user.display_name, user.id))
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=self._qr.svg(uri))


class EnableTwoFactor(_TwoFactorUseCase):
    def execute(self, user_id: uuid.UUID, code: str) -> tuple[str, ...]:
        """Returns the plain recovery codes (only their hashes are stored)."""
        factor = self._factor
        now = factor.clock.now()
        with self._uow_factory() as uow:
            credential = uow.mfa.get_credential(user_id, for_update=True)
            if credential is None:
                raise MfaNotSetUp("Set up two-factor authentication first.")
            if credential.is_enabled:
                raise MfaAlreadyEnabled("Two-factor authentication is already enabled.")
            credential.ensure_not_locked(now)
            if not factor.totp_ok(credential, code, now):
                factor.reject(uow, credential, now)
            credential.enabled_at = now
            uow.mfa.save_credential(credential)
            codes = new_recovery_codes()
            uow.mfa.replace_recovery_codes(user_id, hashed_recovery_codes(user_id, codes, now))
            uow.commit()
        return codes


class DisableTwoFactor(_TwoFactorUseCase):
    def execute(self, user_id: uuid.UUID, *, code: str | None = None, recovery_code: str | None = None) -> None:
        if (code is None) == (recovery_code is None):
            raise InvalidMfaRequest("Send either a code or a recovery_code.")
        factor = self._factor
        now = factor.clock.now()
        with self._uow_factory() as uow:
            credential = _enabled_credential(uow, user_id)
            credential.ensure_not_locked(now)
            if code is not None:
                ok = factor.totp_ok(credential, code, now)
            else:
                ok = factor.recovery_ok(uow.mfa, credential, recovery_code or "", now)
            if not ok:
                factor.reject(uow, credential, now)
            uow.mfa.delete_challenges_of(user_id)
            uow.mfa.replace_recovery_codes(user_id, [])
            uow.mfa.delete_credential(user_id)
            uow.commit()


class RegenerateRecoveryCodes(_TwoFactorUseCase):
    def execute(self, user_id: uuid.UUID, code: str) -> tuple[str, ...]:
        factor = self._factor
        now = factor.clock.now()
        with self._uow_factory() as uow:
            credential = _enabled_credential(uow, user_id)
            credential.ensure_not_locked(now)
            if not factor.totp_ok(credential, code, now):
                factor.reject(uow, credential, now)
            uow.mfa.save_credential(credential)
            codes = new_recovery_codes()
            uow.mfa.replace_recovery_codes(user_id, hashed_recovery_codes(user_id, codes, now))
            uow.commit()
        return codes
