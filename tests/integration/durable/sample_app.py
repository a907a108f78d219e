"""A small Durable Functions app that exercises every feature devhost's durable host emulates.

Only for tests: it is indexed with ``FunctionIndex.from_app`` exactly like ``function_app.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Attempt counters for the flaky activity, keyed by the caller's key so tests stay independent.
FLAKY_CALLS: dict[str, int] = {}


# ----------------------------------------------------------------------------- activities


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"


@app.activity_trigger(input_name="parts")
async def summarize(parts: list[str]) -> dict:
    await asyncio.sleep(0)
    return {"joined": " | ".join(parts), "n": len(parts)}


@app.activity_trigger(input_name="payload")
def boom(payload: str) -> str:
    raise ValueError(f"boom on {payload}")


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    calls = FLAKY_CALLS[key] = FLAKY_CALLS.get(key, 0) + 1
    if calls < 3:
        raise RuntimeError(f"flaky failure {calls}")
    return f"ok after {calls} calls"


# ----------------------------------------------------------------------------- orchestrators


@app.orchestration_trigger(context_name="context")
def fan_out_then_summarize(context: df.DurableOrchestrationContext):
    cities = context.get_input()
    context.set_custom_status({"stage": "fan-out"})
    parts = yield context.task_all([context.call_activity(say_hello, city) for city in cities])
    context.set_custom_status({"stage": "summarize"})
    summary = yield context.call_activity("summarize", parts)
    return {"parts": parts, "summary": summary, "replaying_at_end": context.is_replaying}


@app.orchestration_trigger(context_name="context")
def caught_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "A")
    except Exception as exc:
        return {"caught": str(exc)}
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def unhandled_failure(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "B")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def retry_succeeds(context: df.DurableOrchestrationContext):
    key = context.get_input()
    return (yield context.call_activity_with_retry("flaky", df.RetryOptions(5000, 3), key))


@app.orchestration_trigger(context_name="context")
def retry_exhausts(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity_with_retry("boom", df.RetryOptions(1000, 2), "C")
    except Exception as exc:
        return {"gave_up": str(exc)}
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def mixed_task_all(context: df.DurableOrchestrationContext):
    key = context.get_input()
    results = yield context.task_all(
        [
            context.call_activity_with_retry("flaky", df.RetryOptions(1000, 3), key),
            context.call_activity("say_hello", "X"),
            context.call_activity("say_hello", "Y"),
        ]
    )
    tail = yield context.call_activity("say_hello", "Z")
    return [*results, tail]


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(hours=1)
    approved = context.wait_for_external_event("approval")
    timeout = context.create_timer(deadline)
    winner = yield context.task_any([approved, timeout])
    if winner == approved:
        timeout.cancel()
        return {"approved": approved.result}
    return {"timed_out": True, "at": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    name = context.get_input()
    if name == "bad":
        raise ValueError("bad child")
    return (yield context.call_activity("say_hello", name))


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def parent_fan_out(context: df.DurableOrchestrationContext):
    tasks = [context.call_sub_orchestrator("child", f"child-{i}") for i in range(3)]
    return (yield context.task_all(tasks))


@app.orchestration_trigger(context_name="context")
def parent_with_failing_child(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("child", "bad")
    except Exception as exc:
        return {"child_failed": str(exc)}
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def parent_retry_child(context: df.DurableOrchestrationContext):
    key = context.get_input()
    return (yield context.call_sub_orchestrator_with_retry("flaky_child", df.RetryOptions(1000, 3), key))


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    n = context.get_input() or 0
    if n >= 3:
        return f"finished at {n}"
    yield context.call_activity("say_hello", str(n))
    context.continue_as_new(n + 1)


@app.orchestration_trigger(context_name="context")
def loop_waiting_for_events(context: df.DurableOrchestrationContext):
    """Waits for 'item' events, one per execution, keeping a running list across continue-as-new."""
    seen = context.get_input() or []
    item = yield context.wait_for_external_event("item")
    seen = [*seen, item]
    if len(seen) >= 2:
        return seen
    context.continue_as_new(seen)


@app.orchestration_trigger(context_name="context")
def non_deterministic(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", uuid.uuid4().hex)  # wrong on purpose: differs on replay
    yield context.call_activity("say_hello", "end")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def uses_entities(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("counter", "k"), "add", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def calls_unknown_activity(context: df.DurableOrchestrationContext):
    yield context.call_activity("no_such_activity", 1)
    return "unreachable"


# ----------------------------------------------------------------------------- HTTP starter


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], None, req.get_json() if body else None)
    return client.create_check_status_response(req, instance_id)
