"""ID-token verification against a real OIDC provider process (its discovery and JWKS): the attacks.

Every forged or wrong token must fail with the same ``SignInFailed`` and must not reach the network
more than the one allowed JWKS refetch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from domain.identity import SignInFailed
from infra.identity.discovery import discovery_url
from infra.identity.http import get_json
from infra.identity.id_token import IdTokenPolicy, IdTokenVerifier
from infra.identity.jwks import JwksCache
from infra.identity.providers import OidcProvider, ProviderConfig, microsoft_tenant_rule
from tests.fixtures.oidc import CLIENT_ID

NONCE = "n0nce-" + "x" * 26


@pytest.fixture
def provider(oidc_provider):
    return OidcProvider(ProviderConfig(name="dev", display_name="Dev", client_id=CLIENT_ID,
                                       discovery_url=discovery_url(oidc_provider.issuer)))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(oidc_provider) -> str:
    """The classic key-confusion forgery: HMAC keyed with the provider's public key PEM."""
    public_pem = oidc_provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": oidc_provider.kid}).encode())
    payload = _b64(json.dumps(oidc_provider.claims(nonce=NONCE)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def test_a_genuine_token_is_accepted(provider, oidc_provider):
    identity = provider.verify_id_token(
        oidc_provider.mint(nonce=NONCE, sub="alice-1", email="Alice@Example.com", email_verified=True, name="Alice"),
        nonce=NONCE)
    assert (identity.provider, identity.subject, identity.email, identity.email_verified, identity.name) == (
        "dev", "alice-1", "alice@example.com", True, "Alice")


def _unsigned(oidc_provider) -> str:
    return jwt.encode(oidc_provider.claims(nonce=NONCE), None, algorithm="none", headers={"kid": oidc_provider.kid})


def _tampered(oidc_provider) -> str:
    header, payload, signature = oidc_provider.mint(nonce=NONCE, sub="victim").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "attacker"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


ATTACKS = {
    "alg none": _unsigned,
    "HS256 keyed with the public key": _hs256_with_public_key,
    "wrong audience": lambda p: p.mint(nonce=NONCE, aud="someone-else"),
    "wrong issuer": lambda p: p.mint(nonce=NONCE, iss="https://accounts.google.com"),
    "expired": lambda p: p.mint(nonce=NONCE, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "iat in the future": lambda p: p.mint(nonce=NONCE, iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
    "nbf in the future": lambda p: p.mint(nonce=NONCE, nbf=int(time.time()) + 3600),
    "missing nonce": lambda p: p.mint(),
    "wrong nonce": lambda p: p.mint(nonce="another-nonce-value-123456"),
    "hashed nonce where the raw one is due": lambda p: p.mint(nonce=hashlib.sha256(NONCE.encode()).hexdigest()),
    "unknown kid": lambda p: p.mint(nonce=NONCE, key=p.foreign_key, kid="not-published"),
    "known kid, foreign key": lambda p: p.mint(nonce=NONCE, key=p.foreign_key),
    "tampered payload": _tampered,
    "missing sub": lambda p: p.mint(nonce=NONCE, sub=None),
    "missing exp": lambda p: p.mint(nonce=NONCE, exp=None),
    "no kid": lambda p: jwt.encode(p.claims(nonce=NONCE), p.key, algorithm="RS256"),
    "garbage": lambda p: "not.a.jwt",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_forged_or_wrong_tokens_are_rejected(provider, oidc_provider, attack, caplog):
    token = ATTACKS[attack](oidc_provider)
    with caplog.at_level("DEBUG"), pytest.raises(SignInFailed) as failure:
        provider.verify_id_token(token, nonce=NONCE)
    assert failure.value.message == "The sign-in could not be verified."
    assert token not in caplog.text and token not in failure.value.message


def test_an_unknown_kid_refetches_the_jwks_once_then_not_again(oidc_provider):
    clock = [1000.0]
    jwks = JwksCache(lambda: f"{oidc_provider.issuer}/jwks", lambda url: get_json(url, timeout=5),
                     min_refetch_seconds=60, monotonic=lambda: clock[0])
    policy = IdTokenPolicy(provider="dev", issuers=(oidc_provider.issuer,), audiences=(CLIENT_ID,))
    verifier = IdTokenVerifier(lambda: policy, jwks)
    verifier.verify(oidc_provider.mint(nonce=NONCE), nonce=NONCE)
    assert jwks.fetch_count == 1
    forged = oidc_provider.mint(nonce=NONCE, key=oidc_provider.foreign_key, kid="rotated-maybe")
    clock[0] += 61
    with pytest.raises(SignInFailed):
        verifier.verify(forged, nonce=NONCE)
    assert jwks.fetch_count == 2  # one refetch: the provider may have rotated its keys
    for _ in range(20):
        with pytest.raises(SignInFailed):
            verifier.verify(forged, nonce=NONCE)
    assert jwks.fetch_count == 2  # ...but a flood of unknown kids does not hammer the provider
    verifier.verify(oidc_provider.mint(nonce=NONCE), nonce=NONCE)  # known keys keep working


def test_only_asymmetric_algorithms_can_be_configured():
    for bad in (("HS256",), ("none",), ()):
        with pytest.raises(ValueError, match="asymmetric"):
            IdTokenPolicy(provider="x", issuers=("https://x",), audiences=("c",), algorithms=bad)


def test_apple_native_tokens_may_carry_the_sha256_of_the_nonce(oidc_provider):
    apple = OidcProvider(ProviderConfig(name="apple", display_name="Apple", client_id=CLIENT_ID,
                                        discovery_url=discovery_url(oidc_provider.issuer), allow_hashed_nonce=True,
                                        native_audiences=("com.example.ios",)))
    hashed = hashlib.sha256(NONCE.encode()).hexdigest()
    token = oidc_provider.mint(nonce=hashed, aud="com.example.ios", email="x1@privaterelay.appleid.com",
                               email_verified="true", is_private_email="true")
    identity = apple.verify_id_token(token, nonce=NONCE)
    assert identity.email_verified and identity.is_private_email
    with pytest.raises(SignInFailed):  # the hash of the raw nonce, not of anything else
        apple.verify_id_token(token, nonce="another-raw-nonce-value-000")
    with pytest.raises(SignInFailed):  # the web flow compares with the stored nonce exactly
        apple._web.verify(oidc_provider.mint(nonce=hashed), nonce=NONCE)


def test_native_audiences_are_not_accepted_by_the_web_flow(oidc_provider):
    provider = OidcProvider(ProviderConfig(name="google", display_name="Google", client_id=CLIENT_ID,
                                           discovery_url=discovery_url(oidc_provider.issuer),
                                           native_audiences=("android-client",)))
    token = oidc_provider.mint(nonce=NONCE, aud="android-client")
    assert provider.verify_id_token(token, nonce=NONCE).subject
    with pytest.raises(SignInFailed):
        provider._web.verify(token, nonce=NONCE)


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _tenant_verifier(oidc_provider, tenant_rule="common"):
    jwks = JwksCache(lambda: f"{oidc_provider.issuer}/jwks", lambda url: get_json(url, timeout=5))
    policy = IdTokenPolicy(provider="microsoft", issuers=(oidc_provider.issuer + "/{tenantid}/v2.0",),
                           audiences=(CLIENT_ID,), tenant_allowed=microsoft_tenant_rule(tenant_rule))
    return IdTokenVerifier(lambda: policy, jwks)


def test_microsoft_issuer_template_is_checked_against_tid(oidc_provider):
    verifier = _tenant_verifier(oidc_provider)
    good = oidc_provider.mint(nonce=NONCE, iss=f"{oidc_provider.issuer}/{TENANT}/v2.0", tid=TENANT)
    assert verifier.verify(good, nonce=NONCE)["tid"] == TENANT
    other = "11111111-2222-3333-4444-555555555555"
    for token in (
        oidc_provider.mint(nonce=NONCE, iss=f"{oidc_provider.issuer}/{TENANT}/v2.0", tid=other),  # tid ≠ iss
        oidc_provider.mint(nonce=NONCE, iss=f"{oidc_provider.issuer}/{TENANT}/v2.0"),  # no tid
        oidc_provider.mint(nonce=NONCE, iss=f"{oidc_provider.issuer}/{{tenantid}}/v2.0", tid=TENANT),  # literal
        oidc_provider.mint(nonce=NONCE, iss="https://evil.example/" + TENANT + "/v2.0", tid=TENANT),
    ):
        with pytest.raises(SignInFailed):
            verifier.verify(token, nonce=NONCE)


def test_microsoft_tenant_segment_limits_who_may_sign_in(oidc_provider):
    msa = "9188040d-6c67-4c5b-b112-36a304b66dad"
    personal = oidc_provider.mint(nonce=NONCE, iss=f"{oidc_provider.issuer}/{msa}/v2.0", tid=msa)
    work = oidc_provider.mint(nonce=NONCE, iss=f"{oidc_provider.issuer}/{TENANT}/v2.0", tid=TENANT)
    assert _tenant_verifier(oidc_provider, "consumers").verify(personal, nonce=NONCE)
    with pytest.raises(SignInFailed):
        _tenant_verifier(oidc_provider, "consumers").verify(work, nonce=NONCE)
    with pytest.raises(SignInFailed):
        _tenant_verifier(oidc_provider, "organizations").verify(personal, nonce=NONCE)
    with pytest.raises(SignInFailed):
        _tenant_verifier(oidc_provider, "11111111-2222-3333-4444-555555555555").verify(work, nonce=NONCE)


def test_microsoft_email_is_never_trusted_as_verified(oidc_provider):
    microsoft = OidcProvider(ProviderConfig(name="microsoft", display_name="Microsoft", client_id=CLIENT_ID,
                                            discovery_url=discovery_url(oidc_provider.issuer),
                                            trust_email_verified=False))
    token = oidc_provider.mint(nonce=NONCE, email="ceo@example.com", email_verified=True)
    identity = microsoft.verify_id_token(token, nonce=NONCE)
    assert identity.email == "ceo@example.com" and identity.email_verified is False



ENTRA = "https://login.microsoftonline.com/common"


class EntraStandIn:
    """msal's HTTP transport for the test: Entra's https URLs are served by the local provider.

    msal insists on https endpoints under a tenant path, so the discovery document is rewritten to
    Entra-shaped URLs and each of them is mapped back to the local provider on the way out.
    """

    def __init__(self, issuer: str) -> None:
        import requests

        self.issuer = issuer
        self.session = requests.Session()
        self.routes = {f"{ENTRA}/oauth2/v2.0/token": f"{issuer}/token",
                       f"{ENTRA}/oauth2/v2.0/authorize": f"{issuer}/authorize"}
        self.posted: list[dict] = []

    def get(self, url, **kwargs):
        if url.startswith(f"{ENTRA}/v2.0/.well-known/openid-configuration"):
            response = self.session.get(f"{self.issuer}/.well-known/openid-configuration", **kwargs)
            document = response.json()
            document.update(token_endpoint=f"{ENTRA}/oauth2/v2.0/token",
                            authorization_endpoint=f"{ENTRA}/oauth2/v2.0/authorize")
            response._content = json.dumps(document).encode()
            return response
        return self.session.get(self.routes.get(url, url), **kwargs)

    def post(self, url, **kwargs):
        self.posted.append(dict(kwargs.get("data") or {}))
        return self.session.post(self.routes.get(url, url), **kwargs)

    def close(self):
        self.session.close()


def test_microsoft_code_flow_goes_through_msal(oidc_provider, caplog):
    """msal builds the authorization request and redeems the code (PKCE); we verify the ID token."""
    from application.identity.external_providers import AuthorizationRequest
    from application.identity.sign_in import pkce_challenge
    from infra.identity.providers import MicrosoftProvider

    transport = EntraStandIn(oidc_provider.issuer)
    microsoft = MicrosoftProvider(
        ProviderConfig(name="microsoft", display_name="Microsoft", client_id=CLIENT_ID,
                       discovery_url=discovery_url(oidc_provider.issuer), client_secret=lambda: "ms-s3cret-value",
                       trust_email_verified=False),
        authority=ENTRA, entra=True, http_client=transport)
    verifier, nonce, redirect = "v" * 64, "msal-nonce-" + "q" * 20, "http://localhost:7071/api/auth/microsoft/callback"
    with caplog.at_level("DEBUG"):
        url = microsoft.authorization_url(AuthorizationRequest(
            redirect_uri=redirect, state="s" * 40, nonce=nonce, code_challenge=pkce_challenge(verifier),
            login_hint="zoe@contoso.example"))
        assert url.startswith(f"{ENTRA}/oauth2/v2.0/authorize?")
        query = {k: v[0] for k, v in parse_qs(url.split("?", 1)[1]).items()}
        assert query["code_challenge_method"] == "S256" and query["nonce"] == nonce and "openid" in query["scope"]
        local_url = url.replace(f"{ENTRA}/oauth2/v2.0/authorize", f"{oidc_provider.issuer}/authorize")
        answer = oidc_provider.authorize(local_url)
        identity = microsoft.exchange_code(answer["code"], code_verifier=verifier, redirect_uri=redirect, nonce=nonce)
        assert identity.subject == "dev|zoe@contoso.example" and identity.email_verified is False
        assert transport.posted[-1]["code_verifier"] == verifier
        assert transport.posted[-1]["client_secret"] == "ms-s3cret-value"
        with pytest.raises(SignInFailed):  # the code is spent
            microsoft.exchange_code(answer["code"], code_verifier=verifier, redirect_uri=redirect, nonce=nonce)
    assert "ms-s3cret-value" not in caplog.text and answer["code"] not in caplog.text


def test_apple_web_flow_uses_form_post_and_its_client_secret_without_logging_it(oidc_provider, caplog):
    from cryptography.hazmat.primitives.asymmetric import ec

    from application.identity.external_providers import AuthorizationRequest
    from application.identity.sign_in import pkce_challenge
    from infra.identity.apple import AppleClientSecret
    from tests.integration.identity.helpers import FakeClock

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    secret = AppleClientSecret(team_id="TEAM", key_id="KEY", client_id=CLIENT_ID, private_key_pem=pem,
                               clock=FakeClock())
    apple = OidcProvider(ProviderConfig(name="apple", display_name="Apple", client_id=CLIENT_ID,
                                        discovery_url=discovery_url(oidc_provider.issuer), client_secret=secret,
                                        scopes=("openid", "name", "email"), allow_hashed_nonce=True,
                                        authorize_params={"response_mode": "form_post"}))
    verifier, nonce = "w" * 64, "apple-web-nonce-" + "k" * 20
    with caplog.at_level("DEBUG"):
        url = apple.authorization_url(AuthorizationRequest(redirect_uri="http://localhost/cb", state="t" * 40,
                                                           nonce=nonce, code_challenge=pkce_challenge(verifier)))
        assert "response_mode=form_post" in url and "scope=openid+name+email" in url
        answer = oidc_provider.authorize(url, login_hint="tia@example.com")
        identity = apple.exchange_code(answer["code"], code_verifier=verifier, redirect_uri="http://localhost/cb",
                                       nonce=nonce)
        assert identity.email == "tia@example.com"
    assert secret() not in caplog.text and "PRIVATE KEY" not in caplog.text and answer["code"] not in caplog.text
