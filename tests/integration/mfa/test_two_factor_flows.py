"""Two-factor authentication end to end through the use cases, on SQLite and PostgreSQL, with the
attacks of the Identity issue: TOTP replay, recovery-code reuse, brute force (lockout with a
growing backoff), expired / exhausted / consumed / another user's ``mfa_token``."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa

from domain.mfa import (
    InvalidMfaCode,
    InvalidMfaRequest,
    InvalidMfaToken,
    LockoutPolicy,
    MfaAlreadyEnabled,
    MfaLocked,
    MfaNotSetUp,
)
from infra.sql.models import auth_sessions, mfa_challenges, mfa_credentials, recovery_codes
from tests.integration.mfa.conftest import CLIENT, MfaStack


def _session_amr(stack: MfaStack) -> list[str]:
    with stack.uow_factory() as uow:
        return [row.amr for row in uow.session.execute(sa.select(auth_sessions.c.amr))]


def _credential(stack: MfaStack, user):
    with stack.uow_factory() as uow:
        return uow.mfa.get_credential(user.id)


def test_setup_enable_challenge_verify_signs_in_with_otp_in_amr(stack):
    user = stack.add_user()
    setup = stack.setup.execute(user.id)
    assert setup.otpauth_uri.startswith("otpauth://totp/Tagarela:ana%40example.com?secret=" + setup.secret)
    assert setup.qr_svg.startswith("<svg")
    with stack.uow_factory() as uow:
        assert not stack.gate.required(uow, user.id)  # pending: not required yet
        stored = uow.session.execute(sa.select(mfa_credentials.c.secret_ciphertext)).scalar_one()
    assert setup.secret.encode() not in bytes(stored)  # encrypted at rest

    codes = stack.enable.execute(user.id, stack.code(setup.secret))
    assert len(codes) == 10
    stack.next_step()
    token = stack.challenge(user)
    signed_in = stack.verify.execute(token, CLIENT, code=stack.code(setup.secret))
    assert signed_in.user.id == user.id and signed_in.tokens.refresh_token
    assert _session_amr(stack) == ["oidc:google otp"]
    with stack.uow_factory() as uow:
        hashes = list(uow.session.execute(sa.select(recovery_codes.c.code_hash)).scalars())
        token_hashes = list(uow.session.execute(sa.select(mfa_challenges.c.token_hash)).scalars())
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    assert token not in token_hashes  # only the hash of the mfa_token is stored


def test_setup_again_replaces_a_pending_secret_but_not_an_enabled_one(stack):
    user = stack.add_user()
    first = stack.setup.execute(user.id).secret
    second = stack.setup.execute(user.id).secret
    assert first != second
    with pytest.raises(InvalidMfaCode):
        stack.enable.execute(user.id, stack.code(first))  # the replaced secret is gone
    stack.enable.execute(user.id, stack.code(second))
    with pytest.raises(MfaAlreadyEnabled):
        stack.setup.execute(user.id)
    with pytest.raises(MfaAlreadyEnabled):
        stack.enable.execute(user.id, stack.code(second, 1))


def test_enable_refuses_a_wrong_first_code_and_without_setup(stack):
    user = stack.add_user()
    with pytest.raises(MfaNotSetUp):
        stack.enable.execute(user.id, "123456")
    secret = stack.setup.execute(user.id).secret
    with pytest.raises(InvalidMfaCode):
        stack.enable.execute(user.id, stack.wrong(secret))
    credential = _credential(stack, user)
    assert not credential.is_enabled and credential.failed_attempts == 1
    with stack.uow_factory() as uow:
        assert uow.mfa.unused_recovery_codes(user.id) == []


def test_a_totp_code_is_accepted_once_per_time_step(stack):
    user = stack.add_user()
    secret, _ = stack.enroll(user)
    code = stack.code(secret)
    stack.verify.execute(stack.challenge(user), CLIENT, code=code)
    with pytest.raises(InvalidMfaCode):  # the same code again, same step, new challenge: replay
        stack.verify.execute(stack.challenge(user), CLIENT, code=code)
    with pytest.raises(InvalidMfaCode):  # the previous step's code is older than the one used
        stack.verify.execute(stack.challenge(user), CLIENT, code=stack.code(secret, -1))
    stack.next_step()
    stack.verify.execute(stack.challenge(user), CLIENT, code=stack.code(secret))  # the next step works


def test_concurrent_verifications_of_one_code_let_exactly_one_through(stack):
    user = stack.add_user()
    secret, _ = stack.enroll(user)
    tokens = [stack.challenge(user) for _ in range(4)]
    code = stack.code(secret)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(tokens))

    def attempt(token: str) -> None:
        barrier.wait()
        try:
            stack.verify.execute(token, CLIENT, code=code)
            outcomes.append("ok")
        except InvalidMfaCode:
            outcomes.append("replay")

    threads = [threading.Thread(target=attempt, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["ok", "replay", "replay", "replay"]


def test_recovery_codes_sign_in_once_each(stack):
    user = stack.add_user()
    _, codes = stack.enroll(user)
    signed_in = stack.verify.execute(stack.challenge(user), CLIENT, recovery_code=codes[0])
    assert signed_in.user.id == user.id
    assert _session_amr(stack) == ["oidc:google recovery"]
    with pytest.raises(InvalidMfaCode):  # reuse of a spent recovery code
        stack.verify.execute(stack.challenge(user), CLIENT, recovery_code=codes[0])
    typed = codes[1].lower().replace("-", " ")  # case, spaces and dashes do not matter
    stack.verify.execute(stack.challenge(user), CLIENT, recovery_code=typed)
    with stack.uow_factory() as uow:
        assert len(uow.mfa.unused_recovery_codes(user.id)) == 8


def test_brute_force_locks_the_account_with_a_growing_backoff_and_success_resets(stack):
    user = stack.add_user()
    secret, _ = stack.enroll(user)
    for _ in range(4):
        with pytest.raises(InvalidMfaCode):
            stack.verify.execute(stack.challenge(user), CLIENT, code=stack.wrong(secret))
    with pytest.raises(MfaLocked) as locked:  # 5th wrong code: locked for 1 minute
        stack.verify.execute(stack.challenge(user), CLIENT, code=stack.wrong(secret))
    assert locked.value.retry_after_seconds == 60
    stack.clock.advance(20)
    with pytest.raises(MfaLocked) as still:  # even the right code is refused while locked
        stack.verify.execute(stack.challenge(user), CLIENT, code=stack.code(secret))
    assert still.value.retry_after_seconds == 40
    for use_case in (  # the lock covers every endpoint that checks a code
        lambda: stack.disable.execute(user.id, code=stack.code(secret)),
        lambda: stack.regenerate.execute(user.id, stack.code(secret)),
    ):
        with pytest.raises(MfaLocked):
            use_case()
    stack.clock.advance(40)
    with pytest.raises(MfaLocked) as doubled:  # 6th wrong code in a row: twice as long
        stack.verify.execute(stack.challenge(user), CLIENT, code=stack.wrong(secret))
    assert doubled.value.retry_after_seconds == 120
    stack.clock.advance(120)
    stack.verify.execute(stack.challenge(user), CLIENT, code=stack.code(secret))
    credential = _credential(stack, user)
    assert credential.failed_attempts == 0 and credential.locked_until is None
    stack.next_step()
    with pytest.raises(InvalidMfaCode):  # after the reset, one wrong code is not a lock again
        stack.verify.execute(stack.challenge(user), CLIENT, code=stack.wrong(secret))


def test_a_challenge_expires_after_five_minutes(stack):
    user = stack.add_user()
    secret, _ = stack.enroll(user)
    token = stack.challenge(user)
    stack.clock.advance(minutes=5)
    with pytest.raises(InvalidMfaToken):
        stack.verify.execute(token, CLIENT, code=stack.code(secret))


def test_the_sixth_attempt_on_a_challenge_is_rejected_even_with_the_right_code(uow_factory):
    stack = MfaStack(uow_factory, lockout=LockoutPolicy(threshold=50))  # isolate the per-challenge cap
    user = stack.add_user()
    secret, _ = stack.enroll(user)
    token = stack.challenge(user)
    for _ in range(5):
        with pytest.raises(InvalidMfaCode):
            stack.verify.execute(token, CLIENT, code=stack.wrong(secret))
    with pytest.raises(InvalidMfaToken):
        stack.verify.execute(token, CLIENT, code=stack.code(secret))
    stack.verify.execute(stack.challenge(user), CLIENT, code=stack.code(secret))  # a new sign-in works


def test_a_consumed_or_unknown_mfa_token_is_rejected(stack):
    user = stack.add_user()
    secret, _ = stack.enroll(user)
    token = stack.challenge(user)
    stack.verify.execute(token, CLIENT, code=stack.code(secret))
    stack.next_step()
    with pytest.raises(InvalidMfaToken):
        stack.verify.execute(token, CLIENT, code=stack.code(secret))
    with pytest.raises(InvalidMfaToken):
        stack.verify.execute("x" * 43, CLIENT, code=stack.code(secret))


def test_another_users_mfa_token_with_my_code_is_rejected_and_counts_against_that_account(stack):
    mine = stack.add_user("Ana", "ana@example.com")
    theirs = stack.add_user("Bia", "bia@example.com")
    my_secret, my_codes = stack.enroll(mine)
    stack.enroll(theirs)
    their_token = stack.challenge(theirs)
    with pytest.raises(InvalidMfaCode):
        stack.verify.execute(their_token, CLIENT, code=stack.code(my_secret))
    with pytest.raises(InvalidMfaCode):
        stack.verify.execute(their_token, CLIENT, recovery_code=my_codes[0])
    assert _credential(stack, theirs).failed_attempts == 2
    assert _credential(stack, mine).failed_attempts == 0
    with stack.uow_factory() as uow:  # my recovery code was not spent on their challenge
        assert len(uow.mfa.unused_recovery_codes(mine.id)) == 10


def test_disable_requires_a_current_code_or_a_recovery_code(stack):
    user = stack.add_user()
    secret, codes = stack.enroll(user)
    with pytest.raises(InvalidMfaCode):
        stack.disable.execute(user.id, code=stack.wrong(secret))
    with pytest.raises(InvalidMfaCode):
        stack.disable.execute(user.id, recovery_code="ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    with pytest.raises(InvalidMfaRequest):
        stack.disable.execute(user.id)
    assert _credential(stack, user).is_enabled
    pending = stack.challenge(user)
    stack.disable.execute(user.id, code=stack.code(secret))
    with stack.uow_factory() as uow:
        assert not stack.gate.required(uow, user.id)
        assert uow.mfa.unused_recovery_codes(user.id) == []
    with pytest.raises(InvalidMfaToken):  # a sign-in waiting for the second factor cannot finish
        stack.verify.execute(pending, CLIENT, recovery_code=codes[0])
    with pytest.raises(MfaNotSetUp):
        stack.disable.execute(user.id, code=stack.code(secret))
    # Lost phone: enable again, then disable with a recovery code.
    _, new_codes = stack.enroll(user)
    stack.disable.execute(user.id, recovery_code=new_codes[3])
    assert _credential(stack, user) is None


def test_regenerating_recovery_codes_requires_a_current_code_and_voids_the_old_ones(stack):
    user = stack.add_user()
    secret, old = stack.enroll(user)
    with pytest.raises(InvalidMfaCode):
        stack.regenerate.execute(user.id, stack.wrong(secret))
    new = stack.regenerate.execute(user.id, stack.code(secret))
    assert len(new) == 10 and not set(new) & set(old)
    stack.next_step()
    with pytest.raises(InvalidMfaCode):
        stack.verify.execute(stack.challenge(user), CLIENT, recovery_code=old[0])
    stack.verify.execute(stack.challenge(user), CLIENT, recovery_code=new[0])
    other = stack.add_user("Bia", "bia@example.com")
    with pytest.raises(MfaNotSetUp):
        stack.regenerate.execute(other.id, "123456")


def test_logs_never_contain_secrets_codes_or_tokens(stack, caplog):
    caplog.set_level(logging.DEBUG)
    user = stack.add_user()
    setup = stack.setup.execute(user.id)
    codes = stack.enable.execute(user.id, stack.code(setup.secret))
    stack.next_step()
    token = stack.challenge(user)
    used_code = stack.code(setup.secret)
    with pytest.raises(InvalidMfaCode):
        stack.verify.execute(token, CLIENT, code=stack.wrong(setup.secret))
    signed_in = stack.verify.execute(token, CLIENT, code=used_code)
    stack.next_step()
    stack.regenerate.execute(user.id, stack.code(setup.secret))
    leaks = [setup.secret, token, used_code, *codes, signed_in.tokens.refresh_token]
    assert not [leak for leak in leaks if leak in caplog.text]


def test_the_challenge_housekeeping_drops_only_expired_challenges_of_the_user(stack):
    user = stack.add_user()
    stack.enroll(user)
    stack.challenge(user)
    stack.clock.advance(minutes=6)
    live = stack.challenge(user)
    with stack.uow_factory() as uow:
        count = uow.session.execute(sa.select(sa.func.count()).select_from(mfa_challenges)).scalar_one()
    assert count == 1 and live


def test_the_real_sign_in_flow_asks_for_the_second_factor_and_verify_completes_it(stack):
    """The providers area's CompleteSignIn, with the real MfaGate and the real SessionIssuer."""
    from application.identity.results import MfaRequired, SignedIn
    from application.identity.sign_in import CompleteSignIn

    complete = CompleteSignIn(stack.sessions, stack.gate, stack.clock)
    user, plain = stack.add_user("Ana", "ana@example.com"), stack.add_user("Bia", "bia@example.com")
    secret, _ = stack.enroll(user)
    with stack.uow_factory() as uow:
        assert isinstance(complete.finish(uow, plain, ["oidc:dev"], CLIENT), SignedIn)  # no 2FA: tokens
        outcome = complete.finish(uow, user, ["oidc:dev"], CLIENT)
        uow.commit()
    assert isinstance(outcome, MfaRequired) and outcome.expires_in == 300
    signed_in = stack.verify.execute(outcome.mfa_token, CLIENT, code=stack.code(secret))
    assert signed_in.user.id == user.id
    assert sorted(_session_amr(stack)) == ["oidc:dev", "oidc:dev otp"]
