"""The management API on a real loopback socket, driven by the SDK's real DurableOrchestrationClient."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import azure.durable_functions as df
import azure.functions as func
import pytest
from aiohttp import web
from azure.durable_functions.models.utils import http_utils

from devhost.durable import DurableHost, RealClock, RuntimeStatus
from devhost.function_index import FunctionIndex


@dataclass
class Served:
    host: DurableHost
    base_url: str
    binding: str
    client: df.DurableOrchestrationClient


@pytest.fixture(autouse=True)
async def fresh_sdk_session():
    # The SDK keeps one module-global aiohttp session; each test has its own event loop.
    http_utils._client_session = None
    yield
    await http_utils._close_session()


@pytest.fixture
async def served(index: FunctionIndex):
    host = DurableHost(index, task_hub="TestHub", clock=RealClock())
    app = web.Application()
    host.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"http://127.0.0.1:{port}"
    await host.start()
    binding = host.client_binding_json(base_url)
    try:
        yield Served(host, base_url, binding, df.DurableOrchestrationClient(binding))
    finally:
        await host.stop()
        await runner.cleanup()


def http_request(served: Served, path: str, body: bytes = b"", route_params: dict | None = None) -> func.HttpRequest:
    return func.HttpRequest("POST", f"{served.base_url}{path}", body=body, route_params=route_params or {})


async def finished(served: Served, instance_id: str):
    return await served.host.engine.wait_for_finish(instance_id, timeout=10)


async def test_start_new_and_get_status_with_history(served: Served) -> None:
    instance_id = await served.client.start_new("fan_out_then_summarize", client_input=["Tokyo", "Seattle"])
    await finished(served, instance_id)

    status = await served.client.get_status(instance_id, show_history=True, show_history_output=True)

    assert status.runtime_status is df.OrchestrationRuntimeStatus.Completed
    assert status.output["summary"] == {"joined": "Hello Tokyo | Hello Seattle", "n": 2}
    assert status.custom_status == {"stage": "summarize"}
    assert status.input_ == '["Tokyo", "Seattle"]'  # the host keeps the client's df_dumps text
    events = status.historyEvents
    assert [e["EventType"] for e in events] == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskCompleted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert events[1]["FunctionName"] == "say_hello" and events[1]["Result"] == "Hello Tokyo"


async def test_http_starter_and_the_links_of_create_check_status_response(served: Served, index) -> None:
    starter = next(f for f in index.http if f.name == "http_start").user_function
    request = http_request(served, "/api/orchestrators/approval", route_params={"functionName": "approval"})

    response = await starter(req=request, client=served.binding)  # the SDK middleware builds the client

    assert response.status_code == 202
    links = json.loads(response.get_body())
    assert response.headers["Location"] == links["statusQueryGetUri"]
    assert links["statusQueryGetUri"].startswith(f"{served.base_url}/runtime/webhooks/durabletask/instances/")
    async with aiohttp.ClientSession() as http:
        async with http.get(links["statusQueryGetUri"]) as running:
            assert running.status == 202
            assert (await running.json())["runtimeStatus"] in ("Pending", "Running")
            assert running.headers["Location"]
        # a plain JSON body to sendEventPostUri arrives as the object itself
        send = links["sendEventPostUri"].replace("{eventName}", "approval")
        async with http.post(send, json={"by": "bob"}) as sent:
            assert sent.status == 202
        await finished(served, links["id"])
        async with http.get(links["statusQueryGetUri"]) as done:
            assert done.status == 200
            assert (await done.json())["output"] == {"approved": {"by": "bob"}}
        async with http.delete(links["purgeHistoryDeleteUri"]) as purged:
            assert purged.status == 200 and await purged.json() == {"instancesDeleted": 1}
        async with http.get(links["statusQueryGetUri"]) as gone:
            assert gone.status == 404


async def test_wait_for_completion_returns_the_output(served: Served) -> None:
    instance_id = await served.client.start_new("parent_fan_out")
    request = http_request(served, "/api/run/parent_fan_out")

    response = await served.client.wait_for_completion_or_create_check_status_response(
        request, instance_id, timeout_in_milliseconds=5000, retry_interval_in_milliseconds=50
    )

    assert response.status_code == 200
    assert json.loads(response.get_body()) == ["Hello child-0", "Hello child-1", "Hello child-2"]


async def test_wait_for_completion_times_out_into_a_check_status_response(served: Served) -> None:
    instance_id = await served.client.start_new("approval")
    request = http_request(served, "/api/run/approval")

    response = await served.client.wait_for_completion_or_create_check_status_response(
        request, instance_id, timeout_in_milliseconds=100, retry_interval_in_milliseconds=50
    )

    assert response.status_code == 202
    assert json.loads(response.get_body())["id"] == instance_id


async def test_raise_event_through_the_sdk_client_is_double_encoded_like_the_real_host(served: Served) -> None:
    instance_id = await served.client.start_new("approval")

    await served.client.raise_event(instance_id, "approval", {"by": "alice"})
    status = await finished(served, instance_id)

    # SDK issue #295: the client posts json.dumps(data), the host keeps it as a JSON string
    assert status.output == {"approved": '{"by": "alice"}'}


async def test_terminate_and_the_410_paths(served: Served) -> None:
    instance_id = await served.client.start_new("approval")

    await served.client.terminate(instance_id, "changed my mind")
    status = await served.client.get_status(instance_id)

    assert status.runtime_status is df.OrchestrationRuntimeStatus.Terminated
    assert status.output == "changed my mind"
    await served.client.terminate(instance_id, "again")  # 410: the SDK accepts it silently
    with pytest.raises(Exception, match="is gone: either completed or failed"):
        await served.client.raise_event(instance_id, "approval", True)


async def test_purge_instance_history(served: Served) -> None:
    instance_id = await served.client.start_new("caught_failure")
    await finished(served, instance_id)

    assert (await served.client.purge_instance_history(instance_id)).instances_deleted == 1
    assert (await served.client.purge_instance_history(instance_id)).instances_deleted == 0


async def test_purge_a_running_instance_is_refused(served: Served) -> None:
    instance_id = await served.client.start_new("approval")
    with pytest.raises(Exception, match="unexpected status code 412"):
        await served.client.purge_instance_history(instance_id)


async def test_purge_by_filter(served: Served) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    ids = [await served.client.start_new("caught_failure") for _ in range(2)]
    for instance_id in ids:
        await finished(served, instance_id)

    result = await served.client.purge_instance_history_by(
        created_time_from=since, runtime_status=[df.OrchestrationRuntimeStatus.Completed]
    )

    assert result.instances_deleted == 2
    assert (await served.client.purge_instance_history_by(created_time_from=since)).instances_deleted == 0


async def test_get_status_all_and_by_filters(served: Served) -> None:
    done = await served.client.start_new("caught_failure")
    await finished(served, done)
    waiting = await served.client.start_new("approval", instance_id=f"wait-{uuid.uuid4().hex}")
    await served.host.engine.run_until_idle(advance_time=False)

    everything = await served.client.get_status_all()
    running = await served.client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Running])
    recent = await served.client.get_status_by(created_time_from=datetime.now(UTC) - timedelta(minutes=1))
    future = await served.client.get_status_by(created_time_from=datetime.now(UTC) + timedelta(hours=1))
    prefixed = await served.client.get_status_by(instance_id_prefix="wait-")

    assert {s.instance_id for s in everything} == {done, waiting}
    assert [s.instance_id for s in running] == [waiting]
    assert {s.instance_id for s in recent} == {done, waiting}
    assert future == []
    assert [s.instance_id for s in prefixed] == [waiting]


async def test_list_pages_with_top_and_continuation_token(served: Served) -> None:
    for _ in range(3):
        await served.client.start_new("approval")
    url = f"{served.base_url}/runtime/webhooks/durabletask/instances/?top=2"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as first:
            token = first.headers["x-ms-continuation-token"]
            assert len(await first.json()) == 2
        async with http.get(url, headers={"x-ms-continuation-token": token}) as second:
            assert len(await second.json()) == 1
            assert "x-ms-continuation-token" not in second.headers


async def test_unknown_orchestrator_makes_the_sdk_raise_the_extensions_message(served: Served) -> None:
    with pytest.raises(Exception, match="The function 'does_not_exist' doesn't exist, is disabled, or is not an"):
        await served.client.start_new("does_not_exist")


async def test_duplicate_running_instance_id_is_409(served: Served) -> None:
    await served.client.start_new("approval", instance_id="dup")
    with pytest.raises(Exception, match="already exists"):
        await served.client.start_new("approval", instance_id="dup")


async def test_unknown_instance(served: Served) -> None:
    status = await served.client.get_status("nope")
    assert not status  # 404: the SDK returns an empty (falsy) status
    with pytest.raises(Exception, match="No instance with ID nope found"):
        await served.client.raise_event("nope", "approval", 1)
    with pytest.raises(Exception, match="No instance with ID 'nope' found"):
        await served.client.terminate("nope", "why")


async def test_raise_event_needs_application_json(served: Served) -> None:
    instance_id = await served.client.start_new("approval")
    url = f"{served.base_url}/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/approval"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data="yes", headers={"Content-Type": "text/plain"}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["Message"] == "Only application/json request content is supported"


async def test_raise_event_to_a_completed_instance_is_410(served: Served) -> None:
    instance_id = await served.client.start_new("caught_failure")
    await finished(served, instance_id)
    with pytest.raises(Exception, match="is gone"):
        await served.client.raise_event(instance_id, "approval", 1)


async def test_failed_instance_status_is_200_unless_asked_for_500(served: Served) -> None:
    instance_id = await served.client.start_new("unhandled_failure")
    status = await finished(served, instance_id)
    assert status.status is RuntimeStatus.Failed
    url = f"{served.base_url}/runtime/webhooks/durabletask/instances/{instance_id}"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as ok:
            assert ok.status == 200 and (await ok.json())["runtimeStatus"] == "Failed"
        async with http.get(url + "?returnInternalServerErrorOnFailure=true") as error:
            assert error.status == 500


async def test_create_and_wait_with_timeout_query(served: Served) -> None:
    query = "timeout=5&pollingInterval=0.05"
    url = f"{served.base_url}/runtime/webhooks/durabletask/orchestrators/fan_out_then_summarize?{query}"
    async with aiohttp.ClientSession() as http, http.post(url, json=json.dumps(["Lima"])) as response:
        assert response.status == 200
        assert (await response.json())["parts"] == ["Hello Lima"]


@pytest.mark.parametrize("operation", ["suspend", "resume"])
async def test_unsupported_operations_answer_501(served: Served, operation: str) -> None:
    instance_id = await served.client.start_new("approval")
    with pytest.raises(Exception, match="unexpected status code 501"):
        await getattr(served.client, operation)(instance_id, "because")


async def test_rewind_and_entities_answer_501(served: Served) -> None:
    base = f"{served.base_url}/runtime/webhooks/durabletask"
    async with aiohttp.ClientSession() as http:
        for url in (f"{base}/instances/x/rewind?reason=r", f"{base}/instances/x/restart", f"{base}/entities/c/k"):
            async with http.post(url) as response:
                assert response.status == 501
                assert "not supported by devhost" in (await response.json())["Message"]
