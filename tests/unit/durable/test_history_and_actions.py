from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.ReplaySchema import ReplaySchema

from devhost.durable import history as h
from devhost.durable.actions import ActionType, flatten_actions
from devhost.durable.worker import OUT_OF_PROC_MARKER, orchestration_payload, run_orchestrator

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_timestamps_are_utc_with_microseconds_and_z() -> None:
    assert h.format_timestamp(NOW) == "2024-01-01T00:00:00.000000Z"
    assert h.format_timestamp(datetime(2024, 1, 1, 3, 0)) == "2024-01-01T03:00:00.000000Z"


def test_describe_numbers_scheduling_and_completion_events() -> None:
    events = [
        h.orchestrator_started(NOW),
        h.execution_started(NOW, "o", None, ""),
        h.task_scheduled(NOW, 0, "a", '"x"'),
        h.task_failed(NOW, 0, "r", "{}"),
        h.timer_created(NOW, 1, NOW),
        h.timer_fired(NOW, 1, NOW),
        h.event_raised(NOW, "go", "1"),
        h.orchestrator_completed(NOW),
    ]
    assert h.describe(events) == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled#0",
        "TaskFailed#0",
        "TimerCreated#1",
        "TimerFired#1",
        "EventRaised(go)",
        "OrchestratorCompleted",
    ]
    assert h.describe(events, episodes=False)[0] == "ExecutionStarted"


def test_played_marks_copies_only() -> None:
    event = h.orchestrator_started(NOW)
    assert h.played([event])[0]["IsPlayed"] is True
    assert event["IsPlayed"] is False


def test_payload_is_accepted_by_the_sdk_with_the_current_hosts_schema() -> None:
    payload = orchestration_payload(
        instance_id="i",
        history=[h.orchestrator_started(NOW), h.execution_started(NOW, "o", '"in"', "1.0")],
        input_token='"in"',
        parent_instance_id=None,
    )
    context = DurableOrchestrationContext.from_json(payload)
    assert context._replay_schema is ReplaySchema.V3
    assert context.version == "1.0"
    assert context.get_input() == "in"
    assert context.current_utc_datetime == NOW


def test_execution_started_without_version_breaks_the_sdk() -> None:
    started = h.execution_started(NOW, "o", None, "")
    del started["Version"]
    payload = orchestration_payload(
        instance_id="i", history=[h.orchestrator_started(NOW), started], input_token=None, parent_instance_id=None
    )
    with pytest.raises(AttributeError, match="Version"):
        DurableOrchestrationContext.from_json(payload)


V2_ACTIONS = [
    [
        {
            "actionType": 12,
            "compoundActions": [
                {"actionType": 0, "functionName": "say_hello", "input": '"Tokyo"'},
                {
                    "actionType": 1,
                    "functionName": "flaky",
                    "input": '"k"',
                    "retryOptions": {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3},
                },
            ],
        },
        {
            "actionType": 11,
            "compoundActions": [
                {"actionType": 6, "externalEventName": "approval", "reason": "ExternalEvent"},
                {"actionType": 5, "fireAt": "2024-01-01T01:00:00.000000Z", "isCanceled": False},
            ],
        },
    ]
]


def test_flatten_v2_compound_actions_depth_first() -> None:
    leaves = flatten_actions(V2_ACTIONS)
    assert [a.type for a in leaves] == [
        ActionType.CallActivity,
        ActionType.CallActivityWithRetry,
        ActionType.WaitForExternalEvent,
        ActionType.CreateTimer,
    ]
    assert leaves[1].retry_options == (5000, 3)
    assert leaves[3].fire_at == NOW + timedelta(hours=1)
    assert [a.is_numbered for a in leaves] == [True, True, False, True]


def test_flatten_v1_lists_per_episode() -> None:
    v1 = [
        [{"actionType": 0, "functionName": "a", "input": "1"}],
        [{"actionType": 0, "functionName": "b", "input": "2"}, {"actionType": 0, "functionName": "c", "input": "3"}],
    ]
    assert [a.function_name for a in flatten_actions(v1)] == ["a", "b", "c"]


def test_signatures_ignore_timer_cancellation_and_dtfx_mode_ignores_inputs() -> None:
    timer = flatten_actions(V2_ACTIONS)[3]
    cancelled = flatten_actions([[{**timer.raw, "isCanceled": True}]])[0]
    assert timer.signature("strict") == cancelled.signature("strict")
    one, other = flatten_actions(
        [[{"actionType": 0, "functionName": "a", "input": "1"}, {"actionType": 0, "functionName": "a", "input": "2"}]]
    )
    assert one.signature("strict") != other.signature("strict")
    assert one.signature("dtfx") == other.signature("dtfx")


def test_run_orchestrator_extracts_the_state_from_out_of_proc_data() -> None:
    state = {"isDone": False, "actions": [[]], "error": "boom"}

    def failing(context):
        raise Exception(f"boom\n\n{OUT_OF_PROC_MARKER}{json.dumps(state)}")

    result = run_orchestrator(
        failing, orchestration_payload(instance_id="i", history=[], input_token=None, parent_instance_id=None)
    )
    assert result.error == "boom"
    assert result.state == state
