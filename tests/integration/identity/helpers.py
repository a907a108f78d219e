"""Shared pieces of the sign-in integration tests: a movable clock and fakes of the other areas."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from application.identity.results import ClientInfo, MfaRequired, TokenPair
from domain.users import User

CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest")


@dataclass
class FakeClock:
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += timedelta(**kwargs)


@dataclass
class FakeSessions:
    """Stands in for the tokens area's SessionIssuer (records who got a session, with which amr)."""

    started: list[tuple[uuid.UUID, tuple[str, ...]]] = field(default_factory=list)

    def start(self, uow: object, user: User, amr: Sequence[str], client: ClientInfo) -> TokenPair:
        self.started.append((user.id, tuple(amr)))
        return TokenPair(access_token=f"access-{user.id}", refresh_token="refresh", expires_in=900)


@dataclass
class FakeMfaGate:
    """Stands in for the MFA area's MfaGate: users in ``enabled`` get a challenge."""

    enabled: set[uuid.UUID] = field(default_factory=set)
    challenged: list[tuple[uuid.UUID, tuple[str, ...]]] = field(default_factory=list)

    def required(self, uow: object, user_id: uuid.UUID) -> bool:
        return user_id in self.enabled

    def challenge(self, uow: object, user: User, amr: Sequence[str], client: ClientInfo) -> MfaRequired:
        self.challenged.append((user.id, tuple(amr)))
        return MfaRequired(mfa_token="mfa-token", expires_in=300)
