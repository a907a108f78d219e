"""Sessions, refresh rotation, reuse detection, expiry and logout on SQLite AND PostgreSQL.

Real repositories and unit of work, the real PyJWT adapter, a fake clock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from application.identity.authenticate import AuthenticateAccessToken
from application.identity.logout import Logout, LogoutAll
from application.identity.me import GetMe
from application.identity.refresh import RefreshSession
from application.identity.results import ClientInfo, SignedIn
from application.identity.sessions import SessionIssuer
from domain.auth_sessions import REVOKED_REUSE, InvalidAccessToken, InvalidRefreshToken, SessionPolicy
from domain.users import ExternalIdentity, User
from infra.sql.models import auth_sessions, refresh_tokens, users
from infra.sql.repositories.auth_sessions import SqlAuthSessionLookup
from tests.unit.tokens.helpers import FakeClock, new_key, ring_of, tokens_with

CLIENT = ClientInfo(ip="203.0.113.5", user_agent="pytest")
POLICY = SessionPolicy(
    access_ttl=timedelta(minutes=15),
    absolute_ttl=timedelta(days=30),
    idle_ttl=timedelta(days=7),
    reuse_grace=timedelta(seconds=20),
)


class Stack:
    """The tokens area wired as bootstrap wires it, on the test database and a fake clock."""

    def __init__(self, uow_factory, policy: SessionPolicy = POLICY) -> None:
        self.uow_factory = uow_factory
        self.clock = FakeClock()
        self.codec = tokens_with(ring_of(new_key("k1")))
        self.issuer = SessionIssuer(self.codec, self.clock, policy)
        self.refresh = RefreshSession(uow_factory, self.issuer, self.clock)
        with uow_factory() as uow:  # the bearer check reads outside any unit of work, on the same database
            engine = uow.session.get_bind()
        self.authenticate = AuthenticateAccessToken(self.codec, SqlAuthSessionLookup(engine), self.clock)
        self.logout = Logout(uow_factory, self.clock)
        self.logout_all = LogoutAll(uow_factory, self.clock)
        self.get_me = GetMe(uow_factory)

    def add_user(self, name="Ana", email="ana@example.com") -> User:
        user = User(display_name=name, email=email, email_verified=True)
        with self.uow_factory() as uow:
            uow.users.add(user)
            uow.identities.add(ExternalIdentity(provider="google", subject=f"g-{user.id}", user_id=user.id,
                                                email=email))
            uow.commit()
        return user

    def sign_in(self, user: User, amr=("oidc:google",)):
        with self.uow_factory() as uow:
            pair = self.issuer.start(uow, user, list(amr), CLIENT)
            uow.commit()
        return pair


@pytest.fixture
def stack(uow_factory):
    return Stack(uow_factory)


def session_row(uow_factory, session_id):
    with uow_factory() as uow:
        return uow.session.execute(sa.select(auth_sessions).where(auth_sessions.c.id == session_id)).one()


def token_rows(uow_factory, session_id):
    with uow_factory() as uow:
        stmt = sa.select(refresh_tokens).where(refresh_tokens.c.session_id == session_id).order_by(refresh_tokens.c.id)
        return uow.session.execute(stmt).all()


def test_starting_a_session_stores_it_and_a_hashed_refresh_token(stack):
    user = stack.add_user()
    pair = stack.sign_in(user)
    principal = stack.authenticate(pair.access_token)
    assert principal.user_id == user.id and principal.amr == ("oidc:google",)
    row = session_row(stack.uow_factory, principal.session_id)
    assert (row.user_id, row.amr, row.ip, row.user_agent) == (user.id, "oidc:google", "203.0.113.5", "pytest")
    assert row.expires_at == stack.clock.now() + timedelta(days=30)
    [token] = token_rows(stack.uow_factory, principal.session_id)
    assert token.token_hash != pair.refresh_token and len(token.token_hash) == 64
    assert pair.refresh_token not in token.token_hash
    assert token.expires_at == stack.clock.now() + timedelta(days=7)
    assert len(pair.refresh_token) >= 43  # 256 bits, base64url


def test_the_caller_commits_the_session(stack):
    user = stack.add_user()
    with stack.uow_factory() as uow:
        pair = stack.issuer.start(uow, user, ["oidc:google"], CLIENT)
        # no commit: the sign-in failed later on
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(pair.access_token)
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(pair.refresh_token)


def test_refresh_rotates_and_links_the_spent_token(stack):
    user = stack.add_user()
    first = stack.sign_in(user)
    stack.clock.advance(minutes=10)
    renewed = stack.refresh(first.refresh_token)
    assert isinstance(renewed, SignedIn) and renewed.user.id == user.id
    assert renewed.tokens.refresh_token != first.refresh_token
    assert renewed.tokens.access_token != first.access_token
    principal = stack.authenticate(renewed.tokens.access_token)
    spent, current = token_rows(stack.uow_factory, principal.session_id)
    assert spent.used_at == stack.clock.now() and spent.replaced_by_id == current.id
    assert current.used_at is None
    assert session_row(stack.uow_factory, principal.session_id).last_seen_at == stack.clock.now()
    # the chain goes on
    stack.clock.advance(minutes=10)
    assert stack.refresh(renewed.tokens.refresh_token).user.id == user.id


def test_reuse_after_the_grace_revokes_the_family_and_its_access_tokens(stack, caplog):
    user = stack.add_user()
    first = stack.sign_in(user)
    second = stack.refresh(first.refresh_token)
    stack.clock.advance(seconds=21)
    third = stack.refresh(second.tokens.refresh_token)  # the legitimate client goes on
    caplog.set_level(logging.DEBUG)

    with pytest.raises(InvalidRefreshToken):
        stack.refresh(first.refresh_token)  # the thief replays the stolen, spent token

    principal_sid = uuid.UUID(str(session_row_by_token(stack, first.access_token)))
    row = session_row(stack.uow_factory, principal_sid)
    assert row.revoked_at is not None and row.revoked_reason == REVOKED_REUSE
    assert all(t.used_at is not None for t in token_rows(stack.uow_factory, principal_sid))
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(third.tokens.refresh_token)  # the whole family is dead
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(third.tokens.access_token)  # and its access tokens at once
    assert "reuse detected" in caplog.text
    for secret in (first.refresh_token, third.tokens.refresh_token, third.tokens.access_token):
        assert secret not in caplog.text


def session_row_by_token(stack, access_token):
    return stack.codec.verify(access_token, stack.clock.now() - timedelta(seconds=21)).session_id


def test_reuse_within_the_grace_gives_a_fresh_pair_in_the_same_session(stack):
    user = stack.add_user()
    first = stack.sign_in(user)
    tab_a = stack.refresh(first.refresh_token)
    stack.clock.advance(seconds=5)
    tab_b = stack.refresh(first.refresh_token)  # the other tab, a moment later
    a, b = stack.authenticate(tab_a.tokens.access_token), stack.authenticate(tab_b.tokens.access_token)
    assert a.session_id == b.session_id
    assert tab_a.tokens.refresh_token != tab_b.tokens.refresh_token
    # both branches keep working, and the session is not revoked
    stack.clock.advance(minutes=1)
    stack.refresh(tab_a.tokens.refresh_token)
    stack.refresh(tab_b.tokens.refresh_token)
    assert session_row(stack.uow_factory, a.session_id).revoked_at is None


def test_grace_ends_exactly_at_its_length(stack):
    user = stack.add_user()
    first = stack.sign_in(user)
    stack.refresh(first.refresh_token)
    stack.clock.advance(seconds=19)
    stack.refresh(first.refresh_token)  # 19 s: still within
    stack.clock.advance(seconds=1)  # 20 s: over
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(first.refresh_token)


def test_idle_expiry(stack):
    user = stack.add_user()
    pair = stack.sign_in(user)
    stack.clock.advance(days=7)
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(pair.refresh_token)
    # expiry is not reuse: the session is not revoked for it
    sid = stack.codec.verify(pair.access_token, stack.clock.now() - timedelta(days=7)).session_id
    assert session_row(stack.uow_factory, sid).revoked_at is None


def test_refreshing_never_extends_a_session_past_its_absolute_expiry(stack):
    user = stack.add_user()
    token = stack.sign_in(user).refresh_token
    for _ in range(4):  # every 6 days: never idle for 7
        stack.clock.advance(days=6)
        token = stack.refresh(token).tokens.refresh_token
    stack.clock.advance(days=5, hours=23, minutes=50)  # day 29, 23:50: still alive
    renewed = stack.refresh(token)
    sid = stack.authenticate(renewed.tokens.access_token).session_id
    # the last token's idle expiry is capped by the session's absolute one
    assert token_rows(stack.uow_factory, sid)[-1].expires_at == session_row(stack.uow_factory, sid).expires_at
    stack.clock.advance(minutes=10)  # day 30: the session ends
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(renewed.tokens.access_token)  # 10 minutes old, yet its session is over
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(renewed.tokens.refresh_token)


def test_unknown_and_malformed_refresh_tokens(stack):
    stack.sign_in(stack.add_user())
    for bad in ("", "x" * 257, "definitely-not-issued", "A" * 43):
        with pytest.raises(InvalidRefreshToken):
            stack.refresh(bad)


def test_a_disabled_user_cannot_refresh_and_the_session_is_revoked(stack):
    user = stack.add_user()
    pair = stack.sign_in(user)
    with stack.uow_factory() as uow:
        uow.session.execute(sa.update(users).where(users.c.id == user.id).values(disabled_at=stack.clock.now()))
        uow.commit()
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(pair.refresh_token)
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(pair.access_token)


def test_logout_stops_this_session_at_once_but_not_the_others(stack):
    user = stack.add_user()
    laptop, phone = stack.sign_in(user), stack.sign_in(user)
    stack.logout(stack.authenticate(laptop.access_token))
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(laptop.access_token)  # the access token dies before it expires
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(laptop.refresh_token)
    assert stack.authenticate(phone.access_token).user_id == user.id
    stack.refresh(phone.refresh_token)


def test_logout_all_revokes_every_session_of_the_user_only(stack):
    ana, bob = stack.add_user(), stack.add_user("Bob", "bob@example.com")
    sessions = [stack.sign_in(ana) for _ in range(3)]
    bobs = stack.sign_in(bob)
    assert stack.logout_all(stack.authenticate(sessions[0].access_token)) == 3
    for pair in sessions:
        with pytest.raises(InvalidAccessToken):
            stack.authenticate(pair.access_token)
        with pytest.raises(InvalidRefreshToken):
            stack.refresh(pair.refresh_token)
    assert stack.authenticate(bobs.access_token).user_id == bob.id


def test_an_access_token_naming_another_users_session_is_rejected(stack):
    ana, bob = stack.add_user(), stack.add_user("Bob", "bob@example.com")
    stack.sign_in(ana)
    bobs_sid = stack.authenticate(stack.sign_in(bob).access_token).session_id
    # Forged with our own key (worst case: a signing bug): Ana's sub with Bob's sid.
    forged = stack.codec.issue(ana.id, bobs_sid, ["oidc:google"], stack.clock.now()).token
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(forged)
    unknown = stack.codec.issue(ana.id, uuid.uuid4(), ["oidc:google"], stack.clock.now()).token
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(unknown)


def test_an_expired_access_token_is_rejected_even_if_the_session_lives(stack):
    pair = stack.sign_in(stack.add_user())
    stack.clock.advance(minutes=15, seconds=31)
    with pytest.raises(InvalidAccessToken):
        stack.authenticate(pair.access_token)


def test_me_shows_the_user_identities_and_session(stack):
    user = stack.add_user()
    pair = stack.sign_in(user, amr=("oidc:google", "otp"))
    view = stack.get_me(stack.authenticate(pair.access_token))
    assert view.user.id == user.id
    assert [(i.provider, i.email) for i in view.identities] == [("google", "ana@example.com")]
    assert view.session.amr == ("oidc:google", "otp") and view.two_factor_enabled is None


# -- concurrency ---------------------------------------------------------------------------------


class RacingTokens:
    """Makes both refreshes read the token before either spends it (where the database allows)."""

    def __init__(self, inner, barrier):
        self._inner, self._barrier = inner, barrier

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def mark_used(self, token_id, at):
        # SQLite: the other refresh waits for our BEGIN IMMEDIATE lock, it cannot get here (timeout).
        with contextlib.suppress(threading.BrokenBarrierError):
            self._barrier.wait(timeout=2)
        return self._inner.mark_used(token_id, at)


class RacingUow:
    def __init__(self, inner, barrier):
        self._inner, self._barrier = inner, barrier

    def __enter__(self):
        uow = self._inner.__enter__()
        uow.refresh_tokens = RacingTokens(uow.refresh_tokens, self._barrier)
        return uow

    def __exit__(self, *exc):
        return self._inner.__exit__(*exc)


def race(uow_factory, policy, pair_source):
    barrier = threading.Barrier(2)
    racing = Stack(lambda: RacingUow(uow_factory(), barrier), policy)
    racing.codec = pair_source.codec
    racing.issuer = SessionIssuer(racing.codec, racing.clock, policy)
    racing.refresh = RefreshSession(racing.uow_factory, racing.issuer, racing.clock)
    user = pair_source.add_user()
    pair = pair_source.sign_in(user)
    results: list[object] = []

    def worker():
        try:
            results.append(racing.refresh(pair.refresh_token))
        except InvalidRefreshToken as error:
            results.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return pair, results


def test_concurrent_refreshes_without_grace_never_both_succeed(uow_factory):
    strict = SessionPolicy(reuse_grace=timedelta(0))
    stack = Stack(uow_factory, strict)
    _, results = race(uow_factory, strict, stack)
    wins = [r for r in results if isinstance(r, SignedIn)]
    assert len(results) == 2 and len(wins) == 1
    # the loser's attempt is a reuse: the family is revoked, the winner's tokens die with it
    with pytest.raises(InvalidRefreshToken):
        stack.refresh(wins[0].tokens.refresh_token)


def test_concurrent_refreshes_within_grace_both_get_a_pair_in_the_same_session(uow_factory):
    stack = Stack(uow_factory)
    _, results = race(uow_factory, POLICY, stack)
    assert all(isinstance(r, SignedIn) for r in results), results
    first, second = results
    assert first.tokens.refresh_token != second.tokens.refresh_token
    sids = {stack.authenticate(r.tokens.access_token).session_id for r in results}
    assert len(sids) == 1
    rows = token_rows(uow_factory, sids.pop())
    assert len(rows) == 3 and sum(r.used_at is not None for r in rows) == 1  # spent exactly once


def test_the_bearer_check_never_waits_for_a_writer(stack, uow_factory):
    """The session lookup is read-only: on SQLite it takes no write lock, so a long write
    transaction (BEGIN IMMEDIATE) neither blocks nor is blocked by authenticated requests."""
    user = stack.add_user()
    pair = stack.sign_in(user)
    with uow_factory() as writer:  # holds SQLite's write lock until the block ends
        writer.users.get(user.id)
        writer.session.execute(sa.update(users).where(users.c.id == user.id).values(display_name="Ana B."))
        began = time.perf_counter()
        assert stack.authenticate(pair.access_token).user_id == user.id
        assert time.perf_counter() - began < 1.0
        writer.commit()
