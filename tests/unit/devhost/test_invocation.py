"""Worker-style argument binding (pure: fake functions, no server)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import azure.functions as func
import pytest

from devhost.function_index import FunctionIndex
from devhost.functions_host.invocation import BindingNotAvailable, FunctionInvoker, InvocationContext


def _index(register: Any) -> FunctionIndex:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    register(app)
    return FunctionIndex.from_app(app)


def _request() -> func.HttpRequest:
    return func.HttpRequest("GET", "http://localhost/api/x", body=b"")


def test_trigger_by_binding_name_and_context_by_name() -> None:
    def register(app: func.FunctionApp) -> None:
        @app.route(route="x", trigger_arg_name="request")
        def fn(request: func.HttpRequest, context: func.Context) -> str:
            return "ok"

    fn = _index(register).http[0]
    context = InvocationContext("fn", "/app")
    kwargs = FunctionInvoker().arguments(fn, _request(), context, "http://localhost:7071")
    assert set(kwargs) == {"request", "context"}
    assert kwargs["context"] is context
    assert isinstance(kwargs["context"], func.Context)


def test_unbound_required_parameter_is_a_clear_error() -> None:
    def register(app: func.FunctionApp) -> None:
        @app.route(route="x")
        def fn(req: func.HttpRequest, other: str) -> str:
            return "ok"

    with pytest.raises(BindingNotAvailable, match="other"):
        FunctionInvoker().arguments(_index(register).http[0], _request(), InvocationContext("fn", "/"), "http://h")


def test_unsupported_binding_is_named() -> None:
    def register(app: func.FunctionApp) -> None:
        @app.route(route="x")
        @app.queue_output(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def fn(req: func.HttpRequest, msg: func.Out[str]) -> str:
            return "ok"

    with pytest.raises(BindingNotAvailable, match="queue"):
        FunctionInvoker().arguments(_index(register).http[0], _request(), InvocationContext("fn", "/"), "http://h")


def test_context_carries_w3c_trace_parent() -> None:
    context = InvocationContext("fn", "/app")
    version, trace_id, span_id, flags = context.trace_context.trace_parent.split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert context.retry_context.retry_count == 0
    assert context.retry_context.max_retry_count == 0
    assert context.function_directory == "/app"


async def test_sync_in_pool_async_on_loop() -> None:
    def register(app: func.FunctionApp) -> None:
        @app.route(route="s")
        def sync_fn(req: func.HttpRequest) -> str:
            return threading.current_thread().name

        @app.route(route="a")
        async def async_fn(req: func.HttpRequest) -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

    index = _index(register)
    by_name = {f.name: f for f in index.http}
    invoker = FunctionInvoker(sync_threads=2)
    try:
        assert (await invoker.call(by_name["sync_fn"], {"req": _request()})).startswith("devhost-sync")
        assert await invoker.call(by_name["async_fn"], {"req": _request()}) == threading.current_thread().name
    finally:
        invoker.shutdown()
