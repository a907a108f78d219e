"""Interface layer: health endpoint, the error mapping and request ids, with fake services."""

import json

import azure.functions as func
import pytest

import function_app  # noqa: F401  (registers the blueprints and the real provider first)
from application.health import CheckHealth
from interface import dependencies
from interface.http.endpoint import http_endpoint
from shared import errors
from tests.unit.app.fakes import FakeProbe, FakeServices


def _request(method="GET", url="http://localhost/api/health", headers=None, body=b""):
    return func.HttpRequest(method=method, url=url, headers=headers or {}, body=body)


@pytest.fixture
def use_services():
    def install(*probes):
        fake = FakeServices(check_health=CheckHealth(list(probes), timeout_seconds=1))
        dependencies.provide(lambda: fake)
        return fake

    yield install
    import bootstrap

    dependencies.provide(bootstrap.get_container)


def _health_handler():
    from interface.http import health

    return health.health


def test_health_ok(use_services):
    use_services(FakeProbe("database"), FakeProbe("storage"))
    response = _health_handler()(_request())
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
    assert response.mimetype == "application/json"


def test_health_names_the_failing_dependency_with_503(use_services):
    use_services(FakeProbe("database", fails_with=OSError("secret-host:1433 refused")), FakeProbe("storage"))
    response = _health_handler()(_request())
    body = json.loads(response.get_body())
    assert response.status_code == 503
    assert body["checks"]["database"] == "error"
    assert body["failing"] == ["database"]
    assert "secret-host" not in response.get_body().decode()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput("bad"), 400),
        (errors.Unauthenticated("who?"), 401),
        (errors.Forbidden("no"), 403),
        (errors.NotFound("gone"), 404),
        (errors.Conflict("twice"), 409),
        (errors.PayloadTooLarge("big"), 413),
        (errors.UnsupportedMediaType("pdf?"), 415),
        (errors.RateLimited("slow down", retry_after_seconds=7), 429),
        (errors.Unavailable("db down"), 503),
    ],
)
def test_every_error_category_maps_to_its_status_and_json_body(error, status):
    @http_endpoint
    def handler(req):
        raise error

    response = handler(_request())
    body = json.loads(response.get_body())
    assert response.status_code == status
    expected = {"code": error.code, "message": error.message}
    if error.details:
        expected["details"] = error.details
    assert body == {"error": expected}
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 429:
        assert response.headers["Retry-After"] == "7"


def test_unexpected_exception_is_a_500_without_internals(caplog):
    @http_endpoint
    def handler(req):
        raise KeyError("SELECT * FROM users WHERE password='x'")

    response = handler(_request(headers={"X-Request-Id": "abc-123"}))
    text = response.get_body().decode()
    assert response.status_code == 500
    assert json.loads(text)["error"]["code"] == "internal_error"
    assert "SELECT" not in text and "Traceback" not in text
    assert "abc-123" in text
    assert "SELECT" in caplog.text  # the detail is logged for operators


def test_request_id_is_echoed_when_safe_and_minted_otherwise():
    @http_endpoint
    def handler(req):
        return func.HttpResponse("ok")

    assert handler(_request(headers={"X-Request-Id": "client-id_1.2"})).headers["X-Request-Id"] == "client-id_1.2"
    minted = handler(_request(headers={"X-Request-Id": "bad id\nwith newline"})).headers["X-Request-Id"]
    assert len(minted) == 32 and "\n" not in minted
    assert len(handler(_request()).headers["X-Request-Id"]) == 32


async def test_async_handlers_get_the_same_treatment():
    @http_endpoint
    async def handler(req):
        raise errors.NotFound("nothing here")

    response = await handler(_request())
    assert response.status_code == 404
    assert "X-Request-Id" in response.headers


def test_request_id_reaches_log_records(caplog):
    import logging

    from shared.request_context import RequestIdFilter

    caplog.handler.addFilter(RequestIdFilter())

    @http_endpoint
    def handler(req):
        logging.getLogger("tagarela.test").warning("inside")
        return func.HttpResponse("ok")

    handler(_request(headers={"X-Request-Id": "trace-me"}))
    assert any(getattr(r, "request_id", None) == "trace-me" and r.getMessage() == "inside" for r in caplog.records)
