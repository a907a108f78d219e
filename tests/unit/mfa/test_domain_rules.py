"""Domain rules of two-factor authentication: lockout backoff, the replay rule, challenge validity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.mfa import (
    CHALLENGE_MAX_ATTEMPTS,
    CHALLENGE_TTL,
    InvalidMfaToken,
    LockoutPolicy,
    MfaChallenge,
    MfaCredential,
    MfaLocked,
    is_fresh_step,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def credential() -> MfaCredential:
    return MfaCredential(user_id=uuid.uuid4(), secret_ciphertext=b"x", created_at=T0, enabled_at=T0)


def test_lock_starts_at_the_threshold_and_doubles_up_to_the_cap():
    policy = LockoutPolicy(threshold=5, base=timedelta(minutes=1), cap=timedelta(hours=1))
    assert [policy.lock_duration(n) for n in range(1, 5)] == [None] * 4
    minutes = [policy.lock_duration(n) / timedelta(minutes=1) for n in range(5, 13)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.lock_duration(10_000) == timedelta(hours=1)  # no overflow for absurd counts


@pytest.mark.parametrize("bad", [{"threshold": 0}, {"base": timedelta(0)}, {"cap": timedelta(seconds=1)}])
def test_a_nonsensical_lockout_policy_is_refused(bad):
    with pytest.raises(ValueError):
        LockoutPolicy(**bad)


def test_failures_lock_the_account_and_a_success_resets_everything():
    policy = LockoutPolicy(threshold=3, base=timedelta(minutes=1), cap=timedelta(minutes=10))
    cred = credential()
    for _ in range(2):
        cred.record_failure(T0, policy)
    cred.ensure_not_locked(T0)  # two failures: not locked yet
    cred.record_failure(T0, policy)
    with pytest.raises(MfaLocked) as locked:
        cred.ensure_not_locked(T0 + timedelta(seconds=15))
    assert locked.value.retry_after_seconds == 45
    cred.ensure_not_locked(T0 + timedelta(minutes=1))  # the lock has passed
    cred.record_failure(T0 + timedelta(minutes=1), policy)  # 4th in a row: twice as long
    assert cred.locked_until == T0 + timedelta(minutes=3)
    assert cred.accept_step(100)
    assert cred.failed_attempts == 0 and cred.locked_until is None


def test_a_code_is_accepted_once_per_time_step_and_never_for_an_earlier_one():
    assert is_fresh_step(5, None)
    assert is_fresh_step(6, 5)
    assert not is_fresh_step(5, 5)
    assert not is_fresh_step(4, 5)
    cred = credential()
    assert cred.accept_step(1000)
    assert not cred.accept_step(1000)  # replay in the same step
    assert not cred.accept_step(999)  # the previous step's code, still inside the drift window
    assert cred.accept_step(1001)
    assert cred.last_used_step == 1001


def test_a_challenge_lives_five_minutes():
    challenge = MfaChallenge.open("h", uuid.uuid4(), ["oidc:google"], T0)
    assert challenge.expires_at - challenge.created_at == CHALLENGE_TTL == timedelta(minutes=5)
    challenge.ensure_usable(T0 + timedelta(minutes=4, seconds=59))
    with pytest.raises(InvalidMfaToken):
        challenge.ensure_usable(T0 + timedelta(minutes=5))


def test_a_challenge_allows_five_attempts_and_one_use():
    challenge = MfaChallenge.open("h", uuid.uuid4(), ["oidc:google"], T0)
    for _ in range(CHALLENGE_MAX_ATTEMPTS):
        challenge.ensure_usable(T0)
        challenge.record_attempt()
    with pytest.raises(InvalidMfaToken):
        challenge.ensure_usable(T0)
    fresh = MfaChallenge.open("h2", uuid.uuid4(), ["oidc:google"], T0)
    fresh.consume(T0)
    with pytest.raises(InvalidMfaToken):
        fresh.ensure_usable(T0)


def test_credentials_refuse_naive_times():
    with pytest.raises(ValueError):
        MfaCredential(user_id=uuid.uuid4(), secret_ciphertext=b"x", created_at=datetime(2030, 1, 1))
