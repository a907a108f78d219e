"""The Durable extension's management HTTP API (``HttpApiHandler.cs``), served by aiohttp.

Mounted under ``/runtime/webhooks/durabletask/`` so that the SDK's real
``DurableOrchestrationClient`` — which talks to ``rpcBaseUrl`` — works unchanged. Status codes and
bodies follow the extension: 202 + management links on start, 400 with ``ExceptionMessage`` for an
unknown orchestrator, 409 for a running duplicate id, 200/202/404 on status, 202/404/410 on
raise-event and terminate, 412 when purging a running instance. The ``code`` /
``taskHub`` / ``connection`` query parameters are accepted and ignored: devhost does not enforce
function keys. Entities, suspend, resume, rewind and restart answer 501.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from dateutil.parser import isoparse

from .engine import Engine
from .errors import (
    NOT_SUPPORTED,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFinishedError,
    InstanceNotFoundError,
    UnknownOrchestratorError,
)
from .history import EventType
from .instance import Instance, InstanceQuery, RuntimeStatus

MOUNT = "/runtime/webhooks/durabletask"
DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition's default
CONNECTION_NAME = "Storage"
SYSTEM_KEY = "devhost"  # placeholder only; devhost does not check keys


def _json(status: int, body: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


def _error(status: int, message: str, exception: BaseException | None = None) -> web.Response:
    """ASP.NET ``CreateErrorResponse`` shape: ``Message`` (+ ``ExceptionMessage`` with an exception)."""
    body: dict[str, Any] = {"Message": message}
    if exception is not None:
        body.update(ExceptionMessage=str(exception), ExceptionType=type(exception).__name__, StackTrace=None)
    return _json(status, body)


async def _json_body(request: web.Request) -> Any:
    """The request body as JSON (None when empty), or the 400 the extension answers."""
    text = await request.text()
    try:
        return json.loads(text) if text.strip() else None
    except ValueError as exc:
        return _error(400, "Invalid JSON content", exc)


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true" if value.strip().lower() in ("true", "false") else default


def _date(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        moment = isoparse(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _statuses(request: web.Request) -> frozenset[RuntimeStatus] | None:
    names = [n.strip() for v in request.query.getall("runtimeStatus", []) for n in v.split(",")]
    known = {s.value.lower(): s for s in RuntimeStatus}
    chosen = frozenset(known[n.lower()] for n in names if n.lower() in known)
    return chosen or None


def history_for_status(instance: Instance, with_output: bool) -> list[dict[str, Any]]:
    """``historyEvents`` like the extension shows them: names instead of numbers, scheduling
    events folded into their completions, episode markers left out."""
    scheduled: dict[int, dict[str, Any]] = {}
    shown: list[dict[str, Any]] = []
    for event in instance.history:
        kind = EventType(event["EventType"])
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            scheduled[event["EventId"]] = event
            continue
        if kind in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        item: dict[str, Any] = {"EventType": kind.name, "Timestamp": event["Timestamp"]}
        for key in ("Name", "TimerId", "FireAt", "Reason", "Details", "OrchestrationStatus", "Version"):
            if event.get(key) is not None:
                item[key] = event[key]
        if "TaskScheduledId" in event and event["TaskScheduledId"] in scheduled:
            origin = scheduled[event["TaskScheduledId"]]
            item["FunctionName"] = origin["Name"]
            item["ScheduledTime"] = origin["Timestamp"]
            if origin.get("InstanceId"):
                item["InstanceId"] = origin["InstanceId"]
        if with_output:
            for key in ("Result", "Input"):
                if event.get(key) is not None:
                    item[key] = _maybe_json(event[key])
        shown.append(item)
    return shown


def _maybe_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_payload(
    instance: Instance, *, show_input: bool = True, show_history: bool = False, show_history_output: bool = False
) -> dict[str, Any]:
    """``StatusResponsePayload``: input is the stored token (for SDK clients the df_dumps *text*),
    output and customStatus are JSON values."""
    body: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.status.value,
        "input": instance.input if show_input else None,
        "customStatus": instance.custom_status,
        "output": instance.output,
        "createdTime": _timestamp(instance.created_at),
        "lastUpdatedTime": _timestamp(instance.last_updated_at),
    }
    if show_history:
        body["historyEvents"] = history_for_status(instance, show_history_output)
    return body


class ManagementApi:
    def __init__(self, engine: Engine, task_hub: str) -> None:
        self.engine = engine
        self.task_hub = task_hub

    # -------------------------------------------------------------- links

    def query_suffix(self) -> str:
        return f"taskHub={quote(self.task_hub)}&connection={CONNECTION_NAME}&code={SYSTEM_KEY}"

    def management_links(self, origin: str, instance_id: str) -> dict[str, str]:
        """``HttpManagementPayload`` for one instance, rooted at ``origin`` (scheme://host:port)."""
        prefix = f"{origin}{MOUNT}/instances/{quote(instance_id, safe='')}"
        suffix = self.query_suffix()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{prefix}?{suffix}",
            "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{suffix}",
            "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{suffix}",
            "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{suffix}",
            "purgeHistoryDeleteUri": f"{prefix}?{suffix}",
            "restartPostUri": f"{prefix}/restart?{suffix}",
            "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{suffix}",
            "resumePostUri": f"{prefix}/resume?reason={{text}}&{suffix}",
        }

    def client_binding(self, base_url: str) -> dict[str, Any]:
        """What the ``durableClient`` input binding carries (``BindingHelper.cs``)."""
        origin = base_url.rstrip("/")
        links = self.management_links(origin, "INSTANCEID")
        creation = f"{origin}{MOUNT}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return {
            "taskHubName": self.task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{creation}?code={SYSTEM_KEY}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{creation}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&code={SYSTEM_KEY}"
                ),
            },
            "managementUrls": links,
            "baseUrl": f"{origin}{MOUNT}",
            "requiredQueryStringParameters": f"code={SYSTEM_KEY}",
            "rpcBaseUrl": f"{origin}{MOUNT}/",
        }

    def check_status_response(self, request: web.Request, instance_id: str) -> web.Response:
        links = self.management_links(f"{request.scheme}://{request.host}", instance_id)
        body = {
            k: links[k]
            for k in (
                "id",
                "statusQueryGetUri",
                "sendEventPostUri",
                "terminatePostUri",
                "purgeHistoryDeleteUri",
                "restartPostUri",
                "suspendPostUri",
                "resumePostUri",
            )
        }
        return _json(202, body, {"Location": links["statusQueryGetUri"], "Retry-After": "10"})

    # -------------------------------------------------------------- routing

    def attach(self, app: web.Application) -> None:
        app.router.add_route("*", MOUNT + "/{path:.*}", self.dispatch)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info["path"].split("/") if p]
        method = request.method
        head = parts[0].lower() if parts else ""
        if head == "orchestrators" and len(parts) in (2, 3):
            if method != "POST":
                return _json(404)
            return await self.start(request, parts[1], parts[2] if len(parts) == 3 else None)
        if head == "entities":
            return _error(501, f"Durable entities are {NOT_SUPPORTED}.")
        if head == "instances":
            if len(parts) == 1:
                if method == "GET":
                    return self.list_instances(request)
                if method == "DELETE":
                    return self.purge_where(request)
                return _json(404)
            instance_id = parts[1]
            if len(parts) == 2:
                if method == "GET":
                    return self.get_status(request, instance_id)
                if method == "DELETE":
                    return self.purge(instance_id)
                return _json(404)
            operation = parts[2].lower()
            if method != "POST":
                return _json(404)
            if operation == "raiseevent" and len(parts) == 4:
                return await self.raise_event(request, instance_id, parts[3])
            if operation == "terminate" and len(parts) == 3:
                return self.terminate(request, instance_id)
            if operation in ("suspend", "resume", "rewind", "restart") and len(parts) == 3:
                return _error(501, f"The '{operation}' operation is {NOT_SUPPORTED}.")
        return _json(404)

    # -------------------------------------------------------------- handlers

    async def start(self, request: web.Request, function_name: str, instance_id: str | None) -> web.StreamResponse:
        token = await _json_body(request)
        if isinstance(token, web.Response):
            return token
        try:
            instance = self.engine.create_instance(
                function_name, token, instance_id or None, version=request.query.get("version", "")
            )
        except UnknownOrchestratorError as exc:
            return _error(400, "One or more of the arguments submitted is incorrect", exc)
        except InstanceAlreadyExistsError as exc:
            return _error(409, str(exc))
        timeout, interval = request.query.get("timeout"), request.query.get("pollingInterval")
        if timeout and interval:
            return await self._wait_or_check_status(request, instance.instance_id, float(timeout), float(interval))
        return self.check_status_response(request, instance.instance_id)

    async def _wait_or_check_status(
        self, request: web.Request, instance_id: str, timeout: float, interval: float
    ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            instance = self.engine.get(instance_id)
            if instance is not None and instance.is_terminal:
                if instance.status is RuntimeStatus.Completed:
                    return _json(200, instance.output)
                return self.get_status(request, instance_id)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self.check_status_response(request, instance_id)
            await asyncio.sleep(min(interval, remaining))

    def get_status(self, request: web.Request, instance_id: str) -> web.Response:
        instance = self.engine.get(instance_id)
        if instance is None:
            return _json(404)
        body = status_payload(
            instance,
            show_input=_flag(request, "showInput", True),
            show_history=_flag(request, "showHistory", False),
            show_history_output=_flag(request, "showHistoryOutput", False),
        )
        if not instance.is_terminal:
            return _json(202, body, {"Location": str(request.url), "Retry-After": "5"})
        if instance.status is RuntimeStatus.Failed and _flag(request, "returnInternalServerErrorOnFailure", False):
            return _json(500, body)
        return _json(200, body)

    def list_instances(self, request: web.Request) -> web.Response:
        query = InstanceQuery(
            created_from=_date(request, "createdTimeFrom"),
            created_to=_date(request, "createdTimeTo"),
            statuses=_statuses(request),
            instance_id_prefix=request.query.get("instanceIdPrefix") or None,
        )
        matches = self.engine.query(query)
        try:
            page_size = int(request.query.get("top", DEFAULT_PAGE_SIZE))
        except ValueError:
            page_size = DEFAULT_PAGE_SIZE
        page_size = page_size if page_size > 0 else DEFAULT_PAGE_SIZE
        token = request.headers.get("x-ms-continuation-token", "")
        start = int(token) if token.isdigit() else 0
        page = matches[start : start + page_size]
        show_input = _flag(request, "showInput", False)
        body = [status_payload(i, show_input=show_input) for i in page]
        headers = {}
        if start + page_size < len(matches):
            headers["x-ms-continuation-token"] = str(start + page_size)
        return _json(200, body, headers)

    def purge(self, instance_id: str) -> web.Response:
        try:
            self.engine.purge(instance_id)
        except InstanceNotFoundError:
            return _json(404)
        except InstanceNotFinishedError as exc:
            return _json(412, str(exc))
        return _json(200, {"instancesDeleted": 1})

    def purge_where(self, request: web.Request) -> web.Response:
        created_from = _date(request, "createdTimeFrom")
        if created_from is None:
            return _json(400, "Please provide value for 'createdTimeFrom' parameter.")
        query = InstanceQuery(
            created_from=created_from,
            created_to=_date(request, "createdTimeTo") or self.engine.clock.now(),
            statuses=_statuses(request),
        )
        deleted = self.engine.purge_where(query)
        if deleted == 0:
            return _json(404)
        return _json(200, {"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        instance = self.engine.get(instance_id)
        if instance is None:
            return _json(404)
        if instance.is_terminal:
            return _json(410)
        if request.content_type.lower() != "application/json":
            return _error(400, "Only application/json request content is supported")
        token = await _json_body(request)
        if isinstance(token, web.Response):
            return token
        # The extension stores the body as a JToken and serialises it again, so a JSON *string*
        # body (what the SDK client sends, SDK issue #295) reaches the orchestrator as a string.
        try:
            self.engine.raise_event_json(instance_id, event_name, json.dumps(token))
        except InstanceGoneError:
            return _json(410)
        return _json(202)

    def terminate(self, request: web.Request, instance_id: str) -> web.Response:
        instance = self.engine.get(instance_id)
        if instance is None:
            return _json(404)
        if instance.is_terminal:
            return _json(410)
        self.engine.terminate(instance_id, request.query.get("reason"))
        return _json(202)
