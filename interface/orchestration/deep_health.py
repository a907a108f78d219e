"""Deep health check as a durable orchestration.

``POST /api/health/deep`` starts an orchestration that lists the health checks, runs each one
as its own activity in parallel (fan-out/fan-in; a retry policy covers a crashed activity),
then waits on a durable timer and checks the failing ones once more, so a blip of a second does
not page anyone. It completes with the same report shape as ``GET /api/health``. Besides being useful to operators
(it proves the Durable Functions pipeline — task hub, orchestrator replay, activities — works
end to end), it is the smallest real orchestration the local durable host is tested with.
"""

from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from interface.dependencies import services
from interface.http.endpoint import http_endpoint

bp = df.Blueprint()

ORCHESTRATOR = "deep_health_orchestrator"
_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
RECHECK_DELAY = timedelta(seconds=2)


@bp.route(route="health/deep", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@http_endpoint
async def start_deep_health(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(ORCHESTRATOR)
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def deep_health_orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    names = yield context.call_activity("list_health_checks", None)
    context.set_custom_status({"stage": "checking", "checks": names})
    results = yield context.task_all(
        [context.call_activity_with_retry("run_health_check", _RETRY, name) for name in names]
    )
    checks = dict(zip(names, results, strict=True))
    failing = [name for name in names if checks[name] != "ok"]
    if failing:
        context.set_custom_status({"stage": "rechecking", "checks": failing})
        yield context.create_timer(context.current_utc_datetime + RECHECK_DELAY)
        rechecked = yield context.task_all(
            [context.call_activity_with_retry("run_health_check", _RETRY, name) for name in failing]
        )
        checks.update(zip(failing, rechecked, strict=True))
        results = list(checks.values())
    status = "ok" if all(result == "ok" for result in results) else "unavailable"
    context.set_custom_status({"stage": "done"})
    return {"status": status, "checks": checks, "instance_id": context.instance_id}


@bp.activity_trigger(input_name="unused", activity="list_health_checks")
def list_health_checks(unused: object) -> list[str]:
    return services().check_health.check_names


@bp.activity_trigger(input_name="name", activity="run_health_check")
def run_health_check(name: str) -> str:
    # A failing dependency is a result ("error"/"timeout"), not an activity failure: the
    # orchestrator decides what to do with it.
    return services().check_health.check_one(name)
