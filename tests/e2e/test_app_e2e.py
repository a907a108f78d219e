"""The real function_app served by devhost as a separate process, over real HTTP.

Real components throughout: a migrated SQLite or PostgreSQL database, Azurite for storage, the
durable host running the production orchestration, and the SDK's own durable client.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from infra.sql.migrate import upgrade_to_head

pytestmark = pytest.mark.e2e

APP = "function_app"


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def sqlite_env(tmp_path, azurite):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_to_head(url)
    return {"DATABASE_URL": url, "AzureWebJobsStorage": azurite, "APP_ENVIRONMENT": "test"}


def test_health_is_ok_with_every_dependency_up(start_devhost, sqlite_env):
    with start_devhost(APP, sqlite_env) as (base, process):
        status, headers, body = call("GET", f"{base}/api/health", headers={"X-Request-Id": "e2e-health-1"})
    assert status == 200, body
    assert json.loads(body) == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
    assert headers["X-Request-Id"] == "e2e-health-1"
    assert "e2e-health-1" in process.output_path.read_text()  # the same id reaches the logs


def test_deep_health_orchestration_runs_to_completion_over_http(start_devhost, sqlite_env):
    with start_devhost(APP, sqlite_env) as (base, _):
        status, headers, body = call("POST", f"{base}/api/health/deep", body=b"")
        assert status == 202, body
        links = json.loads(body)
        assert headers["Location"] == links["statusQueryGetUri"]
        deadline = time.monotonic() + 30
        while True:
            status, _, body = call("GET", links["statusQueryGetUri"])
            state = json.loads(body)
            if state["runtimeStatus"] in ("Completed", "Failed", "Terminated") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert status == 200 and state["runtimeStatus"] == "Completed", state
    assert state["output"]["status"] == "ok"
    assert state["output"]["checks"] == {"database": "ok", "storage": "ok"}
    assert state["output"]["instance_id"] == links["id"]


def test_unreachable_database_is_named_with_503(start_devhost, azurite):
    env = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "AzureWebJobsStorage": azurite}
    with start_devhost(APP, env) as (base, _):
        status, headers, body = call("GET", f"{base}/api/health")
    report = json.loads(body)
    assert status == 503
    assert report["failing"] == ["database"]
    assert report["checks"] == {"database": "error", "storage": "ok"}
    assert "127.0.0.1:1" not in body.decode()  # no connection details leak
    assert headers.get("Retry-After")


@pytest.mark.postgres
def test_database_that_goes_away_and_comes_back(start_devhost, azurite, postgres_server):
    postgres_server.require()
    url = postgres_server.create_database()
    url_text = url.render_as_string(hide_password=False)

    def admin(sql: str) -> None:
        with postgres_server.admin_engine().connect() as connection:
            connection.exec_driver_sql(sql)

    try:
        upgrade_to_head(url_text)
        with start_devhost(APP, {"DATABASE_URL": url_text, "AzureWebJobsStorage": azurite}) as (base, _):
            assert call("GET", f"{base}/api/health")[0] == 200
            admin(f'DROP DATABASE "{url.database}" WITH (FORCE)')
            status, _, body = call("GET", f"{base}/api/health")
            assert status == 503 and json.loads(body)["failing"] == ["database"]
            admin(f'CREATE DATABASE "{url.database}"')
            assert call("GET", f"{base}/api/health")[0] == 200  # the pool recovers by itself
    finally:
        postgres_server.drop_database(url)


def test_unknown_route_and_wrong_method_are_json_4xx(start_devhost, sqlite_env):
    with start_devhost(APP, sqlite_env) as (base, _):
        missing = call("GET", f"{base}/api/no/such/route")
        wrong_method = call("DELETE", f"{base}/api/health")
    assert missing[0] == 404 and "error" in json.loads(missing[2])
    # 404, not 405: the Azure Functions host answers a known route with an unsupported method so.
    assert wrong_method[0] == 404 and "GET" in wrong_method[1]["Allow"]


def test_a_bad_setting_stops_devhost_with_its_name(start_devhost, tmp_path):
    with pytest.raises(RuntimeError) as failure, start_devhost(APP, {"DATABASE_POOL_SIZE": "lots"}, timeout=20):
        pass
    assert "DATABASE_POOL_SIZE" in str(failure.value)
