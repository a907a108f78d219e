"""The MFA area wired as bootstrap wires it, on the test database (SQLite and PostgreSQL), with the
real pyotp/AES-GCM adapters, the tokens area's real SessionIssuer, and a fake clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from application.identity.mfa import MfaGate
from application.identity.mfa_codes import SecondFactor
from application.identity.mfa_enrollment import (
    DisableTwoFactor,
    EnableTwoFactor,
    RegenerateRecoveryCodes,
    SetUpTwoFactor,
)
from application.identity.mfa_verify import VerifyTwoFactor
from application.identity.results import ClientInfo
from application.identity.sessions import SessionIssuer
from domain.auth_sessions import SessionPolicy
from domain.mfa import LockoutPolicy
from domain.users import User
from infra.mfa.cipher import AesGcmSecretCipher
from infra.mfa.qr import SegnoQrRenderer
from infra.mfa.totp import PyotpTotp
from tests.unit.mfa.fakes import FakeClock
from tests.unit.tokens.helpers import new_key, ring_of, tokens_with

# 10 s into a 30 s TOTP step, so "now" and "one step later" are unambiguous.
T0 = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest")


class MfaStack:
    def __init__(self, uow_factory, lockout: LockoutPolicy | None = None) -> None:
        self.uow_factory = uow_factory
        self.clock = FakeClock(T0)
        self.totp = PyotpTotp("Tagarela")
        self.factor = SecondFactor(
            totp=self.totp,
            cipher=AesGcmSecretCipher(("k1", os.urandom(32))),
            clock=self.clock,
            lockout=lockout or LockoutPolicy(threshold=5, base=timedelta(minutes=1), cap=timedelta(hours=1)),
        )
        self.sessions = SessionIssuer(tokens_with(ring_of(new_key("k1"))), self.clock, SessionPolicy())
        self.gate = MfaGate(self.clock)
        self.setup = SetUpTwoFactor(uow_factory, self.factor, SegnoQrRenderer())
        self.enable = EnableTwoFactor(uow_factory, self.factor)
        self.verify = VerifyTwoFactor(uow_factory, self.factor, self.sessions)
        self.disable = DisableTwoFactor(uow_factory, self.factor)
        self.regenerate = RegenerateRecoveryCodes(uow_factory, self.factor)

    def add_user(self, name: str = "Ana", email: str | None = "ana@example.com") -> User:
        user = User(display_name=name, email=email, email_verified=email is not None)
        with self.uow_factory() as uow:
            uow.users.add(user)
            uow.commit()
        return user

    def code(self, secret: str, steps: int = 0) -> str:
        """What the authenticator app shows now (or ``steps`` steps away)."""
        return pyotp.TOTP(secret).at(self.clock.now(), counter_offset=steps)

    def next_step(self) -> None:
        self.clock.advance(30)

    def enroll(self, user: User) -> tuple[str, tuple[str, ...]]:
        secret = self.setup.execute(user.id).secret
        codes = self.enable.execute(user.id, self.code(secret))
        self.next_step()  # the enabling code's step is spent
        return secret, codes

    def challenge(self, user: User, amr=("oidc:google",)) -> str:
        with self.uow_factory() as uow:
            assert self.gate.required(uow, user.id)
            token = self.gate.challenge(uow, user, list(amr), CLIENT).mfa_token
            uow.commit()
        return token

    def wrong(self, secret: str) -> str:
        right = {self.code(secret, s) for s in (-1, 0, 1)}
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


@pytest.fixture
def stack(uow_factory) -> MfaStack:
    return MfaStack(uow_factory)
