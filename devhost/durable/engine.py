"""The replay driver: runs orchestrators through the SDK's own code, episode by episode.

One *episode* is what the Durable extension does per orchestrator work item: take new events
from the instance's inbox, send the whole history (old events ``IsPlayed``) to the registered
orchestrator handle, read back the actions, and turn the ones not seen before into history events
numbered like DTFx (one sequence number per activity, timer, sub-orchestration and
continue-as-new; none for external events; compound WhenAll/WhenAny flattened depth-first).

Everything runs on one asyncio loop: episodes synchronously on the loop thread, async activities
as tasks on the loop, sync activities in a thread pool. Call the public methods from that loop
(aiohttp handlers do); they only touch memory and wake the background task.

Why retry-related events are delivered alone: the SDK numbers retry timers and re-scheduled
attempts while it replays events, but numbers newly yielded tasks when the generator resumes. If a
retried failure shared an episode with an event that resumes the generator, the order of those two
numberings is invisible in the actions JSON. Delivering such events one per episode makes the two
counters agree by construction; the real host batches arbitrarily, so correct orchestrators accept
any batching.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from azure.durable_functions.models.utils.df_serialization import df_dumps

from devhost.function_index import FunctionIndex

from . import history as h
from .actions import UNSUPPORTED, Action, ActionType, flatten_actions
from .clock import Clock, RealClock
from .errors import (
    NOT_SUPPORTED,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFinishedError,
    InstanceNotFoundError,
    UnknownOrchestratorError,
    unknown_function_message,
)
from .history import EventType, HistoryEvent
from .instance import Instance, InstanceQuery, InstanceStore, ParentLink, RuntimeStatus
from .retry import RetryTracker
from .worker import ActivityResult, EpisodeResult, orchestration_payload, run_activity, run_orchestrator

log = logging.getLogger("devhost.durable")

DETERMINISM_MODES = ("strict", "dtfx", "off")


class _EpisodeFailure(Exception):
    """Raised while applying actions when the orchestration must fail (unknown function, ...)."""


class Engine:
    def __init__(
        self,
        index: FunctionIndex,
        *,
        clock: Clock | None = None,
        activity_workers: int = 8,
        determinism: str = "strict",
        store: InstanceStore | None = None,
    ) -> None:
        if determinism not in DETERMINISM_MODES:
            raise ValueError(f"determinism must be one of {DETERMINISM_MODES}")
        self.index = index
        self.clock: Clock = clock or RealClock()
        self.determinism = determinism
        self.store = store or InstanceStore()
        self._activity_workers = activity_workers
        self._executor: ThreadPoolExecutor | None = None
        self._ready: dict[str, None] = {}  # ordered set of instance ids with work to do
        self._inflight: set[asyncio.Task[None]] = set()
        self._results: list[tuple[str, int, int, ActivityResult]] = []  # finished activities, not yet delivered
        self._wake = asyncio.Event()
        self._serve_task: asyncio.Task[None] | None = None
        self._generations = itertools.count(1)

    # ------------------------------------------------------------------ public API

    def start_new(self, name: str, input: Any = None, instance_id: str | None = None, *, version: str = "") -> str:
        """Start an orchestration the way ``DurableOrchestrationClient.start_new`` does
        (the input is stored as its ``df_dumps`` text)."""
        token = None if input is None else df_dumps(input)
        return self.create_instance(name, token, instance_id, version=version).instance_id

    def create_instance(
        self,
        name: str,
        input_token: Any,
        instance_id: str | None = None,
        *,
        version: str = "",
        parent: ParentLink | None = None,
    ) -> Instance:
        """Create an instance with ``input_token`` stored as-is (the JSON token the host keeps)."""
        if name not in self.index.orchestrators:
            raise UnknownOrchestratorError(
                unknown_function_message(name, "orchestrator", list(self.index.orchestrators))
            )
        instance_id = instance_id or uuid.uuid4().hex
        existing = self.store.get(instance_id)
        if existing is not None and not existing.is_terminal:
            raise InstanceAlreadyExistsError(
                f"An Orchestration instance with the status {existing.status.value} already exists."
            )
        now = self.clock.now()
        instance = Instance(
            instance_id=instance_id,
            name=name,
            input=input_token,
            created_at=now,
            last_updated_at=now,
            version=version,
            parent=parent,
            generation=next(self._generations),
        )
        self.store.put(instance)
        self._mark_ready(instance)
        return instance

    def get(self, instance_id: str) -> Instance | None:
        return self.store.get(instance_id)

    def query(self, query: InstanceQuery | None = None) -> list[Instance]:
        return self.store.query(query or InstanceQuery())

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver an external event whose payload is ``data`` (as a plain JSON body would be)."""
        self.raise_event_json(instance_id, name, json.dumps(data))

    def raise_event_json(self, instance_id: str, name: str, input_text: str) -> None:
        """Deliver an external event whose ``EventRaised.Input`` is exactly ``input_text``."""
        instance = self._require_running(instance_id)
        instance.inbox.append(h.event_raised(self.clock.now(), name, input_text))
        self._mark_ready(instance)

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        instance = self._require_running(instance_id)
        now = self.clock.now()
        instance.history += [
            h.orchestrator_started(now),
            h.execution_terminated(now, reason),
            h.execution_completed(now, RuntimeStatus.Terminated.value, json.dumps(reason)),
            h.orchestrator_completed(now),
        ]
        self._finish(instance, RuntimeStatus.Terminated, reason, now)

    def purge(self, instance_id: str) -> None:
        instance = self.store.get(instance_id)
        if instance is None:
            raise InstanceNotFoundError(instance_id)
        if not instance.is_terminal:
            raise InstanceNotFinishedError(
                "Only orchestrations in a terminal state can be purged, but the orchestration with instance ID "
                f"{instance_id} has status {instance.status.value}"
            )
        self.store.delete(instance_id)

    def purge_where(self, query: InstanceQuery) -> int:
        """Purge finished instances matching ``query``; running ones are never purged."""
        doomed = [i.instance_id for i in self.store.query(query) if i.is_terminal]
        for instance_id in doomed:
            self.store.delete(instance_id)
        return len(doomed)

    async def run_until_idle(self, *, advance_time: bool = True, max_rounds: int = 100_000) -> None:
        """Drive every instance until nothing can progress.

        With ``advance_time`` pending timers (and retry back-offs) are waited for — instantly on a
        ``VirtualClock``; without it the call returns as soon as only timers are left, which lets a
        test raise an event "before the timer fires". If the background loop is running, this only
        waits for it to settle.
        """
        if self._serve_task is not None:
            while not self._is_settled(advance_time):
                await asyncio.sleep(0.005)
            return
        for _ in range(max_rounds):
            await self._pump()
            if self._inflight:
                # On a virtual clock wait for every running activity, so batching (and thus the
                # history) does not depend on thread timing.
                when = asyncio.ALL_COMPLETED if self.clock.is_virtual else asyncio.FIRST_COMPLETED
                await asyncio.wait(set(self._inflight), return_when=when)
                continue
            due = self._next_timer_due()
            if due is None or not advance_time:
                self._collect_garbage()
                return
            self._wake.clear()  # nothing is ready: only the timer can wake us
            await self.clock.sleep_until(due, self._wake)
        raise RuntimeError(f"durable engine did not settle after {max_rounds} rounds")

    async def wait_for_finish(self, instance_id: str, timeout: float = 10.0) -> Instance:
        """Wait (in real time) until the instance is finished; for tests and the create-and-wait API."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            instance = self.store.get(instance_id)
            if instance is None:
                raise InstanceNotFoundError(instance_id)
            if instance.is_terminal or loop.time() >= deadline:
                return instance
            await asyncio.sleep(0.01)

    async def start(self) -> None:
        """Run the engine as a background task that wakes on new work and on due timers."""
        if self._serve_task is None:
            self._serve_task = asyncio.get_running_loop().create_task(self._serve(), name="devhost-durable-engine")

    async def stop(self, grace_period: float = 5.0) -> None:
        """Stop the loop; give running activities ``grace_period`` seconds, then cancel them."""
        task, self._serve_task = self._serve_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=grace_period)
            for job in pending:
                job.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # ------------------------------------------------------------------ loop

    async def _serve(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._pump()
                self._collect_garbage()
            except Exception:  # never let an engine bug kill the dev server silently
                log.exception("durable engine loop failed; continuing")
                await asyncio.sleep(0.1)
                continue
            due = self._next_timer_due()
            if due is None or (self._inflight and self.clock.is_virtual):
                await self._wake.wait()
            else:
                await self.clock.sleep_until(due, self._wake)

    async def _pump(self) -> None:
        while self._pump_pass():
            await asyncio.sleep(0)  # let freshly spawned activities start

    def _pump_pass(self) -> bool:
        self._deliver_results()
        self._fire_due_timers()
        if not self._ready:
            return False
        ids = list(self._ready)
        self._ready.clear()
        for instance_id in ids:
            instance = self.store.get(instance_id)
            if instance is None or instance.is_terminal:
                continue
            if instance.history and not instance.inbox:
                continue
            try:
                self._run_episode(instance)
            except Exception as exc:
                log.exception("devhost failed to run an episode of %s", instance_id)
                self._fail(instance, f"devhost internal error: {type(exc).__name__}: {exc}", self.clock.now())
            if instance.inbox and not instance.is_terminal:
                self._ready[instance_id] = None
        return True

    def _is_settled(self, advance_time: bool) -> bool:
        if self._ready or self._inflight or self._results:
            return False
        return not advance_time or self._next_timer_due() is None

    def _mark_ready(self, instance: Instance) -> None:
        self._ready[instance.instance_id] = None
        self._wake.set()

    def _collect_garbage(self) -> None:
        self.store.purge_expired(self.clock.now())

    # ------------------------------------------------------------------ timers

    def _fire_due_timers(self) -> None:
        now = self.clock.now()
        for instance in self.store.all():
            if instance.is_terminal or not instance.timers:
                continue
            due = sorted((at, timer_id) for timer_id, at in instance.timers.items() if at <= now)
            for at, timer_id in due:
                del instance.timers[timer_id]
                instance.inbox.append(h.timer_fired(now, timer_id, at))
            if due:
                self._mark_ready(instance)

    def _next_timer_due(self) -> datetime | None:
        moments = [at for i in self.store.all() if not i.is_terminal for at in i.timers.values()]
        return min(moments, default=None)

    # ------------------------------------------------------------------ episodes

    def _run_episode(self, instance: Instance) -> None:
        now = self.clock.now()
        batch = self._take_batch(instance)
        new_events = [h.orchestrator_started(now)]
        if not instance.history:
            parent_id = instance.parent.instance_id if instance.parent else None
            new_events.append(h.execution_started(now, instance.name, instance.input, instance.version, parent_id))
        new_events += batch
        if instance.status is RuntimeStatus.Pending:
            instance.status = RuntimeStatus.Running
        instance.episodes += 1
        instance.last_updated_at = now

        host_events = self._retry_reactions(instance, batch, now)
        payload = orchestration_payload(
            instance_id=instance.instance_id,
            history=h.played(instance.history) + new_events,
            input_token=instance.input,
            parent_instance_id=instance.parent.instance_id if instance.parent else None,
        )
        handle = self.index.orchestrators[instance.name].user_function
        result = run_orchestrator(handle, payload)
        instance.custom_status = result.state.get("customStatus")
        actions = flatten_actions(result.actions)

        failure = self._check_determinism(instance, actions, result)
        self._apply_cancellations(instance, actions)
        finishing = failure is not None or result.error is not None or result.is_done
        continue_as_new: Action | None = None
        if failure is None:
            try:
                for action in actions[len(instance.seen_actions) :]:
                    host_events += self._apply_action(instance, action, now, spawn=not finishing)
                    if action.type is ActionType.ContinueAsNew:
                        continue_as_new = action
            except _EpisodeFailure as exc:
                failure = str(exc)
        instance.history += new_events + host_events

        if failure is not None or result.error is not None:
            self._fail(instance, failure or result.error or "unknown error", now)
        elif result.is_done and continue_as_new is not None:
            self._continue_as_new(instance, continue_as_new, now)
        elif result.is_done:
            output = result.state.get("output")
            instance.history.append(h.execution_completed(now, RuntimeStatus.Completed.value, json.dumps(output)))
            instance.history.append(h.orchestrator_completed(now))
            self._finish(instance, RuntimeStatus.Completed, output, now)
        else:
            instance.history.append(h.orchestrator_completed(now))

    def _take_batch(self, instance: Instance) -> list[HistoryEvent]:
        """One retry-related event alone, or every leading plain event."""
        inbox = instance.inbox
        if not inbox:
            return []
        if self._is_retry_event(instance, inbox[0]):
            return [inbox.pop(0)]
        count = 0
        while count < len(inbox) and not self._is_retry_event(instance, inbox[count]):
            count += 1
        batch = inbox[:count]
        del inbox[:count]
        for event in batch:  # a retried task that finally succeeded needs no more tracking
            if event["EventType"] in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
                instance.retry_by_task.pop(event["TaskScheduledId"], None)
        return batch

    @staticmethod
    def _is_retry_event(instance: Instance, event: HistoryEvent) -> bool:
        kind = event["EventType"]
        if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            return event["TaskScheduledId"] in instance.retry_by_task
        if kind == EventType.TimerFired:
            return event["TimerId"] in instance.retry_by_timer
        return False

    def _retry_reactions(self, instance: Instance, batch: list[HistoryEvent], now: datetime) -> list[HistoryEvent]:
        """The host's retry interceptor: a timer after each failed attempt, a new attempt after it."""
        if len(batch) != 1 or not self._is_retry_event(instance, batch[0]):
            return []
        event = batch[0]
        if event["EventType"] == EventType.TimerFired:
            tracker = instance.retry_by_timer.pop(event["TimerId"])
            if tracker.exhausted:
                return []  # the SDK now fails the task with the last error
            tracker.attempt += 1
            task_id = self._next_id(instance)
            instance.retry_by_task[task_id] = tracker
            if tracker.kind == "activity":
                return self._schedule_activity(instance, task_id, tracker.name, tracker.input, now, spawn=True)
            return self._schedule_sub_orchestration(
                instance, task_id, tracker.name, tracker.input, tracker.instance_id, tracker.version, now, spawn=True
            )
        tracker = instance.retry_by_task.pop(event["TaskScheduledId"])
        timer_id = self._next_id(instance)
        fire_at = now + tracker.next_delay()
        instance.timers[timer_id] = fire_at
        instance.retry_by_timer[timer_id] = tracker
        return [h.timer_created(now, timer_id, fire_at)]

    def _check_determinism(self, instance: Instance, actions: list[Action], result: EpisodeResult) -> str | None:
        if self.determinism == "off":
            return None
        for position, (before, now) in enumerate(zip(instance.seen_actions, actions, strict=False)):
            if before.signature(self.determinism) != now.signature(self.determinism):
                return (
                    "NonDeterministicOrchestrationException: Non-Deterministic workflow detected: "
                    f"action #{position} was {before.describe()} {before.input or ''} in an earlier episode, "
                    f"but the replay produced {now.describe()} {now.input or ''}. Orchestrator code must be "
                    "deterministic (no random values, clocks, uuids or I/O outside activities)."
                )
        if len(actions) < len(instance.seen_actions) and result.error is None:
            missing = instance.seen_actions[len(actions)]
            return (
                "NonDeterministicOrchestrationException: Non-Deterministic workflow detected: "
                f"action #{len(actions)} ({missing.describe()}) was scheduled in an earlier episode, "
                "but the replay did not schedule it."
            )
        return None

    def _apply_cancellations(self, instance: Instance, actions: list[Action]) -> None:
        for action, action_id in zip(actions, instance.action_ids, strict=False):
            if action.type is ActionType.CreateTimer and action.is_canceled and action_id is not None:
                instance.timers.pop(action_id, None)

    def _apply_action(self, instance: Instance, action: Action, now: datetime, *, spawn: bool) -> list[HistoryEvent]:
        if action.type in UNSUPPORTED:
            raise _EpisodeFailure(f"{action.type.name} is {NOT_SUPPORTED} (entities and call_http are not emulated)")
        task_id = self._next_id(instance) if action.is_numbered else None
        instance.seen_actions.append(action)
        instance.action_ids.append(task_id)
        if task_id is None:  # WaitForExternalEvent: the SDK matches events by name
            return []
        kind = action.type
        if kind in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
            if action.function_name not in self.index.activities:
                raise _EpisodeFailure(
                    unknown_function_message(action.function_name, "activity", list(self.index.activities))
                )
            if kind is ActionType.CallActivityWithRetry:
                instance.retry_by_task[task_id] = self._tracker("activity", action)
            return self._schedule_activity(instance, task_id, action.function_name, action.input, now, spawn=spawn)
        if kind in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
            if action.function_name not in self.index.orchestrators:
                raise _EpisodeFailure(
                    unknown_function_message(action.function_name, "orchestrator", list(self.index.orchestrators))
                )
            if kind is ActionType.CallSubOrchestratorWithRetry:
                instance.retry_by_task[task_id] = self._tracker("sub_orchestration", action)
            return self._schedule_sub_orchestration(
                instance,
                task_id,
                action.function_name,
                action.input,
                action.instance_id,
                action.version,
                now,
                spawn=spawn,
            )
        if kind is ActionType.CreateTimer:
            if not action.is_canceled and spawn:
                instance.timers[task_id] = action.fire_at
            return [h.timer_created(now, task_id, action.fire_at)]
        return []  # ContinueAsNew: numbered, handled once the episode is done

    @staticmethod
    def _tracker(kind: str, action: Action) -> RetryTracker:
        first_ms, max_attempts = action.retry_options or (1000, 1)
        return RetryTracker(
            kind=kind,
            name=action.function_name,
            input=action.input,
            first_retry_interval_ms=first_ms,
            max_attempts=max_attempts,
            instance_id=action.instance_id,
            version=action.version,
        )

    @staticmethod
    def _next_id(instance: Instance) -> int:
        task_id = instance.next_id
        instance.next_id += 1
        return task_id

    # ------------------------------------------------------------------ work

    def _schedule_activity(
        self, instance: Instance, task_id: int, name: str, input_text: str | None, now: datetime, *, spawn: bool
    ) -> list[HistoryEvent]:
        if spawn:
            self._spawn_activity(instance, task_id, name, input_text)
        return [h.task_scheduled(now, task_id, name, input_text)]

    def _spawn_activity(self, instance: Instance, task_id: int, name: str, input_text: str | None) -> None:
        function = self.index.activities[name]
        instance_id, generation = instance.instance_id, instance.generation
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._activity_workers, thread_name_prefix="devhost-activity")
        executor = self._executor

        async def job() -> None:
            result = await run_activity(
                name, function.user_function, function.trigger_arg, function.is_async, input_text, executor
            )
            self._deliver_activity_result(instance_id, generation, task_id, result)

        task = asyncio.get_running_loop().create_task(job(), name=f"activity {name} for {instance_id}#{task_id}")
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    def _deliver_activity_result(self, instance_id: str, generation: int, task_id: int, result: ActivityResult) -> None:
        self._results.append((instance_id, generation, task_id, result))
        self._wake.set()

    def _deliver_results(self) -> None:
        """Move finished activities into inboxes; in task-id order on a virtual clock (determinism)."""
        results, self._results = self._results, []
        if self.clock.is_virtual:
            results.sort(key=lambda r: r[2])
        for instance_id, generation, task_id, result in results:
            self._deliver_one(instance_id, generation, task_id, result)

    def _deliver_one(self, instance_id: str, generation: int, task_id: int, result: ActivityResult) -> None:
        instance = self.store.get(instance_id)
        if instance is None or instance.generation != generation or instance.is_terminal:
            return  # terminated, purged or continued-as-new meanwhile: the result has nowhere to go
        now = self.clock.now()
        if result.failed:
            event = h.task_failed(now, task_id, result.reason or "", result.details or "")
        else:
            event = h.task_completed(now, task_id, result.result)
        instance.inbox.append(event)
        self._mark_ready(instance)

    def _schedule_sub_orchestration(
        self,
        instance: Instance,
        task_id: int,
        name: str,
        input_text: str | None,
        child_id: str | None,
        version: str,
        now: datetime,
        *,
        spawn: bool,
    ) -> list[HistoryEvent]:
        # The extension derives ids deterministically from the parent; devhost uses "<parent>:<task id>".
        child_id = child_id or f"{instance.instance_id}:{task_id}"
        if spawn:
            link = ParentLink(instance.instance_id, task_id, instance.generation)
            try:
                self.create_instance(name, input_text, child_id, version=version, parent=link)
            except InstanceAlreadyExistsError as exc:
                details = json.dumps({"Message": str(exc)})
                instance.inbox.append(h.sub_orchestration_failed(now, task_id, str(exc), details))
                self._mark_ready(instance)
        return [h.sub_orchestration_created(now, task_id, name, child_id, input_text)]

    # ------------------------------------------------------------------ endings

    def _continue_as_new(self, instance: Instance, action: Action, now: datetime) -> None:
        instance.history.append(h.orchestrator_completed(now))
        carried = [e for e in instance.inbox if e["EventType"] == EventType.EventRaised]
        instance.status = RuntimeStatus.ContinuedAsNew
        instance.reset_execution(next(self._generations))
        instance.input = action.input
        instance.inbox = carried
        instance.status = RuntimeStatus.Running
        self._mark_ready(instance)

    def _fail(self, instance: Instance, error: str, now: datetime) -> None:
        message = f"Orchestrator function '{instance.name}' failed: {error}"
        instance.history.append(
            h.execution_completed(now, RuntimeStatus.Failed.value, json.dumps(message), json.dumps({"Message": error}))
        )
        instance.history.append(h.orchestrator_completed(now))
        self._finish(instance, RuntimeStatus.Failed, message, now)

    def _finish(self, instance: Instance, status: RuntimeStatus, output: Any, now: datetime) -> None:
        instance.status = status
        instance.output = output
        instance.completed_at = instance.last_updated_at = now
        instance.inbox.clear()
        instance.timers.clear()
        instance.retry_by_task.clear()
        instance.retry_by_timer.clear()
        self._ready.pop(instance.instance_id, None)
        self._notify_parent(instance, now)
        self._wake.set()

    def _notify_parent(self, child: Instance, now: datetime) -> None:
        link = child.parent
        if link is None:
            return
        parent = self.store.get(link.instance_id)
        if parent is None or parent.is_terminal or parent.generation != link.generation:
            return
        if child.status is RuntimeStatus.Completed:
            event = h.sub_orchestration_completed(now, link.task_id, json.dumps(child.output))
        else:
            reason = (
                str(child.output)
                if child.status is RuntimeStatus.Failed
                else (f"Sub-orchestration '{child.instance_id}' was terminated: {child.output}")
            )
            event = h.sub_orchestration_failed(now, link.task_id, reason, json.dumps({"Message": reason}))
        parent.inbox.append(event)
        self._mark_ready(parent)

    def _require_running(self, instance_id: str) -> Instance:
        instance = self.store.get(instance_id)
        if instance is None:
            raise InstanceNotFoundError(instance_id)
        if instance.is_terminal:
            raise InstanceGoneError(f"Instance {instance_id} is {instance.status.value}")
        return instance
