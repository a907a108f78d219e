"""Every scenario of the sample app through the engine API, on a VirtualClock (fast, deterministic)."""

from __future__ import annotations

import json
import uuid
import warnings
from datetime import timedelta

import pytest

from devhost.durable import (
    Engine,
    EventType,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    RuntimeStatus,
    UnknownOrchestratorError,
    VirtualClock,
    describe,
)

pytestmark = pytest.mark.filterwarnings("error:Potential duplicate Task completion")


def work(instance) -> str:
    return " ".join(describe(instance.history, episodes=False))


async def run(engine: Engine, name: str, input=None):
    instance_id = engine.start_new(name, input)
    await engine.run_until_idle()
    return engine.get(instance_id)


async def test_fan_out_then_async_follow_up(engine: Engine) -> None:
    instance = await run(engine, "fan_out_then_summarize", ["Tokyo", "Seattle"])

    assert instance.status is RuntimeStatus.Completed
    assert instance.output == {
        "parts": ["Hello Tokyo", "Hello Seattle"],
        "summary": {"joined": "Hello Tokyo | Hello Seattle", "n": 2},
        "replaying_at_end": False,
    }
    assert instance.custom_status == {"stage": "summarize"}
    assert instance.episodes == 3
    assert describe(instance.history) == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled#0",
        "TaskScheduled#1",
        "OrchestratorCompleted",
        "OrchestratorStarted",
        "TaskCompleted#0",
        "TaskCompleted#1",
        "TaskScheduled#2",
        "OrchestratorCompleted",
        "OrchestratorStarted",
        "TaskCompleted#2",
        "ExecutionCompleted",
        "OrchestratorCompleted",
    ]
    started = instance.history[1]
    assert started["Version"] == "" and started["Name"] == "fan_out_then_summarize"
    scheduled = instance.history[2]
    assert scheduled["Name"] == "say_hello" and scheduled["Input"] == '"Tokyo"'
    assert instance.history[6]["Result"] == '"Hello Tokyo"'  # df_dumps text, as the worker encodes it


async def test_caught_activity_failure_reaches_the_orchestrator_as_an_exception(engine: Engine) -> None:
    instance = await run(engine, "caught_failure")

    assert instance.status is RuntimeStatus.Completed
    reason, details = instance.output["caught"].split(" \n ", 1)
    assert reason == "Activity function 'boom' failed: ValueError: boom on A"
    assert json.loads(details)["Message"] == "ValueError: boom on A"
    assert "sample_app.py" in json.loads(details)["StackTrace"]
    assert work(instance) == "ExecutionStarted TaskScheduled#0 TaskFailed#0 ExecutionCompleted"


async def test_uncaught_activity_failure_fails_the_orchestration(engine: Engine) -> None:
    instance = await run(engine, "unhandled_failure")

    assert instance.status is RuntimeStatus.Failed
    assert instance.output.startswith(
        "Orchestrator function 'unhandled_failure' failed: Activity function 'boom' failed: ValueError: boom on B"
    )
    completed = instance.history[-2]
    assert completed["EventType"] == EventType.ExecutionCompleted and completed["OrchestrationStatus"] == "Failed"


async def test_retry_succeeds_on_the_third_attempt_with_host_side_timers(engine: Engine) -> None:
    start = engine.clock.now()
    instance = await run(engine, "retry_succeeds", f"key-{uuid.uuid4()}")

    assert instance.status is RuntimeStatus.Completed
    assert instance.output == "ok after 3 calls"
    assert work(instance) == (
        "ExecutionStarted TaskScheduled#0 TaskFailed#0 TimerCreated#1 TimerFired#1 TaskScheduled#2 "
        "TaskFailed#2 TimerCreated#3 TimerFired#3 TaskScheduled#4 TaskCompleted#4 ExecutionCompleted"
    )
    assert engine.clock.now() - start == timedelta(seconds=10)  # 2 back-offs of 5 s, no real waiting


