"""Sign-in end to end: the real function_app under devhost, the real OIDC provider process, HTTP only.

Both flows (web: /login → the provider's /authorize → /callback; native: POST the ID token), the
attacks that must come back as clean 4xx JSON, explicit linking with a bearer token, the handover
code, the provider list, the production refusal of the dev provider, and logs free of secrets.
The session tokens, the second-factor gate and the SQL rate limiter are the other areas' real code.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import jwt
import pytest

from tests.e2e.app_env import migrated_app_env
from tests.fixtures.oidc import CLIENT_ID

pytestmark = pytest.mark.e2e

APP = "function_app"
NONCE = "e2e-native-nonce-" + "z" * 20
RETURN_TO = "http://localhost:3000/"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(method, url, body=None, headers=None):
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def post_json(url, payload, headers=None):
    return call("POST", url, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


@pytest.fixture
def app_env(tmp_path, oidc_provider):
    generic = [{"name": "corp", "display_name": "Corp SSO", "issuer": oidc_provider.issuer, "client_id": CLIENT_ID}]
    return migrated_app_env(
        tmp_path,
        DEV_OIDC_ISSUER=oidc_provider.issuer,
        DEV_OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_PROVIDERS=json.dumps(generic),
        AUTH_RETURN_TO_ALLOWLIST=RETURN_TO,
        GOOGLE_CLIENT_ID="",
        APPLE_CLIENT_ID="",
        MICROSOFT_CLIENT_ID="",
    )


def web_sign_in(base, oidc_provider, email, provider="dev", extra=""):
    status, headers, body = call("GET", f"{base}/api/auth/{provider}/login?login_hint={quote(email)}{extra}")
    assert status == 302, body
    assert headers["Location"].startswith(oidc_provider.issuer + "/authorize?")
    assert headers["Cache-Control"] == "no-store"
    answer = oidc_provider.authorize(headers["Location"])
    return answer, call("GET", f"{base}/api/auth/{provider}/callback?code={answer['code']}&state={answer['state']}")


def test_sign_in_end_to_end(start_devhost, app_env, oidc_provider):
    secrets_seen = []
    with start_devhost(APP, app_env) as (base, process):
        # The providers on offer.
        status, headers, body = call("GET", f"{base}/api/auth/providers")
        assert status == 200, body
        listed = {p["name"]: p for p in json.loads(body)["providers"]}
        assert set(listed) == {"dev", "corp"}
        assert listed["corp"] == {"name": "corp", "display_name": "Corp SSO", "flows": ["web", "native"]}

        # Web flow: /login → provider → /callback → tokens.
        answer, (status, headers, body) = web_sign_in(base, oidc_provider, "paula@example.com")
        assert status == 200, body
        signed_in = json.loads(body)
        assert signed_in["token_type"] == "Bearer" and signed_in["user"]["email"] == "paula@example.com"
        assert headers["Cache-Control"] == "no-store"
        secrets_seen += [answer["code"], answer["state"], signed_in["access_token"], signed_in["refresh_token"]]
        bearer = {"Authorization": f"Bearer {signed_in['access_token']}"}
        status, _, body = call("GET", f"{base}/api/me", headers=bearer)
        assert status == 200, body

        # Replaying the callback (same state and code) fails.
        status, _, body = call("GET", f"{base}/api/auth/dev/callback?code={answer['code']}&state={answer['state']}")
        assert status == 401 and json.loads(body)["error"]["code"] == "invalid_state"

        # Native flow: the ID token from the platform SDK + the raw nonce.
        token = oidc_provider.mint(nonce=NONCE, sub="native-1", email="paula@example.com", email_verified=True)
        secrets_seen.append(token)
        status, _, body = post_json(f"{base}/api/auth/corp/token", {"id_token": token, "nonce": NONCE})
        assert status == 200, body
        assert json.loads(body)["user"]["id"] == signed_in["user"]["id"]  # linked by the verified e-mail

        # Attacks over HTTP: clean 401s.
        forged = jwt.encode(oidc_provider.claims(nonce=NONCE), None, algorithm="none",
                            headers={"kid": oidc_provider.kid})
        for bad in (forged, oidc_provider.mint(nonce="wrong-nonce-0123456789"),
                    oidc_provider.mint(aud="x", nonce=NONCE),
                    oidc_provider.mint(nonce=NONCE, key=oidc_provider.foreign_key, kid="unknown")):
            status, headers, body = post_json(f"{base}/api/auth/dev/token", {"id_token": bad, "nonce": NONCE})
            assert status == 401, body
            assert json.loads(body)["error"]["code"] == "sign_in_failed"
            assert bad not in body.decode()

        # Bad input: 4xx JSON, no change.
        status, _, body = post_json(f"{base}/api/auth/dev/token", {"id_token": token})
        assert status == 400 and json.loads(body)["error"]["code"] == "validation_failed"
        status, _, body = call("GET", f"{base}/api/auth/nosuch/login")
        assert status == 400 and json.loads(body)["error"]["code"] == "unknown_provider"
        status, _, body = call("GET", f"{base}/api/auth/dev/login?return_to={quote('https://evil.example/')}")
        assert status == 400 and json.loads(body)["error"]["code"] == "invalid_return_to"
        status, _, body = call("POST", f"{base}/api/auth/dev/callback", b"state=x", {"Content-Type": "text/plain"})
        assert status == 415

        # Explicit link while signed in: the URL comes back as JSON (a redirect cannot carry the bearer).
        status, _, body = post_json(f"{base}/api/auth/corp/link", {}, bearer)
        assert status == 200, body
        link_url = json.loads(body)["authorization_url"]
        assert call("POST", f"{base}/api/auth/corp/link")[0] == 401
        answer = oidc_provider.authorize(link_url, login_hint="paula.work@corp.example")
        status, _, body = call("GET", f"{base}/api/auth/corp/callback?code={answer['code']}&state={answer['state']}")
        assert status == 200, body
        assert json.loads(body)["user"]["id"] == signed_in["user"]["id"]
        status, _, body = call("GET", f"{base}/api/me", headers=bearer)
        me = json.loads(body)
        assert "paula.work@corp.example" in json.dumps(me)

        # return_to: a redirect carrying a single-use handover code, never tokens.
        _, (status, headers, body) = web_sign_in(base, oidc_provider, "quinn@example.com",
                                                 extra=f"&return_to={quote(RETURN_TO + 'done')}")
        assert status == 302, body
        location = headers["Location"]
        assert location.startswith(RETURN_TO + "done?code=") and "token" not in location
        code = parse_qs(urlsplit(location).query)["code"][0]
        secrets_seen.append(code)
        status, _, body = post_json(f"{base}/api/auth/handover", {"code": code})
        assert status == 200 and json.loads(body)["user"]["email"] == "quinn@example.com"
        assert post_json(f"{base}/api/auth/handover", {"code": code})[0] == 401

        # Apple-style form_post callback (a POST with form fields).
        status, headers, body = call("GET", f"{base}/api/auth/dev/login?login_hint=rita@example.com")
        answer = oidc_provider.authorize(headers["Location"])
        form = f"code={answer['code']}&state={answer['state']}&user=" + quote(
            json.dumps({"name": {"firstName": "Rita", "lastName": "Lobo"}}))
        status, _, body = call("POST", f"{base}/api/auth/dev/callback", form.encode(),
                               {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        time.sleep(0.2)
    logs = process.output_path.read_text()
    for secret in secrets_seen:
        assert secret not in logs


def test_the_dev_provider_is_refused_in_production(start_devhost, app_env):
    env = {**app_env, "APP_ENVIRONMENT": "production"}
    with pytest.raises(RuntimeError) as failure, start_devhost(APP, env, timeout=20):
        pass
    assert "DEV_OIDC_ISSUER" in str(failure.value)
