"""Tokens and signatures: the key is the AccessKey's UTF-8 bytes; aud rules for clients and REST."""

from __future__ import annotations

import hashlib
import hmac
import time

import jwt
import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.webpubsub.tokens import (
    TokenError,
    audience_matches,
    claim_list,
    decode,
    issue_reconnection_token,
    reconnection_token_valid,
    signature,
)

KEY = "dGFnYXJlbGEtdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2Q="
OTHER = "o" * 44


def test_the_server_sdks_client_token_verifies_with_the_raw_key_string() -> None:
    sdk = WebPubSubServiceClient.from_connection_string(f"Endpoint=http://LOCALHOST;Port=8080;AccessKey={KEY};"
                                                        "Version=1.0;", hub="Chat")
    token = sdk.get_client_access_token(user_id="u", roles=["r"], groups=["g"])["token"]
    claims = decode(token, [KEY], leeway=0)
    assert claims["sub"] == "u" and claim_list(claims, "role") == ["r"]
    assert claim_list(claims, "webpubsub.group") == ["g"]
    assert audience_matches(claims, "ws://localhost:8080/client/hubs/Chat", client=False) is False  # scheme differs
    assert audience_matches(claims, "http://LocalHost:8080/client/hubs/chat/", client=True)


def test_decode_rejects_wrong_key_expired_and_missing_exp() -> None:
    good = jwt.encode({"exp": int(time.time()) + 60}, KEY.encode(), algorithm="HS256")
    assert decode(good, [OTHER, KEY], leeway=0)  # a secondary key is accepted too
    with pytest.raises(TokenError):
        decode(good, [OTHER], leeway=0)
    with pytest.raises(TokenError):
        decode(jwt.encode({"exp": int(time.time()) - 100}, KEY.encode(), algorithm="HS256"), [KEY], leeway=30)
    with pytest.raises(TokenError):
        decode(jwt.encode({"sub": "x"}, KEY.encode(), algorithm="HS256"), [KEY], leeway=0)
    with pytest.raises(TokenError):
        decode("", [KEY], leeway=0)
    with pytest.raises(TokenError):
        decode(jwt.encode({"exp": int(time.time()) + 60}, "k" * 64, algorithm="HS384"), ["k" * 64], leeway=0)


def test_rest_audience_is_the_exact_raw_url() -> None:
    url = "http://LOCALHOST:8080/api/hubs/Chat/groups/room%201%2F%C3%A4/:send?api-version=2024-12-01"
    claims = {"aud": url}
    assert audience_matches(claims, "http://localhost:8080/api/hubs/Chat/groups/room%201%2F%C3%A4/:send"
                                    "?api-version=2024-12-01", client=False)
    assert not audience_matches(claims, "http://localhost:8080/api/hubs/Chat/groups/room%201%2f%C3%A4/:send"
                                        "?api-version=2024-12-01", client=False)
    assert not audience_matches(claims, "http://localhost:8080/api/hubs/Chat/:send?api-version=2024-12-01",
                                client=False)
    assert not audience_matches({"aud": 5}, url, client=False)
    assert audience_matches({"aud": ["x", url]}, url, client=False)


def test_signature_is_hmac_sha256_hex_per_key() -> None:
    one = "sha256=" + hmac.new(KEY.encode(), b"conn-1", hashlib.sha256).hexdigest()
    two = "sha256=" + hmac.new(b"second", b"conn-1", hashlib.sha256).hexdigest()
    assert signature("conn-1", [KEY]) == one
    assert signature("conn-1", [KEY, "second"]) == f"{one},{two}"


def test_reconnection_token_is_bound_to_its_connection() -> None:
    token = issue_reconnection_token("conn-A", KEY)
    assert reconnection_token_valid(token, "conn-A", [KEY])
    assert not reconnection_token_valid(token, "conn-B", [KEY])
    assert not reconnection_token_valid(token, "conn-A", [OTHER])
    assert not reconnection_token_valid("garbage", "conn-A", [KEY])
