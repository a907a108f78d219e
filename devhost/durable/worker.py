"""The Python-worker side of an invocation, done the way the worker does it.

Orchestrators get the host-shaped trigger JSON through the SDK's ``OrchestrationTriggerConverter``
and answer with ``OrchestratorState`` JSON (or raise with ``$OutOfProcData$``). Activities get
their input through ``ActivityTriggerConverter.decode`` and their result goes back through
``ActivityTriggerConverter.encode`` — the same ``df_loads``/``df_dumps`` codec as production.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter

from .history import HistoryEvent

OUT_OF_PROC_MARKER = "$OutOfProcData$:"

# What the current Durable extension advertises: V2 (1) as the legacy field, V3 (2) as the new one.
UPPER_SCHEMA_VERSION = 1
UPPER_SCHEMA_VERSION_NEW = 2


def orchestration_payload(
    *,
    instance_id: str,
    history: list[HistoryEvent],
    input_token: Any,
    parent_instance_id: str | None,
) -> str:
    """The trigger JSON, shaped like ``OrchestrationTriggerAttributeBindingProvider``.

    The long-timer settings are deliberately absent: devhost does not split long timers.
    """
    return json.dumps(
        {
            "history": history,
            "input": input_token,
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": parent_instance_id,
            "upperSchemaVersion": UPPER_SCHEMA_VERSION,
            "upperSchemaVersionNew": UPPER_SCHEMA_VERSION_NEW,
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
    )


@dataclass(frozen=True)
class EpisodeResult:
    """The decoded ``OrchestratorState``; ``error`` is set when the orchestrator failed."""

    state: dict[str, Any]
    error: str | None = None

    @property
    def is_done(self) -> bool:
        return bool(self.state.get("isDone"))

    @property
    def actions(self) -> list[Any]:
        return self.state.get("actions") or []


def run_orchestrator(handle: Any, payload: str) -> EpisodeResult:
    """Call the registered orchestrator handle as the worker would, and decode its answer."""
    context = OrchestrationTriggerConverter.decode(meta.Datum(payload, "string"), trigger_metadata=None)
    try:
        returned = handle(context)
    except Exception as exc:  # the SDK reports orchestrator failures by raising
        message = str(exc)
        marker = message.find(OUT_OF_PROC_MARKER)
        if marker < 0:
            return EpisodeResult(state={"isDone": False, "actions": []}, error=message or type(exc).__name__)
        state = json.loads(message[marker + len(OUT_OF_PROC_MARKER) :])
        return EpisodeResult(state=state, error=state.get("error") or message[:marker].strip())
    state = json.loads(returned) if isinstance(returned, str | bytes) else returned
    return EpisodeResult(state=state)


@dataclass(frozen=True)
class ActivityResult:
    result: str | None = None  # df_dumps text, the TaskCompleted ``Result``
    reason: str | None = None
    details: str | None = None

    @property
    def failed(self) -> bool:
        return self.reason is not None


async def run_activity(
    name: str, function: Any, trigger_arg: str, is_async: bool, input_text: str | None, executor: Executor
) -> ActivityResult:
    """Invoke one activity: sync functions in the thread pool, coroutines on the loop."""
    try:
        value = ActivityTriggerConverter.decode(meta.Datum(input_text or "null", "json"), trigger_metadata=None)
        if is_async:
            returned = await function(**{trigger_arg: value})
        else:
            loop = asyncio.get_running_loop()
            returned = await loop.run_in_executor(executor, lambda: function(**{trigger_arg: value}))
        encoded = ActivityTriggerConverter.encode(returned, expected_type=None)
        return ActivityResult(result=encoded.value)
    except Exception as exc:
        return activity_failure(name, exc)


def _user_stack(exc: BaseException) -> str:
    """The traceback without devhost's own frames, so Details points at the activity code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return "".join(traceback.format_list(frames)).strip()


def activity_failure(name: str, exc: BaseException) -> ActivityResult:
    """Reason modelled on ``TaskActivityShim``; Details is a small JSON, not a .NET exception."""
    reason = f"Activity function '{name}' failed: {type(exc).__name__}: {exc}"
    details = json.dumps(
        {
            "Message": f"{type(exc).__name__}: {exc}",
            "ExceptionType": type(exc).__qualname__,
            "StackTrace": _user_stack(exc),
        }
    )
    return ActivityResult(reason=reason, details=details)