async def test_retry_exhausts_after_the_extra_timer(engine: Engine) -> None:
    instance = await run(engine, "retry_exhausts")

    assert instance.status is RuntimeStatus.Completed
    assert instance.output["gave_up"].startswith("Activity function 'boom' failed: ValueError: boom on C")
    # a timer after every failed attempt, including the last one (DTFx RetryInterceptor)
    assert work(instance) == (
        "ExecutionStarted TaskScheduled#0 TaskFailed#0 TimerCreated#1 TimerFired#1 TaskScheduled#2 "
        "TaskFailed#2 TimerCreated#3 TimerFired#3 ExecutionCompleted"
    )


async def test_task_all_mixing_a_retried_activity_keeps_ids_consistent(engine: Engine) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        instance = await run(engine, "mixed_task_all", f"key-{uuid.uuid4()}")

    assert instance.status is RuntimeStatus.Completed
    assert instance.output == ["ok after 3 calls", "Hello X", "Hello Y", "Hello Z"]
    assert work(instance).startswith("ExecutionStarted TaskScheduled#0 TaskScheduled#1 TaskScheduled#2 TaskFailed#0")
    assert work(instance).endswith("TaskScheduled#7 TaskCompleted#7 ExecutionCompleted")


async def test_external_event_wins_against_the_timer(engine: Engine) -> None:
    start = engine.clock.now()
    instance_id = engine.start_new("approval")
    await engine.run_until_idle(advance_time=False)
    assert engine.get(instance_id).status is RuntimeStatus.Running

    engine.raise_event(instance_id, "approval", {"by": "alice"})
    await engine.run_until_idle()

    instance = engine.get(instance_id)
    assert instance.output == {"approved": {"by": "alice"}}
    assert engine.clock.now() == start  # the cancelled timer never made time move
    assert work(instance) == "ExecutionStarted TimerCreated#0 EventRaised(approval) ExecutionCompleted"


async def test_timer_wins_when_nobody_answers(engine: Engine) -> None:
    start = engine.clock.now()
    instance = await run(engine, "approval")

    assert instance.output == {"timed_out": True, "at": (start + timedelta(hours=1)).isoformat()}
    assert work(instance) == "ExecutionStarted TimerCreated#0 TimerFired#0 ExecutionCompleted"


async def test_sub_orchestrations_fan_out(engine: Engine) -> None:
    instance = await run(engine, "parent_fan_out")

    assert instance.output == ["Hello child-0", "Hello child-1", "Hello child-2"]
    children = [engine.get(f"{instance.instance_id}:{i}") for i in range(3)]
    assert all(c.status is RuntimeStatus.Completed and c.parent.instance_id == instance.instance_id for c in children)
    assert work(instance) == (
        "ExecutionStarted SubOrchestrationInstanceCreated#0 SubOrchestrationInstanceCreated#1 "
        "SubOrchestrationInstanceCreated#2 SubOrchestrationInstanceCompleted#0 SubOrchestrationInstanceCompleted#1 "
        "SubOrchestrationInstanceCompleted#2 ExecutionCompleted"
    )


async def test_failing_sub_orchestration_reaches_the_parent(engine: Engine) -> None:
    instance = await run(engine, "parent_with_failing_child")

    assert instance.output["child_failed"].startswith("Orchestrator function 'child' failed: bad child")
    assert engine.get(f"{instance.instance_id}:0").status is RuntimeStatus.Failed


async def test_sub_orchestrator_with_retry(engine: Engine) -> None:
    instance = await run(engine, "parent_retry_child", f"key-{uuid.uuid4()}")

    assert instance.output == "ok after 3 calls"
    assert work(instance) == (
        "ExecutionStarted SubOrchestrationInstanceCreated#0 SubOrchestrationInstanceFailed#0 TimerCreated#1 "
        "TimerFired#1 SubOrchestrationInstanceCreated#2 SubOrchestrationInstanceFailed#2 TimerCreated#3 "
        "TimerFired#3 SubOrchestrationInstanceCreated#4 SubOrchestrationInstanceCompleted#4 ExecutionCompleted"
    )
    attempts = [engine.get(f"{instance.instance_id}:{i}").status for i in (0, 2, 4)]
    assert attempts == [RuntimeStatus.Failed, RuntimeStatus.Failed, RuntimeStatus.Completed]


