"""Our sessions through devhost and the real function_app, over real HTTP.

The user and the sessions are created in-process with the real ``SessionIssuer`` on the same
migrated SQLite file and key directory the devhost process uses; then ``/api/me``,
``/api/auth/refresh``, ``/api/auth/logout`` and ``/api/auth/logout-all`` are called over HTTP.
"""

from __future__ import annotations

import json
import logging

import jwt
import pytest

from application.identity.results import ClientInfo
from application.identity.sessions import SessionIssuer
from domain.auth_sessions import SessionPolicy
from domain.users import ExternalIdentity, User
from infra.sql.engine import create_engine_for
from infra.sql.unit_of_work import make_uow_factory
from infra.tokens.factory import build_access_tokens, build_key_ring
from shared.clock import SystemClock
from shared.settings import load_settings
from tests.e2e.app_env import migrated_app_env
from tests.e2e.test_app_e2e import call

pytestmark = pytest.mark.e2e

APP = "function_app"


@pytest.fixture
def env(tmp_path):
    return migrated_app_env(
        tmp_path,
        REFRESH_TOKEN_REUSE_GRACE_SECONDS="0",
    )


class InProcess:
    """The app's own pieces, built from the same settings as the devhost process."""

    def __init__(self, env):
        settings = load_settings(env)
        self.engine = create_engine_for(settings.database_url)
        self.uow_factory = make_uow_factory(self.engine)
        self.issuer = SessionIssuer(
            build_access_tokens(settings, build_key_ring(settings)), SystemClock(), SessionPolicy()
        )

    def user(self, email="ana@example.com"):
        user = User(display_name="Ana", email=email, email_verified=True)
        with self.uow_factory() as uow:
            uow.users.add(user)
            uow.identities.add(ExternalIdentity(provider="dev", subject=email, user_id=user.id, email=email))
            uow.commit()
        return user

    def sign_in(self, user):
        with self.uow_factory() as uow:
            pair = self.issuer.start(uow, user, ["oidc:dev"], ClientInfo(ip="127.0.0.1", user_agent="e2e"))
            uow.commit()
        return pair


@pytest.fixture
def app_side(env):
    side = InProcess(env)
    yield side
    side.engine.dispose()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def post_json(base, path, body, headers=None):
    return call("POST", f"{base}{path}", json.dumps(body).encode(),
                {"Content-Type": "application/json", **(headers or {})})


def assert_401(response, *, invalid_token=True):
    status, headers, body = response
    assert status == 401, body
    challenge = headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer")
    if invalid_token:
        assert challenge == 'Bearer error="invalid_token"'
    assert "error" in json.loads(body)


def test_me_refresh_logout_over_http(start_devhost, env, app_side, caplog):
    caplog.set_level(logging.DEBUG)
    user = app_side.user()
    laptop, phone = app_side.sign_in(user), app_side.sign_in(user)
    secrets = [laptop.access_token, laptop.refresh_token, phone.access_token, phone.refresh_token]

    with start_devhost(APP, env) as (base, process):
        # JWKS publishes the key that signed our token
        status, headers, body = call("GET", f"{base}/api/.well-known/jwks.json")
        assert status == 200 and headers["Cache-Control"] == "public, max-age=300"
        kids = [key["kid"] for key in json.loads(body)["keys"]]
        assert jwt.get_unverified_header(laptop.access_token)["kid"] in kids

        # /api/me with a valid token
        status, headers, body = call("GET", f"{base}/api/me", headers=bearer(laptop.access_token))
        assert status == 200, body
        me = json.loads(body)
        assert me["user"]["id"] == str(user.id) and me["user"]["email"] == "ana@example.com"
        assert me["identities"] == [{"provider": "dev", "email": "ana@example.com",
                                     "linked_at": me["identities"][0]["linked_at"], "last_login_at": None}]
        assert me["session"]["amr"] == ["oidc:dev"] and me["session"]["expires_at"].endswith("Z")
        assert me.get("two_factor", {"enabled": False}) == {"enabled": False}
        assert headers["Cache-Control"] == "no-store"

        # every way of not being authenticated is a 401 with a Bearer challenge
        assert_401(call("GET", f"{base}/api/me"), invalid_token=False)
        assert_401(call("GET", f"{base}/api/me", headers={"Authorization": "Basic abc"}), invalid_token=False)
        assert_401(call("GET", f"{base}/api/me", headers=bearer("not.a.jwt")))
        assert_401(call("GET", f"{base}/api/me", headers=bearer(laptop.access_token[:-3] + "AAA")))

        # refresh rotates
        status, headers, body = post_json(base, "/api/auth/refresh", {"refresh_token": laptop.refresh_token})
        assert status == 200, body
        renewed = json.loads(body)
        assert set(renewed) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
        assert renewed["token_type"] == "Bearer" and renewed["expires_in"] == 900
        assert renewed["refresh_token"] != laptop.refresh_token and headers["Cache-Control"] == "no-store"
        secrets += [renewed["access_token"], renewed["refresh_token"]]
        assert call("GET", f"{base}/api/me", headers=bearer(renewed["access_token"]))[0] == 200

        # bad bodies are 4xx and change nothing
        assert post_json(base, "/api/auth/refresh", {"refresh_token": ""})[0] == 400
        assert post_json(base, "/api/auth/refresh", {"token": "x"})[0] == 400
        assert call("POST", f"{base}/api/auth/refresh", b"refresh_token=x",
                    {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
        assert_401(post_json(base, "/api/auth/refresh", {"refresh_token": "never-issued"}), invalid_token=False)

        # replaying the spent token (no grace configured here) revokes the family at once
        assert_401(post_json(base, "/api/auth/refresh", {"refresh_token": laptop.refresh_token}),
                   invalid_token=False)
        assert_401(call("GET", f"{base}/api/me", headers=bearer(renewed["access_token"])))
        assert_401(post_json(base, "/api/auth/refresh", {"refresh_token": renewed["refresh_token"]}),
                   invalid_token=False)

        # the phone's session is untouched; logout stops its access token at once
        assert call("GET", f"{base}/api/me", headers=bearer(phone.access_token))[0] == 200
        assert_401(call("POST", f"{base}/api/auth/logout", b""), invalid_token=False)
        status, _, _ = call("POST", f"{base}/api/auth/logout", b"", bearer(phone.access_token))
        assert status == 204
        assert_401(call("GET", f"{base}/api/me", headers=bearer(phone.access_token)))
        assert_401(post_json(base, "/api/auth/refresh", {"refresh_token": phone.refresh_token}), invalid_token=False)
        assert_401(call("POST", f"{base}/api/auth/logout", b"", bearer(phone.access_token)))

        # logout everywhere
        tablet, desktop = app_side.sign_in(user), app_side.sign_in(user)
        secrets += [tablet.access_token, tablet.refresh_token, desktop.access_token, desktop.refresh_token]
        status, _, body = call("POST", f"{base}/api/auth/logout-all", b"", bearer(tablet.access_token))
        assert status == 200 and json.loads(body) == {"revoked_sessions": 2}
        assert_401(call("GET", f"{base}/api/me", headers=bearer(desktop.access_token)))

    logs = process.output_path.read_text() + caplog.text
    for secret in secrets:
        assert secret not in logs
    assert "PRIVATE KEY" not in logs
