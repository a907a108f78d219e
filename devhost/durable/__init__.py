"""devhost's local Durable Functions host: a replay engine plus the extension's management API.

Why this exists: the Functions host and the Durable extension (.NET, from a CDN/NuGet) cannot be
installed on our machines, and nothing installable runs an ``azure-functions-durable`` 1.x app end
to end (see ``shared/research/durable-local-host.md`` §1 and §3). So we wrote this stand-in.

What it does faithfully:
  * runs orchestrators through the SDK's own code (``OrchestrationTriggerConverter`` →
    registered handle → ``TaskOrchestrationExecutor``) with host-shaped history JSON
    (``IsPlayed``, ``Version``, ``upperSchemaVersion``/``upperSchemaVersionNew`` like the current
    host) and DTFx-style event numbering;
  * runs activities with the SDK converters (``df_loads``/``df_dumps``), sync ones in a thread
    pool, async ones on the loop; failures become ``TaskFailed`` with the extension's Reason text;
  * timers (with cancellation), external events, sub-orchestrations, ``*_with_retry`` with the
    host's retry-interceptor shape, continue-as-new (pending events kept), custom status,
    non-determinism detection, and the management HTTP API the SDK's real
    ``DurableOrchestrationClient`` talks to (including the #295 double encoding of
    ``raise_event``).

What it does NOT emulate (research note §6):
  * the worker's gRPC marshalling, host.json settings, extension bundles, storage-provider
    behaviour (partitions, message ordering, duplicate delivery), function timeouts, scale-out;
  * auth: the ``code`` query parameter and function keys are accepted and ignored;
  * durable entities, ``call_http``, suspend/resume/rewind/restart: orchestrations that use
    them fail with "not supported by devhost", the API answers 501;
  * long-timer splitting (no ``maximumShortTimerDuration`` is sent) and versioning beyond passing
    ``Version`` through;
  * exact failure ``Details`` (a small JSON, not a serialised .NET exception) and the exact
    auto-generated sub-orchestration ids (devhost uses ``<parent id>:<task id>``);
  * durability: instances live in memory — restarting devhost loses in-flight instances, like the
    in-memory storage provider. Finished instances are purged after 24 h (or beyond 5000).

Plan a smoke deployment on real Azure before relying on encoding-sensitive behaviour.
"""

from __future__ import annotations

import json

from aiohttp import web

from devhost.function_index import FunctionIndex

from .clock import Clock, RealClock, VirtualClock
from .engine import Engine
from .errors import (
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFinishedError,
    InstanceNotFoundError,
    UnknownOrchestratorError,
)
from .history import EventType, describe
from .http_api import ManagementApi
from .instance import Instance, InstanceQuery, RuntimeStatus

__all__ = [
    "Clock",
    "DurableHost",
    "Engine",
    "EventType",
    "Instance",
    "InstanceAlreadyExistsError",
    "InstanceGoneError",
    "InstanceNotFinishedError",
    "InstanceNotFoundError",
    "InstanceQuery",
    "RealClock",
    "RuntimeStatus",
    "UnknownOrchestratorError",
    "VirtualClock",
    "describe",
]


class DurableHost:
    """What the functions host plugs in: the engine, its management routes, the client binding."""

    def __init__(
        self,
        index: FunctionIndex,
        *,
        task_hub: str = "TagarelaHub",
        clock: Clock | None = None,
        activity_workers: int = 8,
    ) -> None:
        self.task_hub = task_hub
        self._engine = Engine(index, clock=clock or RealClock(), activity_workers=activity_workers)
        self._api = ManagementApi(self._engine, task_hub)

    @property
    def engine(self) -> Engine:
        return self._engine

    def client_binding_json(self, base_url: str) -> str:
        """The JSON string a ``durableClient`` input binding receives, pointing at ``base_url``."""
        return json.dumps(self._api.client_binding(base_url))

    def attach(self, web_app: web.Application) -> None:
        """Add the management routes under ``/runtime/webhooks/durabletask/`` (before the app starts)."""
        self._api.attach(web_app)

    async def start(self) -> None:
        await self._engine.start()

    async def stop(self, grace_period: float = 5.0) -> None:
        await self._engine.stop(grace_period)
