"""Orchestration instance state and the in-memory instance store.

State lives in memory only, like the Durable extension's in-memory storage provider: restarting
devhost loses every in-flight instance. That is fine for a dev host. To keep a long dev session
from growing without bound, finished instances are purged after a retention period and beyond a
maximum count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .history import HistoryEvent
from .retry import RetryTracker


class RuntimeStatus(StrEnum):
    Pending = "Pending"
    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Suspended = "Suspended"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Canceled, RuntimeStatus.Terminated})


@dataclass(frozen=True)
class ParentLink:
    """Where a sub-orchestration reports back: the parent's task id in a given parent execution."""

    instance_id: str
    task_id: int
    generation: int


@dataclass
class Instance:
    instance_id: str
    name: str
    input: Any  # the JSON token the host stores; for SDK clients, the df_dumps text (a str)
    created_at: datetime
    version: str = ""
    parent: ParentLink | None = None
    status: RuntimeStatus = RuntimeStatus.Pending
    last_updated_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    custom_status: Any = None
    history: list[HistoryEvent] = field(default_factory=list)
    inbox: list[HistoryEvent] = field(default_factory=list)
    episodes: int = 0
    # Bumped by continue-as-new and by re-creation with the same id, so late results of an
    # older execution are dropped instead of leaking into the new one.
    generation: int = 0
    next_id: int = 0
    seen_actions: list[Any] = field(default_factory=list)  # actions.Action, in DTFx order
    action_ids: list[int | None] = field(default_factory=list)  # parallel to seen_actions
    timers: dict[int, datetime] = field(default_factory=dict)
    retry_by_task: dict[int, RetryTracker] = field(default_factory=dict)
    retry_by_timer: dict[int, RetryTracker] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def reset_execution(self, generation: int) -> None:
        """Start a fresh execution (continue-as-new): new history and numbering, same id."""
        self.generation = generation
        self.history = []
        self.next_id = 0
        self.seen_actions = []
        self.action_ids = []
        self.timers = {}
        self.retry_by_task = {}
        self.retry_by_timer = {}


@dataclass(frozen=True)
class InstanceQuery:
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: frozenset[RuntimeStatus] | None = None
    instance_id_prefix: str | None = None

    def matches(self, instance: Instance) -> bool:
        if self.created_from is not None and instance.created_at < self.created_from:
            return False
        if self.created_to is not None and instance.created_at > self.created_to:
            return False
        if self.statuses and instance.status not in self.statuses:
            return False
        return not (self.instance_id_prefix and not instance.instance_id.startswith(self.instance_id_prefix))


class InstanceStore:
    """Instances by id, in creation order, with bounded retention of finished ones."""

    def __init__(self, *, retention: timedelta = timedelta(hours=24), max_finished: int = 5000) -> None:
        self._instances: dict[str, Instance] = {}
        self.retention = retention
        self.max_finished = max_finished

    def __contains__(self, instance_id: str) -> bool:
        return instance_id in self._instances

    def __len__(self) -> int:
        return len(self._instances)

    def get(self, instance_id: str) -> Instance | None:
        return self._instances.get(instance_id)

    def put(self, instance: Instance) -> None:
        self._instances.pop(instance.instance_id, None)  # re-insert at the end: creation order
        self._instances[instance.instance_id] = instance

    def delete(self, instance_id: str) -> bool:
        return self._instances.pop(instance_id, None) is not None

    def all(self) -> Iterable[Instance]:
        return list(self._instances.values())

    def query(self, query: InstanceQuery) -> list[Instance]:
        return [i for i in self._instances.values() if query.matches(i)]

    def purge_expired(self, now: datetime) -> int:
        """Drop finished instances older than the retention, then the oldest beyond the cap."""
        finished = [i for i in self._instances.values() if i.is_terminal]
        doomed = {i.instance_id for i in finished if i.completed_at and now - i.completed_at > self.retention}
        survivors = [i for i in finished if i.instance_id not in doomed]
        overflow = len(survivors) - self.max_finished
        if overflow > 0:
            survivors.sort(key=lambda i: i.completed_at or i.created_at)
            doomed.update(i.instance_id for i in survivors[:overflow])
        for instance_id in doomed:
            del self._instances[instance_id]
        return len(doomed)
