"""Builders for host-shaped history events, as the Durable extension serialises them.

The field names and numbering follow DTFx (``DurableTask.Core.History``) as seen by
azure-functions-durable 1.7.0: completion events carry ``TaskScheduledId``/``TimerId``/``Name``,
scheduling events carry their sequence number in ``EventId``, everything else has ``EventId -1``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

HistoryEvent = dict[str, Any]


class EventType(IntEnum):
    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z``, the format the SDK itself emits and parses."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(event_type: EventType, now: datetime, event_id: int = -1, **fields: Any) -> HistoryEvent:
    return {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(now),
        **fields,
    }


def orchestrator_started(now: datetime) -> HistoryEvent:
    return _event(EventType.OrchestratorStarted, now)


def orchestrator_completed(now: datetime) -> HistoryEvent:
    return _event(EventType.OrchestratorCompleted, now)


def execution_started(
    now: datetime, name: str, input_token: Any, version: str, parent_instance_id: str | None = None
) -> HistoryEvent:
    # ``Version`` is mandatory: 1.7.0 reads ``event.Version`` unguarded.
    return _event(
        EventType.ExecutionStarted,
        now,
        Name=name,
        Input=None if input_token is None else json.dumps(input_token),
        Version=version,
        ParentInstance=parent_instance_id,
    )


def execution_completed(now: datetime, status: str, result: str | None, failure: str | None = None) -> HistoryEvent:
    fields: dict[str, Any] = {"OrchestrationStatus": status, "Result": result}
    if failure is not None:
        fields["FailureDetails"] = failure
    return _event(EventType.ExecutionCompleted, now, **fields)


def execution_terminated(now: datetime, reason: str | None) -> HistoryEvent:
    return _event(EventType.ExecutionTerminated, now, Input=reason)


def task_scheduled(now: datetime, task_id: int, name: str, input_text: str | None) -> HistoryEvent:
    return _event(EventType.TaskScheduled, now, task_id, Name=name, Input=input_text, Version="")


def task_completed(now: datetime, scheduled_id: int, result: str | None) -> HistoryEvent:
    return _event(EventType.TaskCompleted, now, TaskScheduledId=scheduled_id, Result=result)


def task_failed(now: datetime, scheduled_id: int, reason: str, details: str) -> HistoryEvent:
    return _event(EventType.TaskFailed, now, TaskScheduledId=scheduled_id, Reason=reason, Details=details)


def timer_created(now: datetime, timer_id: int, fire_at: datetime) -> HistoryEvent:
    return _event(EventType.TimerCreated, now, timer_id, FireAt=format_timestamp(fire_at))


def timer_fired(now: datetime, timer_id: int, fire_at: datetime) -> HistoryEvent:
    return _event(EventType.TimerFired, now, TimerId=timer_id, FireAt=format_timestamp(fire_at))


def sub_orchestration_created(
    now: datetime, task_id: int, name: str, instance_id: str, input_text: str | None
) -> HistoryEvent:
    return _event(
        EventType.SubOrchestrationInstanceCreated,
        now,
        task_id,
        Name=name,
        InstanceId=instance_id,
        Input=input_text,
        Version="",
    )


def sub_orchestration_completed(now: datetime, scheduled_id: int, result: str | None) -> HistoryEvent:
    return _event(EventType.SubOrchestrationInstanceCompleted, now, TaskScheduledId=scheduled_id, Result=result)


def sub_orchestration_failed(now: datetime, scheduled_id: int, reason: str, details: str) -> HistoryEvent:
    return _event(
        EventType.SubOrchestrationInstanceFailed, now, TaskScheduledId=scheduled_id, Reason=reason, Details=details
    )


def event_raised(now: datetime, name: str, input_text: str | None) -> HistoryEvent:
    return _event(EventType.EventRaised, now, Name=name, Input=input_text)


def continue_as_new(now: datetime, input_text: str | None) -> HistoryEvent:
    return _event(EventType.ContinueAsNew, now, Result=input_text)


def played(events: list[HistoryEvent]) -> list[HistoryEvent]:
    """Copies marked ``IsPlayed`` — how the host flags events from earlier episodes."""
    return [{**e, "IsPlayed": True} for e in events]


def task_key(event: HistoryEvent) -> int | str | None:
    """The id the SDK uses to match an event to a task (None for bookkeeping events)."""
    kind = event["EventType"]
    if kind in (EventType.TaskScheduled, EventType.TimerCreated, EventType.SubOrchestrationInstanceCreated):
        return event["EventId"]
    if kind in (
        EventType.TaskCompleted,
        EventType.TaskFailed,
        EventType.SubOrchestrationInstanceCompleted,
        EventType.SubOrchestrationInstanceFailed,
    ):
        return event["TaskScheduledId"]
    if kind == EventType.TimerFired:
        return event["TimerId"]
    if kind == EventType.EventRaised:
        return event["Name"]
    return None


def describe(history: list[HistoryEvent], *, episodes: bool = True) -> list[str]:
    """Compact shape such as ``["TaskScheduled#0", "TaskFailed#0", "TimerCreated#1", ...]``.

    ``episodes=False`` drops the OrchestratorStarted/Completed markers to compare just the work.
    """
    shape: list[str] = []
    for event in history:
        kind = EventType(event["EventType"])
        if not episodes and kind in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        key = task_key(event)
        if key is None:
            shape.append(kind.name)
        elif isinstance(key, str):
            shape.append(f"{kind.name}({key})")
        else:
            shape.append(f"{kind.name}#{key}")
    return shape
