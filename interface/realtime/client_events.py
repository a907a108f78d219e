"""Client events (``{"type":"event","event":...}`` frames) → the chat use cases → the reply frame.

The acting user is always the connection's ``ce-userId`` (from the token we issued): payloads
cannot name a user (unknown fields are refused), so a connection never acts as anyone else.

The reply is what the client receives (as a server message, before its ack):
``{"type": "<event>.ok", ...}`` on success, or
``{"type": "error", "event": ..., "error": {"code", "message"[, "details"]}, "client_message_id"?}``.
A rejected event is still an HTTP 200 for the service: any other status would drop the connection.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from interface.dependencies import services
from shared.errors import AppError

log = logging.getLogger(__name__)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: uuid.UUID


class SendMessageEvent(_Event):
    client_message_id: StrictStr = Field(min_length=1, max_length=200)
    text: StrictStr = Field(max_length=64 * 1024)
    reply_to_seq: StrictInt | None = None
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class EditMessageEvent(_Event):
    seq: StrictInt
    text: StrictStr = Field(max_length=64 * 1024)


class DeleteMessageEvent(_Event):
    seq: StrictInt


class TypingEvent(_Event):
    pass


class ReadEvent(_Event):
    seq: StrictInt


Reply = dict[str, Any]


def _send(user_id: uuid.UUID, connection_id: str, event: BaseModel) -> Reply:
    assert isinstance(event, SendMessageEvent)
    sent = services().send_message(
        user_id, event.session_id, event.client_message_id, event.text, event.reply_to_seq, tuple(event.file_ids)
    )
    return {"client_message_id": event.client_message_id, "duplicate": sent.duplicate, "message": sent.message}


def _edit(user_id: uuid.UUID, connection_id: str, event: BaseModel) -> Reply:
    assert isinstance(event, EditMessageEvent)
    return {"message": services().edit_message(user_id, event.session_id, event.seq, event.text)}


def _delete(user_id: uuid.UUID, connection_id: str, event: BaseModel) -> Reply:
    assert isinstance(event, DeleteMessageEvent)
    services().delete_message(user_id, event.session_id, event.seq)
    return {"session_id": str(event.session_id), "seq": event.seq}


def _typing(user_id: uuid.UUID, connection_id: str, event: BaseModel) -> Reply:
    assert isinstance(event, TypingEvent)
    services().send_typing(user_id, event.session_id, exclude_connection=connection_id)
    return {"session_id": str(event.session_id)}


def _read(user_id: uuid.UUID, connection_id: str, event: BaseModel) -> Reply:
    assert isinstance(event, ReadEvent)
    seq = services().mark_read(user_id, event.session_id, event.seq)
    return {"session_id": str(event.session_id), "seq": seq}


EVENTS: dict[str, tuple[type[BaseModel], Callable[[uuid.UUID, str, BaseModel], Reply]]] = {
    "message.send": (SendMessageEvent, _send),
    "message.edit": (EditMessageEvent, _edit),
    "message.delete": (DeleteMessageEvent, _delete),
    "typing": (TypingEvent, _typing),
    "read": (ReadEvent, _read),
}


def error_reply(event: str, code: str, message: str, payload: object = None, details: dict[str, object] | None = None
                ) -> Reply:
    error: dict[str, object] = {"code": code, "message": message}
    if details:
        error["details"] = details
    reply: Reply = {"type": "error", "event": event[:128], "error": error}
    client_message_id = payload.get("client_message_id") if isinstance(payload, dict) else None
    if isinstance(client_message_id, str) and len(client_message_id) <= 200:
        reply["client_message_id"] = client_message_id
    return reply


def handle_client_event(event: str, user_id: uuid.UUID, connection_id: str, payload: object) -> Reply:
    """Run one client event as ``user_id``; never raises for a rejected event (it becomes the reply)."""
    entry = EVENTS.get(event)
    if entry is None:
        return error_reply(event, "unknown_event", f"Unknown event; expected one of {', '.join(EVENTS)}.", payload)
    model, handler = entry
    if not isinstance(payload, dict):
        return error_reply(event, "malformed_event", "The event data must be a JSON object.", payload)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as error:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(data)", "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        return error_reply(event, "validation_failed", "The event data is invalid.", payload, {"fields": fields})
    try:
        result = handler(user_id, connection_id, parsed)
    except AppError as error:
        return error_reply(event, error.code, error.message, payload, error.details or None)
    except Exception:
        log.exception("client event %s of connection %s failed", event, connection_id)
        return error_reply(event, "internal_error", "The event could not be processed; retry it.", payload)
    return {"type": f"{event}.ok", **result}
