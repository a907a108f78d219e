"""Interface helpers shared by the identity endpoints: bearer parsing, client address, JSON bodies,
per-IP rate limits and the sign-in response shape. Fakes only, no I/O."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import azure.functions as func
import pytest
from pydantic import BaseModel, ConfigDict

import function_app  # noqa: F401  (installs the real provider first; tests override it)
from application.identity.results import MfaRequired, SignedIn, TokenPair
from domain.users import User
from interface import dependencies
from interface.http.auth import bearer_token
from interface.http.auth_responses import sign_in_response
from interface.http.client_info import client_info, client_ip
from interface.http.endpoint import http_endpoint
from interface.http.rate_limit import rate_limited
from interface.http.request_body import parse_json
from shared import errors


def _req(headers=None, body=b"", method="POST"):
    return func.HttpRequest(method=method, url="http://localhost/api/x", headers=headers or {}, body=body)


@pytest.mark.parametrize(
    "header",
    ["", "Basic abc", "Bearer", "Bearer    ", "bearer a b", "Token abc", "Bearer " + "x" * 5000],
)
def test_bearer_token_rejects_anything_but_one_bearer_token(header):
    with pytest.raises(errors.Unauthenticated):
        bearer_token(_req({"Authorization": header} if header else {}))


def test_bearer_token_accepts_any_scheme_case():
    assert bearer_token(_req({"Authorization": "bEaReR abc.def.ghi"})) == "abc.def.ghi"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7:50123", "203.0.113.7"),
        ("1.2.3.4, 198.51.100.2:443", "198.51.100.2"),  # only the front end's (last) entry counts
        ("[2001:db8::1]:8080", "2001:db8::1"),
        ("2001:db8::2", "2001:db8::2"),
        ("not-an-ip", None),
        ("", None),
    ],
)
def test_client_ip_trusts_only_the_last_forwarded_hop(forwarded, expected):
    assert client_ip(_req({"X-Forwarded-For": forwarded} if forwarded else {})) == expected


def test_client_info_truncates_the_user_agent():
    info = client_info(_req({"User-Agent": "A" * 1000, "X-Forwarded-For": "10.1.2.3:1"}))
    assert info.ip == "10.1.2.3" and len(info.user_agent) == 256


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "body", "error", "code"),
    [
        ({"Content-Type": "text/plain"}, b'{"name":"a","count":1}', errors.UnsupportedMediaType, None),
        ({}, b'{"name":"a","count":1}', errors.UnsupportedMediaType, None),
        (JSON, b"{not json", errors.InvalidInput, "malformed_json"),
        (JSON, b"\xff\xfe", errors.InvalidInput, "malformed_json"),
        (JSON, b"[1,2]", errors.InvalidInput, "malformed_json"),
        (JSON, b"", errors.InvalidInput, "malformed_json"),
        (JSON, b'{"name":"a","count":"many"}', errors.InvalidInput, "validation_failed"),
        (JSON, b'{"name":"a","count":1,"x":1}', errors.InvalidInput, "validation_failed"),
        (JSON, b'{"name":"' + b"a" * 70000 + b'"}', errors.PayloadTooLarge, None),
    ],
)
def test_parse_json_rejects_bad_bodies_with_the_right_error(headers, body, error, code):
    with pytest.raises(error) as raised:
        parse_json(_req(headers, body), Body)
    if code:
        assert raised.value.code == code


def test_parse_json_reports_which_field_is_wrong_without_echoing_input():
    with pytest.raises(errors.InvalidInput) as raised:
        parse_json(_req({"Content-Type": "application/json; charset=utf-8"}, b'{"name":"secret-value"}'), Body)
    assert raised.value.details["fields"] == [{"field": "count", "problem": "Field required"}]
    assert "secret-value" not in json.dumps(raised.value.details)


def test_parse_json_accepts_a_valid_body():
    assert parse_json(_req({"Content-Type": "application/json"}, b'{"name":"a","count":2}'), Body).count == 2


@dataclass
class CountingLimiter:
    limit_hits: int
    seen: list[str] = field(default_factory=list)

    def hit(self, bucket: str, *, limit: int, window_seconds: int) -> None:
        self.seen.append(bucket)
        if len(self.seen) > self.limit_hits:
            raise errors.RateLimited("Too many attempts.", retry_after_seconds=window_seconds)


@dataclass
class LimiterServices:
    rate_limiter: CountingLimiter


@pytest.fixture
def limiter():
    fake = CountingLimiter(limit_hits=2)
    dependencies.provide(lambda: LimiterServices(fake))
    yield fake
    import bootstrap

    dependencies.provide(bootstrap.get_container)


def test_rate_limited_endpoint_answers_429_with_retry_after_and_skips_the_handler(limiter):
    calls = []

    @http_endpoint
    @rate_limited("login")
    def handler(req):
        calls.append(1)
        return func.HttpResponse("ok")

    statuses = [handler(_req({"X-Forwarded-For": "198.51.100.9:1"})).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(calls) == 2
    assert limiter.seen == ["ip:login:198.51.100.9"] * 3
    assert handler(_req()).headers["Retry-After"] == "60"


def test_an_undeclared_scope_is_a_programming_error():
    with pytest.raises(ValueError):
        rate_limited("nope")


def test_sign_in_responses_are_never_cached_and_have_the_documented_shape():
    user = User(display_name="Ada", email="ada@example.com", email_verified=True, id=uuid.uuid4())
    signed = sign_in_response(SignedIn(TokenPair("a.b.c", "r" * 43, 900), user))
    body = json.loads(signed.get_body())
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer" and body["user"]["email"] == "ada@example.com"
    assert signed.headers["Cache-Control"] == "no-store"
    challenge = json.loads(sign_in_response(MfaRequired("m" * 43, 300)).get_body())
    assert challenge == {"mfa_required": True, "mfa_token": "m" * 43, "expires_in": 300}
