"""Unit tests (no I/O): linking rules, return_to allowlist, PKCE, nonce comparison, the Apple
client secret, the provider settings, and CompleteSignIn against in-memory fakes."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from application.identity.results import ClientInfo, MfaRequired, SignedIn, TokenPair
from application.identity.sign_in import CompleteSignIn, handover_key, login_key, pkce_challenge
from domain.errors import IdentityAlreadyLinked
from domain.identity import (
    AccountDisabled,
    VerifiedIdentity,
    display_name_for,
    may_link_by_email,
    return_to_allowed,
)
from domain.users import User
from infra.identity.apple import APPLE_AUDIENCE, AppleClientSecret
from infra.identity.id_token import nonce_matches
from shared.settings import SettingsError, load_settings

CLIENT = ClientInfo(ip=None, user_agent=None)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(("url", "ok"), [
    ("https://app.example.com/", True),
    ("https://app.example.com/deep/path?x=1", True),
    ("https://app.example.com", False),  # strict: the entry is "…/", a bare origin is not under it
    ("https://app.example.com.evil.net/", False),
    ("https://app.example.com@evil.net/", False),
    ("https://evil.net/https://app.example.com/", False),
    ("http://app.example.com/", False),
    ("https://app.example.com:8443/", False),
    ("https://app.example.com\\@evil.net/", False),
    ("javascript:alert(1)", False),
    ("//app.example.com/", False),
    ("https://app.example.com/\n", False),
    ("", False),
])
def test_return_to_allowlist(url, ok):
    assert return_to_allowed(url, ("https://app.example.com/",)) is ok


def test_linking_needs_both_sides_verified():
    identity = VerifiedIdentity("google", "1", email="a@example.com", email_verified=True)
    verified = User(display_name="A", email="a@example.com", email_verified=True)
    unverified = User(display_name="A", email="a@example.com", email_verified=False)
    assert may_link_by_email(identity, verified)
    assert not may_link_by_email(identity, unverified)
    assert not may_link_by_email(VerifiedIdentity("google", "1", email="a@example.com"), verified)
    assert not may_link_by_email(VerifiedIdentity("google", "1", email="b@example.com", email_verified=True), verified)


def test_display_names():
    assert display_name_for(VerifiedIdentity("g", "1", name="  Ana   Lima ")) == "Ana Lima"
    assert display_name_for(VerifiedIdentity("apple", "1"), "Rita Lobo") == "Rita Lobo"
    assert display_name_for(VerifiedIdentity("g", "1", email="joao@example.com")) == "joao"
    relay = VerifiedIdentity("apple", "1", email="x9@privaterelay.appleid.com", email_verified=True,
                             is_private_email=True)
    assert display_name_for(relay) == "Tagarela user"


def test_pkce_s256_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_state_and_handover_keys_are_domain_separated_hashes():
    assert login_key("abc") != handover_key("abc")
    assert "abc" not in login_key("abc") and len(login_key("abc")) == 64


def test_nonce_comparison():
    raw = "r" * 32
    hashed = hashlib.sha256(raw.encode()).hexdigest()
    assert nonce_matches(raw, raw, allow_hashed=False)
    assert not nonce_matches(hashed, raw, allow_hashed=False)
    assert nonce_matches(hashed, raw, allow_hashed=True)
    assert not nonce_matches(None, raw, allow_hashed=True)
    assert not nonce_matches("", "", allow_hashed=True)


# ------------------------------------------------------------------ Apple client secret


@dataclass
class Clock:
    at: datetime = NOW

    def now(self) -> datetime:
        return self.at


def _p8() -> tuple[str, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key


def test_apple_client_secret_is_an_es256_jwt_with_apples_claims():
    pem, key = _p8()
    clock = Clock()
    secret = AppleClientSecret(team_id="TEAM123456", key_id="KEY1234567", client_id="com.example.web",
                               private_key_pem=pem, clock=clock)
    token = secret()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == "KEY1234567"
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"], audience=APPLE_AUDIENCE,
                        options={"verify_exp": False, "verify_iat": False})
    assert claims["iss"] == "TEAM123456" and claims["sub"] == "com.example.web"
    assert claims["iat"] == int(NOW.timestamp()) and claims["exp"] - claims["iat"] == 86400


def test_apple_client_secret_is_cached_then_renewed_well_before_expiry():
    pem, _ = _p8()
    clock = Clock()
    secret = AppleClientSecret(team_id="T", key_id="K", client_id="c", private_key_pem=pem, clock=clock)
    first = secret()
    clock.at += timedelta(hours=11, minutes=59)
    assert secret() == first  # cached
    clock.at += timedelta(minutes=2)  # past half its life, 12 h before it would expire
    renewed = secret()
    assert renewed != first
    assert jwt.decode(renewed, options={"verify_signature": False})["iat"] == int(clock.at.timestamp())


def test_apple_key_must_be_a_p256_pem():
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    for bad in ("not a key", rsa_pem):
        with pytest.raises(ValueError) as failure:
            AppleClientSecret(team_id="T", key_id="K", client_id="c", private_key_pem=bad, clock=Clock())
        assert "PRIVATE" not in str(failure.value).replace("APPLE_PRIVATE_KEY", "")


# ------------------------------------------------------------------ settings


def test_dev_provider_is_refused_in_production_naming_the_setting():
    env = {"APP_ENVIRONMENT": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
           "AzureWebJobsStorage__accountName": "acct", "JWT_SIGNING_KEYS": "", "PUBLIC_BASE_URL": "https://chat.example",
           "DEV_OIDC_ISSUER": "http://127.0.0.1:7072"}
    with pytest.raises(SettingsError) as failure:
        load_settings(env)
    assert "DEV_OIDC_ISSUER" in str(failure.value) and "anyone" in str(failure.value)


def test_production_wants_an_https_public_base_url():
    with pytest.raises(SettingsError) as failure:
        load_settings({"APP_ENVIRONMENT": "production"})
    assert "PUBLIC_BASE_URL" in str(failure.value)


@pytest.mark.parametrize("value", [
    "not json", "{}", '[{"name": "google", "issuer": "https://x", "client_id": "c"}]',
    '[{"name": "corp", "client_id": "c"}]', '[{"name": "corp", "issuer": "ftp://x", "client_id": "c"}]',
    '[{"name": "corp", "issuer": "https://x", "client_id": "c", "algorithms": ["HS256"]}]',
    '[{"name": "corp", "issuer": "https://x", "client_id": "c", "client_secret": "s3cr3t", "algorithms": ["none"]}]',
])
def test_generic_providers_are_validated_without_echoing_secrets(value):
    with pytest.raises(SettingsError) as failure:
        load_settings({"OIDC_PROVIDERS": value})
    assert "OIDC_PROVIDERS" in str(failure.value) and "s3cr3t" not in str(failure.value)


def test_unconfigured_providers_are_not_offered():
    from infra.identity.registry import build_providers

    settings = load_settings({"GOOGLE_CLIENT_ID": "", "APPLE_CLIENT_ID": "svc", "MICROSOFT_CLIENT_ID": ""})
    assert build_providers(settings, Clock()) == []  # Apple without its key is not configured
    settings = load_settings({"GOOGLE_CLIENT_ID": "g", "MICROSOFT_CLIENT_ID": "m",
                              "OIDC_PROVIDERS": '[{"name": "corp", "issuer": "https://sso.corp", "client_id": "c"}]',
                              "DEV_OIDC_ISSUER": "http://127.0.0.1:7072"})
    names = [p.info.name for p in build_providers(settings, Clock())]
    assert names == ["google", "microsoft", "corp", "dev"]


# ------------------------------------------------------------------ CompleteSignIn with fakes


@dataclass
class Users:
    rows: dict[uuid.UUID, User] = field(default_factory=dict)

    def add(self, user):
        self.rows[user.id] = user

    def get(self, user_id):
        return self.rows.get(user_id)

    def get_by_email(self, email):
        found = sorted((u for u in self.rows.values() if u.email == email), key=lambda u: not u.email_verified)
        return found[0] if found else None


@dataclass
class Identities:
    rows: dict[tuple[str, str], object] = field(default_factory=dict)

    def add(self, identity):
        if (identity.provider, identity.subject) in self.rows:
            raise IdentityAlreadyLinked("taken")
        self.rows[(identity.provider, identity.subject)] = identity

    def find_by_provider_subject(self, provider, subject):
        return self.rows.get((provider, subject))

    def record_login(self, identity_id, at):
        pass


@dataclass
class Uow:
    users: Users = field(default_factory=Users)
    identities: Identities = field(default_factory=Identities)
    commits: int = 0

    def commit(self):
        self.commits += 1

    def rollback(self):
        pass


class Sessions:
    def start(self, uow, user, amr, client):
        return TokenPair("a", "r", 900)


class Gate:
    def __init__(self, on=False):
        self.on = on

    def required(self, uow, user_id):
        return self.on

    def challenge(self, uow, user, amr, client):
        return MfaRequired("m", 300)


def test_complete_sign_in_creates_then_finds_the_user_and_commits():
    uow, complete = Uow(), CompleteSignIn(Sessions(), Gate(), Clock())
    identity = VerifiedIdentity("google", "g-1", email="a@example.com", email_verified=True, name="Ana")
    first = complete(uow, identity, CLIENT)
    second = complete(uow, identity, CLIENT)
    assert isinstance(first, SignedIn) and second.user.id == first.user.id and uow.commits == 2
    assert first.user.created_at == NOW


def test_complete_sign_in_asks_for_the_second_factor():
    outcome = CompleteSignIn(Sessions(), Gate(on=True), Clock())(Uow(), VerifiedIdentity("g", "1"), CLIENT)
    assert isinstance(outcome, MfaRequired)


def test_complete_sign_in_refuses_disabled_users_without_committing():
    uow, complete = Uow(), CompleteSignIn(Sessions(), Gate(), Clock())
    user = complete(uow, VerifiedIdentity("g", "1"), CLIENT).user
    user.disabled_at = NOW
    with pytest.raises(AccountDisabled):
        complete(uow, VerifiedIdentity("g", "1"), CLIENT)
    assert uow.commits == 1


def test_complete_sign_in_explicit_link_refuses_someone_elses_identity():
    uow, complete = Uow(), CompleteSignIn(Sessions(), Gate(), Clock())
    owner = complete(uow, VerifiedIdentity("corp", "c-1"), CLIENT).user
    me = complete(uow, VerifiedIdentity("g", "me"), CLIENT).user
    with pytest.raises(IdentityAlreadyLinked):
        complete(uow, VerifiedIdentity("corp", "c-1"), CLIENT, link_user_id=me.id)
    linked = complete(uow, VerifiedIdentity("corp", "c-2"), CLIENT, link_user_id=me.id)
    assert linked.user.id == me.id != owner.id
