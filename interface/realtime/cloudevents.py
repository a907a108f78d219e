"""The CloudEvents HTTP binding (binary mode) as Azure Web PubSub speaks it to an event handler.

Only the headers are read here; whether the request really comes from our service is decided by
``application.realtime.upstream.UpstreamGuard`` before anything is acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import azure.functions as func

from shared.errors import InvalidInput

SYSTEM_PREFIX = "azure.webpubsub.sys."
USER_PREFIX = "azure.webpubsub.user."
_SYSTEM_EVENTS = ("connect", "connected", "disconnected")
_MAX_HEADER = 512

EventKind = Literal["connect", "connected", "disconnected", "user"]


@dataclass(frozen=True, slots=True)
class UpstreamEvent:
    kind: EventKind
    name: str  # ce-eventName: "connect", ..., or the client's event name ("message.send")
    hub: str
    connection_id: str
    user_id: str | None
    signature: str | None
    origin: str | None


def _header(req: func.HttpRequest, name: str, *, required: bool = True) -> str | None:
    value = (req.headers.get(name) or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"The {name} header is required.", code="malformed_cloud_event")
        return None
    if len(value) > _MAX_HEADER and name != "ce-signature":
        raise InvalidInput(f"The {name} header is too long.", code="malformed_cloud_event")
    return value


def parse_upstream_event(req: func.HttpRequest) -> UpstreamEvent:
    """400 (``malformed_cloud_event``) unless the request is a Web PubSub CloudEvent."""
    ce_type = _header(req, "ce-type") or ""
    name = _header(req, "ce-eventName") or ""
    kind: EventKind
    if ce_type.startswith(SYSTEM_PREFIX) and ce_type[len(SYSTEM_PREFIX) :] in _SYSTEM_EVENTS:
        kind = ce_type[len(SYSTEM_PREFIX) :]  # type: ignore[assignment]
    elif ce_type.startswith(USER_PREFIX) and len(ce_type) > len(USER_PREFIX):
        kind = "user"
    else:
        raise InvalidInput("The ce-type is not a Web PubSub event.", code="malformed_cloud_event")
    return UpstreamEvent(
        kind=kind,
        name=name,
        hub=_header(req, "ce-hub") or "",
        connection_id=_header(req, "ce-connectionId") or "",
        user_id=_header(req, "ce-userId", required=False),
        signature=_header(req, "ce-signature", required=False),
        origin=_header(req, "WebHook-Request-Origin", required=False),
    )
