"""The functions host over real loopback HTTP, serving ``sample_app``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from devhost.function_index import FunctionIndex
from devhost.functions_host import FunctionsHost, FunctionsHostSettings

from . import sample_app

MAX_BODY = 64 * 1024


@dataclass
class Served:
    host: FunctionsHost
    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return f"{self.host.base_url}{path}"


class FakeDurable:
    """Stands in for devhost.durable.DurableHost: the binding JSON plus one attached route."""

    def client_binding_json(self, base_url: str) -> str:
        rpc = f"{base_url}/runtime/webhooks/durabletask/"
        instance = f"{rpc}instances/INSTANCEID"
        return json.dumps({
            "taskHubName": "SampleHub",
            "creationUrls": {"createNewInstancePostUri": f"{rpc}orchestrators/{{functionName}}",
                             "createAndWaitOnNewInstancePostUri": f"{rpc}orchestrators/{{functionName}}"},
            "managementUrls": {"id": "INSTANCEID", "statusQueryGetUri": instance,
                               "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}",
                               "terminatePostUri": f"{instance}/terminate?reason={{text}}",
                               "rewindPostUri": f"{instance}/rewind?reason={{text}}",
                               "purgeHistoryDeleteUri": instance, "restartPostUri": f"{instance}/restart",
                               "suspendPostUri": f"{instance}/suspend?reason={{text}}",
                               "resumePostUri": f"{instance}/resume?reason={{text}}"},
            "baseUrl": rpc, "requiredQueryStringParameters": "", "rpcBaseUrl": rpc,
        })

    def attach(self, web_app: web.Application) -> None:
        async def ping(request: web.Request) -> web.Response:
            return web.json_response({"durable": True})

        web_app.router.add_get("/runtime/webhooks/durabletask/ping", ping)


async def _serve(durable: FakeDurable | None, **settings: object) -> AsyncIterator[Served]:
    index = FunctionIndex.from_app(sample_app.app)
    host = FunctionsHost(index, FunctionsHostSettings(port=0, max_request_body_bytes=MAX_BODY, **settings),
                         durable=durable)  # type: ignore[arg-type]
    await host.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Served(host, session)
    finally:
        await host.stop()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async for s in _serve(FakeDurable()):
        yield s


@pytest.fixture
async def served_without_durable() -> AsyncIterator[Served]:
    async for s in _serve(None):
        yield s


async def test_route_param_query_and_url(served: Served) -> None:
    async with served.session.get(served.url("/api/hello/Ada?x=1&tag=a&tag=b&empty=")) as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["hello"] == "Ada"
    assert data["method"] == "GET"
    # ASP.NET joins repeated keys with ',' and the worker drops empty values.
    assert data["params"] == {"x": "1", "tag": "a,b"}
    assert data["url"] == served.url("/api/hello/Ada?x=1&tag=a&tag=b&empty=")


async def test_literal_beats_constrained_beats_plain_parameter(served: Served) -> None:
    for path, expected in [("/api/users/me", {"route": "me"}), ("/api/USERS/ME", {"route": "me"}),
                           ("/api/users/42", {"route": "id", "id": "42"}),
                           ("/api/users/bob", {"route": "name", "name": "bob"})]:
        async with served.session.get(served.url(path)) as resp:
            assert resp.status == 200, path
            assert await resp.json() == expected, path


async def test_int_constraint_mismatch_is_404(served: Served) -> None:
    async with served.session.get(served.url("/api/items/abc")) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    async with served.session.get(served.url("/api/items/7")) as resp:
        assert await resp.json() == {"id": 7}


async def test_optional_and_catch_all(served: Served) -> None:
    async with served.session.get(served.url("/api/optional")) as resp:
        assert await resp.json() == {"route_params": {}}
    async with served.session.get(served.url("/api/optional/v")) as resp:
        assert await resp.json() == {"route_params": {"value": "v"}}
    async with served.session.get(served.url("/api/files/a/b/c.txt")) as resp:
        assert await resp.json() == {"path": "a/b/c.txt", "method": "GET"}
    async with served.session.patch(served.url("/api/files/x")) as resp:  # no methods = every method
        assert await resp.json() == {"path": "x", "method": "PATCH"}


async def test_unknown_route_is_json_404(served: Served) -> None:
    for path in ("/api/nothing-here", "/hello/Ada", "/"):
        async with served.session.get(served.url(path)) as resp:
            assert resp.status == 404, path
            assert resp.content_type == "application/json"
            assert (await resp.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_404_like_the_host_but_says_what_is_allowed(served: Served) -> None:
    async with served.session.delete(served.url("/api/users/bob")) as resp:
        assert resp.status == 404
        assert resp.headers["Allow"] == "GET, PUT"
        assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_head_is_not_added_for_get(served: Served) -> None:
    async with served.session.head(served.url("/api/hello/Ada")) as resp:
        assert resp.status == 404


async def test_post_json_headers_both_ways_and_cookies(served: Served) -> None:
    async with served.session.post(served.url("/api/echo"), json={"text": "olá"},
                                   headers={"X-Echo": "ping", "X-Request-Id": "req-123"}) as resp:
        assert resp.status == 201
        assert resp.headers["X-Echo"] == "ping"
        assert resp.headers["X-Request-Id"] == "req-123"
        assert resp.headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
        data = await resp.json()
    assert data == {"body": {"text": "olá"}, "content_type": "application/json"}


async def test_return_types_and_content_types(served: Served) -> None:
    async with served.session.get(served.url("/api/text")) as resp:
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await resp.text() == "plain text"
    async with served.session.get(served.url("/api/dict")) as resp:
        assert await resp.json() == {"a": 1}
    async with served.session.get(served.url("/api/html")) as resp:
        assert resp.status == 202
        assert resp.headers["Content-Type"] == "text/html; charset=latin-1"
    async with served.session.delete(served.url("/api/nocontent")) as resp:
        assert resp.status == 204
        assert await resp.read() == b""


async def test_sync_runs_in_pool_async_on_loop(served: Served) -> None:
    async with served.session.get(served.url("/api/sync")) as resp:
        assert (await resp.json())["thread"].startswith("devhost-sync")
    async with served.session.get(served.url("/api/async")) as resp:
        assert (await resp.json())["thread"] == "MainThread"


async def test_sync_functions_do_not_block_each_other(served: Served) -> None:
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*(served.session.get(served.url("/api/slow-sync?seconds=0.3")) for _ in range(4)))
    elapsed = asyncio.get_running_loop().time() - started
    assert all(r.status == 200 for r in results)
    for r in results:
        r.release()
    assert elapsed < 1.0


async def test_context_parameter(served: Served) -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with served.session.get(served.url("/api/ctx"), headers={"traceparent": trace}) as resp:
        data = await resp.json()
    assert data["function_name"] == "with_context"
    assert len(data["invocation_id"]) == 36
    assert data["trace_parent"] == trace
    assert data["retry_count"] == 0
    assert data["function_directory"]


async def test_exception_is_500_without_traceback(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="devhost.http"):
        async with served.session.get(served.url("/api/boom")) as resp:
            assert resp.status == 500
            text = await resp.text()
    body = json.loads(text)
    assert body["error"]["code"] == "internal_error"
    assert "secret-internal-detail" not in text
    assert "Traceback" not in text
    assert any("secret-internal-detail" in (r.exc_text or "") for r in caplog.records)  # logged server-side


async def test_body_over_limit_is_413(served: Served) -> None:
    async with served.session.post(served.url("/api/raw"), data=b"x" * (MAX_BODY + 1)) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["code"] == "payload_too_large"
    async with served.session.post(served.url("/api/raw"), data=b"x" * MAX_BODY) as resp:
        assert resp.status == 200
        assert await resp.text() == str(MAX_BODY)


async def test_chunked_body_over_limit_is_413(served: Served) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"y" * (MAX_BODY // 2)

    async with served.session.post(served.url("/api/raw"), data=chunks()) as resp:
        assert resp.status == 413


async def test_one_log_line_per_request(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="devhost.http"):
        async with served.session.post(served.url("/api/echo"), json={}, headers={"X-Request-Id": "rid-9"}) as resp:
            await resp.read()
    lines = [r.getMessage() for r in caplog.records if r.name == "devhost.http"]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("POST /api/echo -> 201 in ")
    assert "ms" in line and "function=echo" in line and "request_id=rid-9" in line


async def test_durable_client_binding_and_durable_routes(served: Served) -> None:
    async with served.session.post(served.url("/api/durable/abc")) as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["task_hub"] == "SampleHub"
    assert data["status"] == served.url("/runtime/webhooks/durabletask/instances/abc")
    async with served.session.get(served.url("/runtime/webhooks/durabletask/ping")) as resp:
        assert await resp.json() == {"durable": True}


async def test_durable_client_without_durable_host_is_clear_500(served_without_durable: Served) -> None:
    async with served_without_durable.session.post(served_without_durable.url("/api/durable/abc")) as resp:
        assert resp.status == 500
        message = (await resp.json())["error"]["message"]
    assert "durableClient" in message and "durable host" in message


async def test_empty_route_prefix() -> None:
    async for served in _serve(None, route_prefix=""):
        async with served.session.get(served.url("/hello/Ada")) as resp:
            assert (await resp.json())["hello"] == "Ada"
        async with served.session.get(served.url("/api/hello/Ada")) as resp:
            assert resp.status == 404


async def test_graceful_stop_finishes_in_flight_requests() -> None:
    index = FunctionIndex.from_app(sample_app.app)
    host = FunctionsHost(index, FunctionsHostSettings(port=0, shutdown_grace_seconds=5))
    await host.start()
    async with aiohttp.ClientSession() as session:
        pending = asyncio.ensure_future(session.get(f"{host.base_url}/api/slow?seconds=0.5"))
        await asyncio.sleep(0.1)
        await host.stop()
        resp = await pending
        assert resp.status == 200
        assert await resp.json() == {"slept": True}
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"{host.base_url}/api/async")


def test_function_urls_like_func_start() -> None:
    host = FunctionsHost(FunctionIndex.from_app(sample_app.app), FunctionsHostSettings(port=7071))
    lines = [str(u) for u in host.function_urls()]
    assert "hello: [GET] http://127.0.0.1:7071/api/hello/{name}" in lines
    assert "files: [ALL] http://127.0.0.1:7071/api/files/{*path}" in lines


async def test_real_durable_host_runs_an_orchestration_started_over_http() -> None:
    durable_module = pytest.importorskip("devhost.durable")
    index = FunctionIndex.from_app(sample_app.app)
    durable = durable_module.DurableHost(index, task_hub="SampleHub")
    await durable.start()
    try:
        async for served in _serve(durable):
            async with served.session.post(served.url("/api/orchestrators/greet_orchestrator"), json="Ada") as resp:
                assert resp.status == 202
                links = await resp.json()
            assert links["statusQueryGetUri"].startswith(served.url("/runtime/webhooks/durabletask/instances/"))
            status: dict[str, object] = {}
            for _ in range(100):
                async with served.session.get(links["statusQueryGetUri"]) as resp:
                    status = await resp.json()
                if status.get("runtimeStatus") == "Completed":
                    break
                await asyncio.sleep(0.05)
            assert status["runtimeStatus"] == "Completed"
            assert status["output"] == "Hello Ada"
    finally:
        await durable.stop()


async def test_cors_preflight_and_actual_request() -> None:
    from devhost.functions_host import CorsPolicy

    async for served in _serve(None, cors=CorsPolicy.parse("http://localhost:5173")):
        preflight_headers = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
                             "Access-Control-Request-Headers": "content-type,authorization"}
        async with served.session.options(served.url("/api/echo"), headers=preflight_headers) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
            assert resp.headers["Access-Control-Allow-Methods"] == "POST"
            assert resp.headers["Access-Control-Allow-Headers"] == "content-type,authorization"
        async with served.session.get(served.url("/api/hello/x"), headers={"Origin": "http://localhost:5173"}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
            assert r.headers["Vary"] == "Origin"
        async with served.session.get(served.url("/api/hello/x"), headers={"Origin": "http://evil.test"}) as r:
            assert r.status == 200
            assert "Access-Control-Allow-Origin" not in r.headers


async def test_no_cors_headers_without_a_policy(served: Served) -> None:
    async with served.session.get(served.url("/api/hello/x"), headers={"Origin": "http://localhost:5173"}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers
