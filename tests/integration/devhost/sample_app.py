"""A small FunctionApp that exercises what the functions host must do; not the real function_app."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(data), status_code=status, mimetype="application/json", headers=headers)


@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"hello": req.route_params["name"], "method": req.method, "params": dict(req.params),
                  "url": req.url})


@app.route(route="users/me", methods=["GET"])
def users_me(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route": "me"})


@app.route(route="users/{id:int}", methods=["GET"])
def users_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route": "id", "id": req.route_params["id"]})


@app.route(route="users/{name}", methods=["GET", "PUT"])
def users_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route": "name", "name": req.route_params["name"]})


@app.route(route="items/{id:int}", methods=["GET"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"id": int(req.route_params["id"])})


@app.route(route="optional/{value?}", methods=["GET"])
def optional(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route_params": dict(req.route_params)})


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"path": req.route_params.get("path"), "method": req.method})


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret-internal-detail")


@app.route(route="sync", methods=["GET"])
def sync_fn(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"thread": threading.current_thread().name})


@app.route(route="async", methods=["GET"])
async def async_fn(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    return _json({"thread": threading.current_thread().name})


@app.route(route="slow", methods=["GET"])
async def slow(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(float(req.params.get("seconds", "0.5")))
    return _json({"slept": True})


@app.route(route="slow-sync", methods=["GET"])
def slow_sync(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(float(req.params.get("seconds", "0.3")))
    return _json({"slept": True})


@app.route(route="ctx", methods=["GET"])
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json({"invocation_id": context.invocation_id, "function_name": context.function_name,
                  "function_directory": context.function_directory,
                  "trace_parent": context.trace_context.trace_parent,
                  "retry_count": context.retry_context.retry_count})


@app.route(route="echo", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    headers = {"X-Request-Id": req.headers.get("x-request-id", "generated-id"),
               "X-Echo": req.headers.get("x-echo", "")}
    resp = _json({"body": req.get_json(), "content_type": req.headers.get("content-type")}, status=201,
                 headers=headers)
    resp.headers.add_header("Set-Cookie", "a=1; Path=/")
    resp.headers.add_header("Set-Cookie", "b=2; Path=/; HttpOnly")
    return resp


@app.route(route="raw", methods=["POST"])
def raw(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(len(req.get_body())))


@app.route(route="text", methods=["GET"])
def text(req: func.HttpRequest) -> str:
    return "plain text"


@app.route(route="dict", methods=["GET"])
def as_dict(req: func.HttpRequest) -> dict[str, int]:
    return {"a": 1}


@app.route(route="html", methods=["GET"])
def html(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("<p>hi</p>", mimetype="text/html", charset="latin-1", status_code=202)


@app.route(route="nocontent", methods=["DELETE"])
def nocontent(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(status_code=204)


@app.route(route="durable/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def durable_links(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    payload = client.create_http_management_payload(req.route_params["instance_id"])
    return _json({"task_hub": client._orchestration_bindings.task_hub_name, "status": payload["statusQueryGetUri"]})


@app.orchestration_trigger(context_name="context")
def greet_orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    result = yield context.call_activity("say_hello", context.get_input())
    return result


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_orchestration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)
