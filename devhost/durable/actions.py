"""Reading the ``actions`` an orchestrator episode returns.

With replay schema V2/V3 the SDK re-sends *all* actions since the execution started as
``[[a0, a1, ...]]`` with ``task_all``/``task_any`` as compound WhenAll/WhenAny actions; V1 sends
one list per episode with compounds already flat. Flattening both depth-first gives the order in
which the host's shim calls DTFx, which is the order DTFx numbers the tasks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from dateutil.parser import isoparse


class ActionType(IntEnum):
    CallActivity = 0
    CallActivityWithRetry = 1
    CallSubOrchestrator = 2
    CallSubOrchestratorWithRetry = 3
    ContinueAsNew = 4
    CreateTimer = 5
    WaitForExternalEvent = 6
    CallEntity = 7
    CallHttp = 8
    SignalEntity = 9
    ScheduledSignalEntity = 10
    WhenAny = 11
    WhenAll = 12


COMPOUND = frozenset({ActionType.WhenAny, ActionType.WhenAll})
UNSUPPORTED = frozenset(
    {ActionType.CallEntity, ActionType.CallHttp, ActionType.SignalEntity, ActionType.ScheduledSignalEntity}
)
# Actions that consume a sequence number on both sides (SDK ``_sequence_number``, DTFx event id).
NUMBERED = frozenset(ActionType) - COMPOUND - {ActionType.WaitForExternalEvent}


@dataclass(frozen=True)
class Action:
    """One leaf action, with typed accessors over the raw JSON the SDK produced."""

    raw: dict[str, Any]

    @property
    def type(self) -> ActionType:
        return ActionType(self.raw["actionType"])

    @property
    def function_name(self) -> str:
        return str(self.raw.get("functionName", ""))

    @property
    def input(self) -> str | None:
        return self.raw.get("input")

    @property
    def instance_id(self) -> str | None:
        return self.raw.get("instanceId")

    @property
    def version(self) -> str:
        return self.raw.get("version") or ""

    @property
    def event_name(self) -> str:
        return str(self.raw.get("externalEventName", ""))

    @property
    def is_canceled(self) -> bool:
        return bool(self.raw.get("isCanceled", False))

    @property
    def fire_at(self) -> datetime:
        moment = isoparse(self.raw["fireAt"])
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @property
    def retry_options(self) -> tuple[int, int] | None:
        options = self.raw.get("retryOptions")
        if not options:
            return None
        return int(options["firstRetryIntervalInMilliseconds"]), int(options["maxNumberOfAttempts"])

    @property
    def is_numbered(self) -> bool:
        return self.type in NUMBERED

    def signature(self, mode: str) -> tuple[Any, ...]:
        """What replay must reproduce. ``strict``: everything but timer cancellation;
        ``dtfx``: type and name only, which is all DTFx itself checks."""
        if mode == "dtfx":
            return (self.type, self.function_name or self.event_name)
        data = {k: v for k, v in self.raw.items() if k != "isCanceled"}
        return (self.type, json.dumps(data, sort_keys=True))

    def describe(self) -> str:
        name = self.function_name or self.event_name
        return f"{self.type.name}({name})" if name else self.type.name


def flatten_actions(actions: list[Any]) -> list[Action]:
    """All leaf actions, depth-first, from a V1 (list per episode) or V2/V3 (``[[...]]``) payload."""
    leaves: list[Action] = []

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                visit(child)
            return
        if ActionType(node["actionType"]) in COMPOUND:
            visit(node.get("compoundActions") or [])
        else:
            leaves.append(Action(node))

    visit(actions or [])
    return leaves
