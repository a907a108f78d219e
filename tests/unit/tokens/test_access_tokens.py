"""Our ES256 access tokens: the claims we issue and every verification failure."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from domain.auth_sessions import InvalidAccessToken
from infra.tokens.access_tokens import JwtAccessTokens
from infra.tokens.key_ring import KeyRing, SigningKey
from tests.unit.tokens.helpers import ACCESS_TTL, AUDIENCE, ISSUER, LEEWAY, T0, new_key, ring_of, tokens_with

USER, SESSION = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def key():
    return new_key("k1")


@pytest.fixture
def codec(key):
    return tokens_with(ring_of(key))


def claims_now(**overrides):
    issued = int(T0.timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(USER), "sid": str(SESSION), "jti": "j1",
              "amr": ["oidc:dev"], "iat": issued, "nbf": issued, "exp": issued + 900}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(key, claims, headers=None, algorithm="ES256"):
    return jwt.encode(claims, key.private_key, algorithm=algorithm, headers={"kid": key.kid, "typ": "at+jwt",
                                                                              **(headers or {})})


def test_issued_token_has_the_documented_header_and_claims(codec, key):
    issued = codec.issue(USER, SESSION, ["oidc:google", "otp"], T0)
    assert issued.expires_in == 900
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "ES256", "kid": "k1", "typ": "at+jwt"}
    claims = jwt.decode(issued.token, key.public_key, algorithms=["ES256"], audience=AUDIENCE,
                        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    assert set(claims) == {"iss", "aud", "sub", "sid", "jti", "amr", "iat", "nbf", "exp"}
    assert claims["iss"] == ISSUER and claims["sub"] == str(USER) and claims["sid"] == str(SESSION)
    assert claims["amr"] == ["oidc:google", "otp"]
    assert claims["exp"] - claims["iat"] == ACCESS_TTL.total_seconds() and claims["nbf"] == claims["iat"]
    verified = codec.verify(issued.token, T0 + timedelta(minutes=14))
    assert (verified.user_id, verified.session_id, verified.amr) == (USER, SESSION, ("oidc:google", "otp"))


def test_each_token_has_its_own_jti(codec):
    assert codec.issue(USER, SESSION, ["x"], T0).token != codec.issue(USER, SESSION, ["x"], T0).token


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_none(claims):
    return f"{_b64({'alg': 'none', 'kid': 'k1', 'typ': 'at+jwt'})}.{_b64(claims)}."


def forged_hs256_with_public_key(key, claims):
    # The classic confusion attack: HMAC "signed" with the PEM of our public key.
    import hashlib
    import hmac

    public_pem = key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'k1', 'typ': 'at+jwt'})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def tampered(token):
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    return f"{header}.{_b64(claims)}.{signature}"


def bad_tokens(key):
    stranger = new_key("k1")  # same kid, a key that is not ours
    return {
        "alg none": forged_none(claims_now()),
        "HS256 with the public key": forged_hs256_with_public_key(key, claims_now()),
        "unknown kid": sign(new_key("k9"), claims_now()),
        "our kid, another key": sign(stranger, claims_now()),
        "no kid": jwt.encode(claims_now(), key.private_key, algorithm="ES256", headers={"typ": "at+jwt"}),
        "not an access token (typ)": sign(key, claims_now(), headers={"typ": "JWT"}),
        "wrong iss": sign(key, claims_now(iss="https://evil.test")),
        "wrong aud": sign(key, claims_now(aud="someone-else")),
        "expired": sign(key, claims_now(exp=int(T0.timestamp()) - 31)),
        "nbf in the future": sign(key, claims_now(nbf=int(T0.timestamp()) + 120)),
        "iat in the future": sign(key, claims_now(iat=int(T0.timestamp()) + 120)),
        "tampered payload": tampered(sign(key, claims_now())),
        "tampered signature": sign(key, claims_now())[:-4] + "AAAA",
        "sub not a uuid": sign(key, claims_now(sub="admin")),
        "sid not a uuid": sign(key, claims_now(sid=123)),
        "amr not a list": sign(key, claims_now(amr="pwd")),
        "exp not a number": sign(key, claims_now(exp="tomorrow")),
        "garbage": "not-a-jwt",
        "empty": "",
        "two parts": "a.b",
        **{f"missing {name}": sign(key, claims_now(**{name: None}))
           for name in ("iss", "aud", "sub", "sid", "jti", "amr", "iat", "nbf", "exp")},
    }


@pytest.mark.parametrize("case", list(bad_tokens(new_key()).keys()))
def test_every_verification_failure_is_the_same_invalid_token(codec, key, case, caplog):
    token = bad_tokens(key)[case]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidAccessToken) as failure:
        codec.verify(token, T0)
    assert failure.value.code == "invalid_token"
    assert failure.value.message == "The access token is invalid or expired."
    if token:
        assert token not in caplog.text


def test_small_clock_skew_is_tolerated(codec, key):
    assert codec.verify(sign(key, claims_now(iat=int(T0.timestamp()) + 20, nbf=int(T0.timestamp()) + 20)), T0)
    assert codec.verify(sign(key, claims_now(exp=int(T0.timestamp()) - 20)), T0)


def test_a_key_embedded_in_the_token_header_is_never_used(codec):
    attacker = new_key("k1")
    embedded = jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key, as_dict=True)
    token = sign(attacker, claims_now(), headers={"jwk": embedded, "jku": "https://evil.test/jwks"})
    with pytest.raises(InvalidAccessToken):
        codec.verify(token, T0)


def test_a_token_of_a_retired_key_verifies_until_the_key_leaves_the_ring():
    switch = T0 + timedelta(minutes=1)
    old, new = new_key("old", retires_at=switch), new_key("new", activates_at=switch)
    codec = tokens_with(ring_of(old, new))
    token = codec.issue(USER, SESSION, ["x"], T0).token
    assert jwt.get_unverified_header(token)["kid"] == "old"
    assert codec.verify(token, switch + timedelta(minutes=14)).session_id == SESSION
    assert jwt.get_unverified_header(codec.issue(USER, SESSION, ["x"], switch).token)["kid"] == "new"


# --- the verified-token cache: a hit re-checks what can change without the token changing ------------


class MutableKeys:
    """A key source whose keys a test can drop or reload (like JWT_SIGNING_KEYS or the dev directory)."""

    def __init__(self, *keys):
        self.current = tuple(keys)

    def keys(self, now):
        return self.current


def counting_decode(monkeypatch):
    import infra.tokens.access_tokens as module

    calls = []
    real = module.jwt.decode

    def decode(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module.jwt, "decode", decode)
    return calls


def test_a_token_is_verified_in_full_once_then_answered_from_the_cache(codec, monkeypatch):
    token = codec.issue(USER, SESSION, ["x"], T0).token
    decodes = counting_decode(monkeypatch)
    first = codec.verify(token, T0)
    assert codec.verify(token, T0 + timedelta(minutes=1)) == first
    assert len(decodes) == 1


def test_a_cached_token_still_expires(codec):
    token = codec.issue(USER, SESSION, ["x"], T0).token
    assert codec.verify(token, T0)
    assert codec.verify(token, T0 + ACCESS_TTL + timedelta(seconds=29))  # within the leeway
    with pytest.raises(InvalidAccessToken):
        codec.verify(token, T0 + ACCESS_TTL + timedelta(seconds=30))


def test_a_cached_token_is_not_valid_before_its_time(codec):
    token = codec.issue(USER, SESSION, ["x"], T0 + timedelta(minutes=5)).token
    assert codec.verify(token, T0 + timedelta(minutes=5))
    with pytest.raises(InvalidAccessToken):
        codec.verify(token, T0)


def test_a_cached_token_dies_with_its_key():
    key = new_key("k1")
    source = MutableKeys(key)
    codec = JwtAccessTokens(KeyRing(source, access_ttl=ACCESS_TTL, leeway=LEEWAY), issuer=ISSUER,
                            audience=AUDIENCE, ttl=ACCESS_TTL, leeway=LEEWAY)
    token = codec.issue(USER, SESSION, ["x"], T0).token
    assert codec.verify(token, T0)
    source.current = (new_key("k2"),)  # k1 removed from the configured keys
    with pytest.raises(InvalidAccessToken):
        codec.verify(token, T0)


def test_a_reloaded_key_means_a_full_verification_again(monkeypatch):
    key = new_key("k1")
    source = MutableKeys(key)
    codec = JwtAccessTokens(KeyRing(source, access_ttl=ACCESS_TTL, leeway=LEEWAY), issuer=ISSUER,
                            audience=AUDIENCE, ttl=ACCESS_TTL, leeway=LEEWAY)
    token = codec.issue(USER, SESSION, ["x"], T0).token
    assert codec.verify(token, T0)
    decodes = counting_decode(monkeypatch)
    source.current = (SigningKey("k1", key.private_key),)  # same kid, a new key object (a re-read)
    assert codec.verify(token, T0).session_id == SESSION
    assert len(decodes) == 1
    source.current = (new_key("k1"),)  # same kid, other key material: the old signature must fail
    with pytest.raises(InvalidAccessToken):
        codec.verify(token, T0)


def test_only_exact_tokens_hit_and_failures_are_never_cached(codec, key):
    token = codec.issue(USER, SESSION, ["x"], T0).token
    assert codec.verify(token, T0)
    for forged in (token[:-4] + "AAAA", token + "=", " " + token, tampered(token)):
        with pytest.raises(InvalidAccessToken):
            codec.verify(forged, T0)
    assert set(codec._verified) == {token}


def test_the_cache_is_bounded_and_drops_the_oldest_first(key):
    codec = JwtAccessTokens(ring_of(key), issuer=ISSUER, audience=AUDIENCE, ttl=ACCESS_TTL, leeway=LEEWAY,
                            cache_size=3)
    tokens = [codec.issue(USER, SESSION, ["x"], T0).token for _ in range(5)]
    for token in tokens:
        assert codec.verify(token, T0)
    assert list(codec._verified) == tokens[2:]



def test_a_cache_size_of_zero_turns_the_cache_off(key, monkeypatch):
    codec = JwtAccessTokens(ring_of(key), issuer=ISSUER, audience=AUDIENCE, ttl=ACCESS_TTL, leeway=LEEWAY,
                            cache_size=0)
    token = codec.issue(USER, SESSION, ["x"], T0).token
    decodes = counting_decode(monkeypatch)
    assert codec.verify(token, T0) == codec.verify(token, T0)
    assert len(decodes) == 2 and not codec._verified
