from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from azure.durable_functions.models.DurableOrchestrationBindings import DurableOrchestrationBindings

from devhost.durable.engine import Engine
from devhost.durable.http_api import ManagementApi
from devhost.durable.instance import Instance, InstanceQuery, InstanceStore, RuntimeStatus
from devhost.durable.retry import RetryTracker, retry_delay
from devhost.function_index import FunctionIndex

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_retry_delay_follows_dtfx_compute_next_delay() -> None:
    assert retry_delay(5000, 0) == timedelta(seconds=5)
    assert retry_delay(5000, 3) == timedelta(seconds=5)  # the SDK sends no back-off: coefficient 1
    assert retry_delay(1000, 3, backoff_coefficient=2) == timedelta(seconds=8)
    assert retry_delay(1000, 10, backoff_coefficient=2, max_retry_interval=timedelta(seconds=30)) == timedelta(
        seconds=30
    )


def test_retry_tracker_is_exhausted_at_max_attempts() -> None:
    tracker = RetryTracker("activity", "flaky", None, first_retry_interval_ms=100, max_attempts=2)
    assert not tracker.exhausted and tracker.next_delay() == timedelta(milliseconds=100)
    tracker.attempt = 2
    assert tracker.exhausted


def _finished(instance_id: str, completed_at: datetime) -> Instance:
    instance = Instance(instance_id, "o", None, created_at=completed_at)
    instance.status, instance.completed_at = RuntimeStatus.Completed, completed_at
    return instance


def test_store_purges_old_finished_instances_and_caps_the_rest() -> None:
    store = InstanceStore(retention=timedelta(hours=1), max_finished=2)
    store.put(_finished("old", NOW - timedelta(hours=2)))
    for n in range(3):
        store.put(_finished(f"new{n}", NOW - timedelta(minutes=10 - n)))
    running = Instance("running", "o", None, created_at=NOW - timedelta(days=3), status=RuntimeStatus.Running)
    store.put(running)

    assert store.purge_expired(NOW) == 2
    assert {i.instance_id for i in store.all()} == {"new1", "new2", "running"}


def test_instance_query_filters() -> None:
    instance = Instance("abc", "o", None, created_at=NOW, status=RuntimeStatus.Running)
    assert InstanceQuery(created_from=NOW - timedelta(1), instance_id_prefix="ab").matches(instance)
    assert not InstanceQuery(statuses=frozenset({RuntimeStatus.Completed})).matches(instance)
    assert not InstanceQuery(created_to=NOW - timedelta(1)).matches(instance)


def test_client_binding_is_what_the_sdk_expects() -> None:
    api = ManagementApi(Engine(FunctionIndex()), "Hub")
    binding = api.client_binding("http://127.0.0.1:7071/")
    parsed = DurableOrchestrationBindings.from_json(json.dumps(binding))

    assert parsed.rpc_base_url == "http://127.0.0.1:7071/runtime/webhooks/durabletask/"
    assert parsed.task_hub_name == "Hub"
    assert parsed.management_urls["id"] == "INSTANCEID"
    assert parsed.management_urls["statusQueryGetUri"] == (
        "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/INSTANCEID?taskHub=Hub&connection=Storage&code=devhost"
    )
    assert "{eventName}" in parsed.management_urls["sendEventPostUri"]
    assert binding["requiredQueryStringParameters"] == "code=devhost"
