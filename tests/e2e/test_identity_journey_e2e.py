"""A person's whole identity journey over HTTP, across the three identity areas at once.

Sign in on the web with the dev provider, turn on two-factor authentication, sign in again and
complete the second step, refresh, then log out — each step through the real function_app served
by devhost, against the real OIDC provider process. Also checks the seams between areas: the amr
of the session, /api/me's view of 2FA, and that logging out kills the access token at once.
"""

from __future__ import annotations

import json
import time

import pyotp
import pytest

from tests.e2e.test_sign_in_e2e import app_env, call, post_json, web_sign_in  # noqa: F401  (app_env is a fixture)

pytestmark = pytest.mark.e2e
APP = "function_app"


def _next_step_code(secret: str) -> str:
    """A code from the next 30 s step: the step of the previous code may not be used twice."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_sign_in_with_two_factor_refresh_and_logout(start_devhost, app_env, oidc_provider):  # noqa: F811
    with start_devhost(APP, app_env) as (base, process):
        _, (status, _, body) = web_sign_in(base, oidc_provider, "journey@example.com")
        assert status == 200, body
        first = json.loads(body)
        bearer = {"Authorization": f"Bearer {first['access_token']}"}

        status, _, body = call("POST", f"{base}/api/auth/2fa/setup", headers=bearer)
        assert status == 200, body
        secret = json.loads(body)["secret"]
        status, _, body = post_json(f"{base}/api/auth/2fa/enable", {"code": pyotp.TOTP(secret).now()}, bearer)
        assert status == 200, body
        assert len(json.loads(body)["recovery_codes"]) == 10
        me = json.loads(call("GET", f"{base}/api/me", headers=bearer)[2])
        assert me["two_factor"]["enabled"] is True

        # Signing in again now stops at the second factor.
        _, (status, headers, body) = web_sign_in(base, oidc_provider, "journey@example.com")
        assert status == 200, body
        challenge = json.loads(body)
        assert challenge["mfa_required"] is True and "access_token" not in challenge
        wrong = post_json(f"{base}/api/auth/2fa/verify", {"mfa_token": challenge["mfa_token"], "code": "000000"})
        assert wrong[0] == 401
        code = _next_step_code(secret)
        status, _, body = post_json(f"{base}/api/auth/2fa/verify", {"mfa_token": challenge["mfa_token"], "code": code})
        assert status == 200, body
        second = json.loads(body)
        assert second["user"]["id"] == first["user"]["id"]
        # The mfa_token is single-use.
        again = post_json(f"{base}/api/auth/2fa/verify", {"mfa_token": challenge["mfa_token"], "code": code})
        assert again[0] == 401

        bearer2 = {"Authorization": f"Bearer {second['access_token']}"}
        session = json.loads(call("GET", f"{base}/api/me", headers=bearer2)[2])["session"]
        assert "otp" in session["amr"]

        # Refresh rotates; the spent token stops working after the grace window only, so check rotation.
        status, _, body = post_json(f"{base}/api/auth/refresh", {"refresh_token": second["refresh_token"]})
        assert status == 200, body
        renewed = json.loads(body)
        assert renewed["refresh_token"] != second["refresh_token"]

        # Logging out this session kills its access tokens at once; the first session lives on.
        bearer3 = {"Authorization": f"Bearer {renewed['access_token']}"}
        assert call("POST", f"{base}/api/auth/logout", headers=bearer3)[0] == 204
        status, headers, _ = call("GET", f"{base}/api/me", headers=bearer3)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        refused = post_json(f"{base}/api/auth/refresh", {"refresh_token": renewed["refresh_token"]})
        assert refused[0] == 401
        assert call("GET", f"{base}/api/me", headers=bearer)[0] == 200

        # Logout everywhere ends the first session too.
        status, _, body = call("POST", f"{base}/api/auth/logout-all", headers=bearer)
        assert status == 200, body
        assert call("GET", f"{base}/api/me", headers=bearer)[0] == 401

    log = process.output_path.read_text()
    for secret_value in (secret, first["refresh_token"], second["access_token"], challenge["mfa_token"]):
        assert secret_value not in log
