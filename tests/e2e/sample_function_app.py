"""A tiny FunctionApp for the devhost process test; the real function_app is tested elsewhere."""

from __future__ import annotations

import asyncio
import json
import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ping/{name?}", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    body = {"pong": req.route_params.get("name", "anonymous"),
            "setting": os.environ.get("DEVHOST_E2E_SETTING")}
    return func.HttpResponse(json.dumps(body), mimetype="application/json", headers={"X-Request-Id": "e2e-1"})


@app.route(route="pid", methods=["GET"])
def pid(req: func.HttpRequest) -> func.HttpResponse:
    """Which process served this (the FUNCTIONS_WORKER_PROCESS_COUNT test)."""
    return func.HttpResponse(str(os.getpid()))


@app.route(route="slow", methods=["GET"])
async def slow(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(float(req.params.get("seconds", "1")))
    return func.HttpResponse("done")


@app.orchestration_trigger(context_name="context")
def shout(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield context.call_activity("upper", context.get_input()))


@app.activity_trigger(input_name="text")
def upper(text: str) -> str:
    return text.upper()


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)
