"""The sign-in use cases on SQLite and PostgreSQL, against the real OIDC provider process.

Web flow (start → the provider's /authorize → callback), native flow, the single-use and expiry
rules of pending logins, return_to and its handover code, linking by verified e-mail and
explicitly, disabled users, the second-factor branch. The other identity areas are faked here
(``helpers.py``); ``tests/e2e/test_sign_in_e2e.py`` runs the same flows with the real ones.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from application.identity.results import MfaRequired, SignedIn
from application.identity.sign_in import (
    CompleteSignIn,
    FinishWebLogin,
    HandoverRedirect,
    RedeemHandover,
    SignInWithIdToken,
    StartLink,
    StartWebLogin,
    login_key,
)
from domain.errors import IdentityAlreadyLinked
from domain.identity import AccountDisabled, InvalidReturnTo, PendingLogin, SignInFailed, UnknownProvider
from domain.users import User
from infra.identity.discovery import discovery_url
from infra.identity.providers import OidcProvider, ProviderConfig
from infra.identity.registry import StaticProviderRegistry
from infra.sql.models import users
from tests.fixtures.oidc import CLIENT_ID
from tests.integration.identity.helpers import CLIENT, FakeClock, FakeMfaGate, FakeSessions

NONCE = "native-nonce-" + "y" * 20
APP = "https://app.example.com/"


class Stack:
    def __init__(self, uow_factory, oidc_provider):
        issuer = discovery_url(oidc_provider.issuer)
        self.providers = StaticProviderRegistry([
            OidcProvider(ProviderConfig(name="dev", display_name="Dev", client_id=CLIENT_ID, discovery_url=issuer)),
            OidcProvider(ProviderConfig(name="corp", display_name="Corp", client_id=CLIENT_ID, discovery_url=issuer)),
            OidcProvider(ProviderConfig(name="apple", display_name="Apple", client_id=CLIENT_ID, discovery_url=issuer,
                                        allow_hashed_nonce=True, flows=("native",))),
            OidcProvider(ProviderConfig(name="microsoft", display_name="Microsoft", client_id=CLIENT_ID,
                                        discovery_url=issuer, trust_email_verified=False)),
        ])
        self.uow_factory = uow_factory
        self.clock = FakeClock()
        self.sessions = FakeSessions()
        self.mfa = FakeMfaGate()
        self.complete = CompleteSignIn(self.sessions, self.mfa, self.clock)
        self.start = StartWebLogin(self.providers, uow_factory, self.clock, public_base_url="http://localhost:7071",
                                   return_to_allowlist=(APP,))
        self.finish = FinishWebLogin(self.providers, uow_factory, self.clock, self.complete)
        self.native = SignInWithIdToken(self.providers, uow_factory, self.complete)
        self.link = StartLink(self.start, uow_factory)
        self.handover = RedeemHandover(uow_factory, self.clock, self.complete)
        self.oidc = oidc_provider

    def web(self, email: str, provider: str = "dev", **start_kwargs):
        url = self.start(provider, login_hint=email, **start_kwargs)
        return self.oidc.authorize(url)

    def user(self, user_id):
        with self.uow_factory() as uow:
            return uow.users.get(user_id)

    def identities(self, user_id):
        with self.uow_factory() as uow:
            return [(i.provider, i.subject) for i in uow.identities.list_for_user(user_id)]


@pytest.fixture
def stack(uow_factory, oidc_provider):
    return Stack(uow_factory, oidc_provider)


def test_web_flow_signs_in_and_creates_the_user(stack):
    url = stack.start("dev", login_hint="alice@example.com")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [
        "http://localhost:7071/api/auth/dev/callback"]
    assert len(query["state"][0]) >= 43 and len(query["nonce"][0]) >= 43
    answer = stack.oidc.authorize(url)
    outcome = stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert isinstance(outcome, SignedIn)
    assert (outcome.user.email, outcome.user.email_verified, outcome.user.display_name) == (
        "alice@example.com", True, "alice")
    assert stack.identities(outcome.user.id) == [("dev", "dev|alice@example.com")]
    assert stack.sessions.started == [(outcome.user.id, ("oidc:dev",))]
    # The same person again: the same user, no new account.
    answer = stack.web("alice@example.com")
    again = stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert again.user.id == outcome.user.id


def test_the_state_is_stored_only_as_a_hash(stack, uow_factory):
    url = stack.start("dev")
    state = parse_qs(urlsplit(url).query)["state"][0]
    with uow_factory() as uow:
        assert uow.pending_logins.consume(login_key(state), stack.clock.now()) is not None
        assert uow.pending_logins.consume(state, stack.clock.now()) is None


def test_a_replayed_state_fails(stack):
    answer = stack.web("bob@example.com")
    stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    with pytest.raises(SignInFailed) as failure:
        stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert failure.value.code == "invalid_state"


def test_a_replayed_code_with_a_fresh_state_fails_at_the_provider(stack):
    first = stack.web("carol@example.com")
    stack.finish("dev", state=first["state"], code=first["code"], error=None, client=CLIENT)
    second = stack.web("carol@example.com")
    with pytest.raises(SignInFailed) as failure:  # PKCE: the code was bound to the first verifier
        stack.finish("dev", state=second["state"], code=first["code"], error=None, client=CLIENT)
    assert failure.value.code == "invalid_code"


def test_a_failed_callback_still_spends_the_state(stack):
    answer = stack.web("dave@example.com")
    with pytest.raises(SignInFailed):
        stack.finish("dev", state=answer["state"], code="forged-code", error=None, client=CLIENT)
    with pytest.raises(SignInFailed) as failure:
        stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert failure.value.code == "invalid_state"


def test_the_provider_saying_no_fails_cleanly(stack):
    answer = stack.web("erin@example.com")
    with pytest.raises(SignInFailed) as failure:
        stack.finish("dev", state=answer["state"], code=None, error="access_denied", client=CLIENT)
    assert failure.value.code == "provider_error"


def test_a_pending_login_expires_after_ten_minutes(stack):
    answer = stack.web("frank@example.com")
    stack.clock.advance(minutes=10, seconds=1)
    with pytest.raises(SignInFailed) as failure:
        stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert failure.value.code == "invalid_state"


def test_a_state_of_one_provider_is_refused_by_another(stack):
    answer = stack.web("gina@example.com", provider="dev")
    with pytest.raises(SignInFailed):
        stack.finish("corp", state=answer["state"], code=answer["code"], error=None, client=CLIENT)


def test_concurrent_callbacks_with_one_state_consume_it_once(stack, uow_factory):
    url = stack.start("dev")
    key = login_key(parse_qs(urlsplit(url).query)["state"][0])
    barrier, results = threading.Barrier(2), []

    def consume():
        barrier.wait()
        with uow_factory() as uow:
            results.append(uow.pending_logins.consume(key, stack.clock.now()))
            uow.commit()

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is not None for r in results) == [False, True]


def test_expired_pending_logins_are_cleaned_up(stack, uow_factory):
    now = stack.clock.now()
    with uow_factory() as uow:
        uow.pending_logins.add(PendingLogin(key_hash="a" * 64, provider="dev", nonce="n", code_verifier="v",
                                            redirect_uri="http://x", created_at=now - timedelta(hours=1),
                                            expires_at=now - timedelta(minutes=50)))
        uow.commit()
    stack.start("dev")
    with uow_factory() as uow:
        assert uow.pending_logins.consume("a" * 64, now - timedelta(hours=1)) is None


def test_return_to_must_be_on_the_allowlist(stack):
    for bad in ("https://evil.example/", "https://app.example.com.evil.net/", "https://app.example.com@evil.net/",
                "javascript:alert(1)", "//evil.example/", "http://app.example.com/"):
        with pytest.raises(InvalidReturnTo):
            stack.start("dev", return_to=bad)


def test_return_to_hands_over_a_single_use_code_not_tokens(stack):
    answer = stack.web("hana@example.com", return_to=APP + "signed-in")
    outcome = stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert isinstance(outcome, HandoverRedirect)
    assert outcome.location.startswith(APP + "signed-in?code=")
    assert "access" not in outcome.location and "refresh" not in outcome.location
    code = parse_qs(urlsplit(outcome.location).query)["code"][0]
    with pytest.raises(SignInFailed):  # a state is not a handover code
        stack.handover(answer["state"], CLIENT)
    signed_in = stack.handover(code, CLIENT)
    assert isinstance(signed_in, SignedIn) and signed_in.user.email == "hana@example.com"
    with pytest.raises(SignInFailed):
        stack.handover(code, CLIENT)


def test_handover_codes_expire_within_a_minute(stack):
    answer = stack.web("ines@example.com", return_to=APP)
    outcome = stack.finish("dev", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    stack.clock.advance(seconds=61)
    with pytest.raises(SignInFailed):
        stack.handover(parse_qs(urlsplit(outcome.location).query)["code"][0], CLIENT)


def test_native_flow_signs_in(stack):
    token = stack.oidc.mint(nonce=NONCE, sub="n-1", email="native@example.com", email_verified=True, name="Nat Ive")
    outcome = stack.native("dev", id_token=token, nonce=NONCE, client=CLIENT)
    assert isinstance(outcome, SignedIn) and outcome.user.display_name == "Nat Ive"


def test_native_flow_requires_the_matching_nonce(stack):
    token = stack.oidc.mint(nonce=NONCE, sub="n-2")
    with pytest.raises(SignInFailed):
        stack.native("dev", id_token=token, nonce="a-different-nonce-000000", client=CLIENT)


def test_a_provider_without_the_flow_or_not_configured_is_refused(stack):
    with pytest.raises(UnknownProvider):
        stack.start("apple")  # configured for the native flow only here
    with pytest.raises(UnknownProvider):
        stack.start("google")


def test_verified_emails_link_accounts_across_providers(stack):
    first = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-1", email="jo@example.com",
                                                         email_verified=True), nonce=NONCE, client=CLIENT)
    second = stack.native("corp", id_token=stack.oidc.mint(nonce=NONCE, sub="c-1", email="JO@example.com",
                                                           email_verified=True), nonce=NONCE, client=CLIENT)
    assert second.user.id == first.user.id
    assert sorted(stack.identities(first.user.id)) == [("corp", "c-1"), ("dev", "d-1")]


def test_an_unverified_email_does_not_link(stack):
    first = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-2", email="kim@example.com",
                                                         email_verified=True), nonce=NONCE, client=CLIENT)
    claimed = stack.native("corp", id_token=stack.oidc.mint(nonce=NONCE, sub="c-2", email="kim@example.com",
                                                            email_verified=False), nonce=NONCE, client=CLIENT)
    assert claimed.user.id != first.user.id and claimed.user.email_verified is False


def test_microsoft_email_does_not_link_even_when_it_says_verified(stack):
    first = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-3", email="lee@example.com",
                                                         email_verified=True), nonce=NONCE, client=CLIENT)
    ms = stack.native("microsoft", id_token=stack.oidc.mint(nonce=NONCE, sub="m-3", email="lee@example.com",
                                                            email_verified=True), nonce=NONCE, client=CLIENT)
    assert ms.user.id != first.user.id


def test_a_verified_email_does_not_join_an_account_whose_email_is_unverified(stack):
    squatter = stack.native("microsoft", id_token=stack.oidc.mint(nonce=NONCE, sub="m-4", email="max@example.com"),
                            nonce=NONCE, client=CLIENT)
    owner = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-4", email="max@example.com",
                                                         email_verified=True), nonce=NONCE, client=CLIENT)
    assert owner.user.id != squatter.user.id


def test_explicit_link_while_signed_in(stack):
    me = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-5", email="ned@example.com",
                                                      email_verified=True), nonce=NONCE, client=CLIENT).user
    url = stack.link(me.id, "corp")
    answer = stack.oidc.authorize(url, login_hint="ned.work@corp.example")  # another address, other provider
    outcome = stack.finish("corp", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert outcome.user.id == me.id
    assert sorted(stack.identities(me.id)) == [("corp", "dev|ned.work@corp.example"), ("dev", "d-5")]


def test_linking_an_account_that_belongs_to_someone_else_is_a_conflict(stack):
    other = stack.web("olga@example.com", provider="corp")
    stack.finish("corp", state=other["state"], code=other["code"], error=None, client=CLIENT)
    me = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-6"), nonce=NONCE, client=CLIENT).user
    answer = stack.oidc.authorize(stack.link(me.id, "corp"), login_hint="olga@example.com")
    with pytest.raises(IdentityAlreadyLinked):
        stack.finish("corp", state=answer["state"], code=answer["code"], error=None, client=CLIENT)
    assert stack.identities(me.id) == [("dev", "d-6")]


def test_a_disabled_user_cannot_sign_in_or_link(stack, uow_factory):
    user = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-7"), nonce=NONCE, client=CLIENT).user
    with uow_factory() as uow:
        uow.session.execute(sa.update(users).where(users.c.id == user.id).values(disabled_at=user.created_at))
        uow.commit()
    stack.sessions.started.clear()
    with pytest.raises(AccountDisabled):
        stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-7"), nonce=NONCE, client=CLIENT)
    with pytest.raises(AccountDisabled):
        stack.link(user.id, "corp")
    assert stack.sessions.started == []


def test_two_factor_users_get_a_challenge_instead_of_tokens(stack):
    user = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-8"), nonce=NONCE, client=CLIENT).user
    stack.mfa.enabled.add(user.id)
    outcome = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-8"), nonce=NONCE, client=CLIENT)
    assert isinstance(outcome, MfaRequired)
    assert stack.mfa.challenged == [(user.id, ("oidc:dev",))]


def test_apple_first_sign_in_keeps_the_name_and_hashed_nonce(stack):
    hashed = hashlib.sha256(NONCE.encode()).hexdigest()
    token = stack.oidc.mint(nonce=hashed, sub="001234.apple", email="abc123@privaterelay.appleid.com",
                            email_verified="true", is_private_email="true")
    first = stack.native("apple", id_token=token, nonce=NONCE, client=CLIENT, name_hint="Ana Lima")
    assert first.user.display_name == "Ana Lima"
    assert first.user.email == "abc123@privaterelay.appleid.com" and first.user.email_verified
    later = stack.native("apple", id_token=stack.oidc.mint(nonce=hashed, sub="001234.apple"), nonce=NONCE,
                         client=CLIENT)
    assert later.user.id == first.user.id and stack.user(first.user.id).display_name == "Ana Lima"


def test_apple_private_relay_without_a_name_gets_a_neutral_display_name(stack):
    token = stack.oidc.mint(nonce=NONCE, sub="005678.apple", email="q9z8x7@privaterelay.appleid.com",
                            email_verified="true", is_private_email="true")
    outcome = stack.native("apple", id_token=token, nonce=NONCE, client=CLIENT)
    assert outcome.user.display_name == "Tagarela user"


def test_signing_in_changes_nothing_when_the_token_is_bad(stack, uow_factory):
    with pytest.raises(SignInFailed):
        stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-9", aud="other"), nonce=NONCE, client=CLIENT)
    with uow_factory() as uow:
        assert uow.identities.find_by_provider_subject("dev", "d-9") is None


def test_user_created_has_the_clock_time(stack):
    outcome = stack.native("dev", id_token=stack.oidc.mint(nonce=NONCE, sub="d-10"), nonce=NONCE, client=CLIENT)
    assert isinstance(outcome.user, User) and abs((outcome.user.created_at - stack.clock.now()).total_seconds()) < 1