async def test_continue_as_new_loop_keeps_only_the_last_execution(engine: Engine) -> None:
    instance = await run(engine, "counter_loop")

    assert instance.output == "finished at 3"
    assert instance.episodes == 7
    assert instance.input == "3"
    assert work(instance) == "ExecutionStarted ExecutionCompleted"


async def test_continue_as_new_with_events_across_executions(engine: Engine) -> None:
    instance_id = engine.start_new("loop_waiting_for_events")
    for item in ("a", "b"):
        await engine.run_until_idle()
        engine.raise_event(instance_id, "item", item)
    await engine.run_until_idle()

    assert engine.get(instance_id).output == ["a", "b"]


async def test_custom_status_follows_the_latest_episode(engine: Engine) -> None:
    instance_id = engine.start_new("fan_out_then_summarize", ["A"])
    await engine._pump()  # first episode only; the activity is still running
    assert engine.get(instance_id).custom_status == {"stage": "fan-out"}
    await engine.run_until_idle()
    assert engine.get(instance_id).custom_status == {"stage": "summarize"}


async def test_non_deterministic_orchestrator_fails_with_a_clear_reason(engine: Engine) -> None:
    instance = await run(engine, "non_deterministic")

    assert instance.status is RuntimeStatus.Failed
    assert "Non-Deterministic workflow detected: action #0 was CallActivity(say_hello)" in instance.output


async def test_dtfx_determinism_mode_checks_only_names(index) -> None:
    engine = Engine(index, clock=VirtualClock(), determinism="dtfx")
    instance = await run(engine, "non_deterministic")
    await engine.stop()

    assert instance.status is RuntimeStatus.Completed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("uses_entities", "CallEntity is not supported by devhost"),
        ("calls_unknown_activity", "The function 'no_such_activity' doesn't exist, is disabled, or is not an activity"),
    ],
)
async def test_unsupported_or_unknown_calls_fail_the_orchestration(engine: Engine, name: str, expected: str) -> None:
    instance = await run(engine, name)

    assert instance.status is RuntimeStatus.Failed
    assert expected in instance.output


async def test_terminate_a_waiting_instance(engine: Engine) -> None:
    instance_id = engine.start_new("approval")
    await engine.run_until_idle(advance_time=False)

    engine.terminate(instance_id, "no longer needed")
    await engine.run_until_idle()

    instance = engine.get(instance_id)
    assert instance.status is RuntimeStatus.Terminated
    assert instance.output == "no longer needed"
    assert instance.timers == {}
    with pytest.raises(InstanceGoneError):
        engine.raise_event(instance_id, "approval", True)


async def test_instance_ids_are_unique_while_running_and_reusable_afterwards(engine: Engine) -> None:
    engine.start_new("approval", instance_id="fixed")
    with pytest.raises(InstanceAlreadyExistsError, match="status Pending already exists"):
        engine.start_new("approval", instance_id="fixed")
    await engine.run_until_idle()

    engine.start_new("fan_out_then_summarize", ["again"], instance_id="fixed")
    await engine.run_until_idle()
    assert engine.get("fixed").output["parts"] == ["Hello again"]


async def test_unknown_orchestrator_is_rejected_with_the_extensions_message(engine: Engine) -> None:
    with pytest.raises(UnknownOrchestratorError, match="The following are the known orchestrator functions"):
        engine.start_new("does_not_exist")


async def test_finished_instances_are_purged_after_the_retention(engine: Engine) -> None:
    instance = await run(engine, "caught_failure")
    engine.clock.advance(timedelta(hours=25))
    await engine.run_until_idle()

    assert engine.get(instance.instance_id) is None


async def test_background_loop_runs_work_without_explicit_driving(index) -> None:
    engine = Engine(index, clock=VirtualClock())
    await engine.start()
    try:
        instance_id = engine.start_new("retry_succeeds", f"key-{uuid.uuid4()}")
        instance = await engine.wait_for_finish(instance_id, timeout=5)
    finally:
        await engine.stop()

    assert instance.output == "ok after 3 calls"
