"""The Web PubSub event handler: ``/api/realtime/events`` (CloudEvents HTTP binding, binary mode).

Configure the hub's event handler URL as ``https://<app>/api/realtime/events`` with user events
``*`` and system events ``connect``, ``connected``, ``disconnected``.

- ``OPTIONS`` (abuse protection): ``WebHook-Request-Origin`` of an allowed service host → 200 with
  ``WebHook-Allowed-Origin``; another origin → 403; none → 400.
- ``POST``: the origin, ``ce-hub`` and ``ce-signature`` are checked first; a forged or unsigned event
  → 401 (a wrong hub or a malformed CloudEvent → 400) and nothing is done.
  - ``connect`` → 200 ``{"userId": ...}`` (no roles, no groups) for an existing, enabled user;
    401 (unknown user) / 403 (disabled) refuse the handshake.
  - ``connected`` / ``disconnected`` → 204 (presence, session groups).
  - user events → 200 with the JSON reply of ``client_events`` (also for rejected events).
"""

from __future__ import annotations

import json

import azure.functions as func

from application.realtime.connections import parse_user_id
from interface.dependencies import services
from interface.http.endpoint import http_endpoint
from interface.http.errors import error_body
from interface.http.responses import json_response
from interface.realtime.client_events import error_reply, handle_client_event
from interface.realtime.cloudevents import UpstreamEvent, parse_upstream_event

bp = func.Blueprint()

MAX_EVENT_BYTES = 64 * 1024
_JSON_TYPES = ("application/json", "text/plain")


def _abuse_protection(req: func.HttpRequest) -> func.HttpResponse:
    origin = (req.headers.get("WebHook-Request-Origin") or "").strip()
    if not origin:
        return json_response(error_body("malformed_request", "WebHook-Request-Origin is required."), status=400)
    if not services().upstream_guard.allowed_origin(origin):
        body = error_body("origin_not_allowed", "This origin may not call the event handler.")
        return json_response(body, status=403)
    return func.HttpResponse(status_code=200, headers={"WebHook-Allowed-Origin": origin})


def _user_event(req: func.HttpRequest, event: UpstreamEvent) -> func.HttpResponse:
    user_id = parse_user_id(event.user_id)
    body = req.get_body() or b""
    content_type = (req.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    payload: object = None
    if len(body) > MAX_EVENT_BYTES:
        reply = error_reply(event.name, "payload_too_large", f"Event data is limited to {MAX_EVENT_BYTES} bytes.")
    elif content_type not in _JSON_TYPES:
        reply = error_reply(event.name, "unsupported_data_type", "Send event data as JSON (dataType json).")
    else:
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            reply = error_reply(event.name, "malformed_event", "The event data is not valid JSON.")
        else:
            reply = handle_client_event(event.name, user_id, event.connection_id, payload)
    return json_response(reply)


@bp.route(route="realtime/events", methods=["OPTIONS", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def realtime_events(req: func.HttpRequest) -> func.HttpResponse:
    if req.method.upper() == "OPTIONS":
        return _abuse_protection(req)
    event = parse_upstream_event(req)
    services().upstream_guard.verify(
        hub=event.hub, connection_id=event.connection_id, signature_header=event.signature, origin=event.origin
    )
    if event.kind == "connect":
        decision = services().handle_connect(event.user_id)
        return json_response({"userId": str(decision.user_id)})
    if event.kind == "connected":
        services().handle_connected(event.connection_id, event.user_id)
        return func.HttpResponse(status_code=204)
    if event.kind == "disconnected":
        services().handle_disconnected(event.connection_id)
        return func.HttpResponse(status_code=204)
    return _user_event(req, event)
