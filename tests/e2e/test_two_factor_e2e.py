"""Two-factor authentication over real HTTP: devhost serving the real ``function_app`` on a migrated
SQLite file. The user, their first session (the tokens area's real ``SessionIssuer``) and the sign-in
challenge (``MfaGate.challenge``, what the providers area calls after the first factor) are created
in-process on the same database with the same key directories; everything else goes over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pyotp
import pytest

from application.identity.results import ClientInfo
from bootstrap import Container
from domain.users import User
from shared.settings import load_settings
from tests.e2e.app_env import migrated_app_env

pytestmark = pytest.mark.e2e

APP = "function_app"
CLIENT = ClientInfo(ip="127.0.0.1", user_agent="e2e")


def call(base: str, path: str, body: object | None = None, token: str | None = None,
         content_type: str = "application/json") -> tuple[int, dict[str, str], dict]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(f"{base}{path}", data=data, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (http://127.0.0.1 only)
            status, headers_out, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers_out, raw = error.code, dict(error.headers), error.read()
    return status, headers_out, json.loads(raw) if raw else {}


@pytest.fixture
def app_env(tmp_path):
    return migrated_app_env(
        tmp_path,
    )


def test_two_factor_over_http(start_devhost, app_env):
    container = Container(settings=load_settings(app_env))
    user = User(display_name="Ana", email="ana@example.com", email_verified=True)
    with container.uow_factory() as uow:
        uow.users.add(user)
        access = container.session_issuer.start(uow, user, ["oidc:dev"], CLIENT).access_token
        uow.commit()

    def challenge() -> str:
        with container.uow_factory() as uow:
            token = container.mfa_gate.challenge(uow, user, ["oidc:dev"], CLIENT).mfa_token
            uow.commit()
        return token

    secrets_seen: list[str] = []
    with start_devhost(APP, app_env) as (base, process):
        status, headers, body = call(base, "/api/auth/2fa/setup")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")

        status, headers, setup = call(base, "/api/auth/2fa/setup", token=access)
        assert status == 200, setup
        assert headers["Cache-Control"] == "no-store"
        assert set(setup) == {"secret", "otpauth_uri", "qr_svg"} and setup["qr_svg"].startswith("<svg")
        totp = pyotp.TOTP(setup["secret"])
        secrets_seen.append(setup["secret"])

        status, _, body = call(base, "/api/auth/2fa/enable", {"code": "12345"}, token=access)
        assert status == 400 and body["error"]["code"] == "validation_failed"
        status, _, body = call(base, "/api/auth/2fa/enable", b"code=1", token=access, content_type="text/plain")
        assert status == 415

        enable_code = totp.now()
        status, _, enabled = call(base, "/api/auth/2fa/enable", {"code": enable_code}, token=access)
        assert status == 200 and enabled["enabled"] is True and len(enabled["recovery_codes"]) == 10, enabled
        recovery = enabled["recovery_codes"]
        secrets_seen += [enable_code, *recovery]

        status, _, body = call(base, "/api/auth/2fa/setup", token=access)
        assert status == 409 and body["error"]["code"] == "mfa_already_enabled"

        # The enabling code's step is spent: a sign-in cannot replay it.
        first = challenge()
        status, headers, body = call(base, "/api/auth/2fa/verify", {"mfa_token": first, "code": enable_code})
        assert status == 401 and body["error"]["code"] == "invalid_mfa_code"
        assert headers["WWW-Authenticate"].startswith("Bearer")

        by_recovery = {"mfa_token": first, "recovery_code": recovery[0]}
        status, headers, signed_in = call(base, "/api/auth/2fa/verify", by_recovery)
        assert status == 200, signed_in
        assert headers["Cache-Control"] == "no-store"
        assert signed_in["token_type"] == "Bearer" and signed_in["user"]["id"] == str(user.id)
        secrets_seen += [first, signed_in["refresh_token"]]

        status, _, body = call(base, "/api/auth/2fa/verify", {"mfa_token": first, "recovery_code": recovery[1]})
        assert status == 401 and body["error"]["code"] == "invalid_mfa_token"  # consumed

        second = challenge()
        status, _, body = call(base, "/api/auth/2fa/verify", {"mfa_token": second, "recovery_code": recovery[0]})
        assert status == 401 and body["error"]["code"] == "invalid_mfa_code"  # a spent recovery code
        next_code = totp.at(time.time(), counter_offset=1)  # one step of drift is accepted
        status, _, signed_in = call(base, "/api/auth/2fa/verify", {"mfa_token": second, "code": next_code})
        assert status == 200, signed_in
        status, _, body = call(base, "/api/auth/2fa/verify", {"mfa_token": challenge(), "code": next_code})
        assert status == 401 and body["error"]["code"] == "invalid_mfa_code"  # replay in the same step

        status, _, body = call(base, "/api/auth/2fa/recovery-codes", {"code": "000000"}, token=access)
        assert status == 401  # regenerating needs a current code
        status, _, body = call(base, "/api/auth/2fa/disable", {}, token=access)
        assert status == 400
        status, _, body = call(base, "/api/auth/2fa/disable", {"recovery_code": recovery[2]}, token=access)
        assert status == 200 and body == {"enabled": False}
        status, _, body = call(base, "/api/auth/2fa/disable", {"code": totp.now()}, token=access)
        assert status == 409 and body["error"]["code"] == "mfa_not_enabled"

        # Per-IP limit on the MFA endpoints: a 429 with Retry-After, whatever the body.
        for _ in range(25):
            status, headers, body = call(base, "/api/auth/2fa/verify", {"mfa_token": "x" * 20, "code": "000000"})
            if status == 429:
                break
            assert status == 401
        assert status == 429 and body["error"]["code"] == "rate_limited"
        assert 1 <= int(headers["Retry-After"]) <= 60
        logs = process.output_path.read_text()

    assert "/api/auth/2fa/verify -> 200" in logs  # the request log is there...
    assert not [s for s in secrets_seen if s in logs]  # ...but no secret, code or token


def test_lockout_answers_429_with_retry_after_over_http(start_devhost, app_env):
    container = Container(settings=load_settings(app_env))
    user = User(display_name="Bia", email="bia@example.com", email_verified=True)
    with container.uow_factory() as uow:
        uow.users.add(user)
        access = container.session_issuer.start(uow, user, ["oidc:dev"], CLIENT).access_token
        uow.commit()
    with start_devhost(APP, app_env) as (base, _):
        secret = call(base, "/api/auth/2fa/setup", token=access)[2]["secret"]
        right = {pyotp.TOTP(secret).at(time.time(), counter_offset=s) for s in (-1, 0, 1)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in right)
        statuses = [call(base, "/api/auth/2fa/enable", {"code": wrong}, token=access)[0] for _ in range(4)]
        status, headers, body = call(base, "/api/auth/2fa/enable", {"code": wrong}, token=access)
        assert statuses == [401] * 4
        assert status == 429 and body["error"]["code"] == "mfa_locked" and headers["Retry-After"] == "60"
        status, headers, body = call(base, "/api/auth/2fa/enable", {"code": pyotp.TOTP(secret).now()}, token=access)
        assert status == 429 and body["error"]["code"] == "mfa_locked"  # the right code waits too
