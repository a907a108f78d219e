"""What the service sends to clients, serialized once per fan-out.

A message is encoded to JSON text once; a reliable recipient gets its own ``sequenceId`` spliced
onto the end of that text (``…}`` → ``…,"sequenceId":N}``) instead of re-encoding per recipient.
Raw (simple WebSocket) clients get just the payload: text for json/text, bytes for binary.
"""

from __future__ import annotations

import base64
import json
from typing import Any

DATA_TYPES = ("json", "text", "binary")
CONTENT_TYPE_TO_DATA_TYPE = {"application/json": "json", "text/plain": "text", "application/octet-stream": "binary"}
DATA_TYPE_TO_CONTENT_TYPE = {"json": "application/json", "text": "text/plain; charset=utf-8",
                             "binary": "application/octet-stream"}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Outbound:
    """One message for many recipients: ``text`` for JSON clients, ``raw`` for simple ones."""

    __slots__ = ("raw", "text")

    def __init__(self, text: str, raw: str | bytes) -> None:
        self.text = text
        self.raw = raw

    @classmethod
    def build(cls, head: dict[str, Any], data_type: str, data: Any) -> Outbound:
        """``data``: a JSON value (json), ``str`` (text) or ``bytes`` (binary)."""
        if data_type == "binary":
            wire: Any = base64.b64encode(data).decode("ascii")
            raw: str | bytes = bytes(data)
        elif data_type == "text":
            wire = raw = str(data)
        else:
            wire, raw = data, dumps(data)
        return cls(dumps({**head, "dataType": data_type, "data": wire}), raw)

    @classmethod
    def server(cls, data_type: str, data: Any) -> Outbound:
        return cls.build({"type": "message", "from": "server"}, data_type, data)

    @classmethod
    def group(cls, group: str, data_type: str, data: Any, from_user: str | None) -> Outbound:
        head: dict[str, Any] = {"type": "message", "from": "group", "group": group}
        if from_user is not None:
            head["fromUserId"] = from_user
        return cls.build(head, data_type, data)

    def with_sequence(self, sequence_id: int) -> str:
        return f'{self.text[:-1]},"sequenceId":{sequence_id}}}'


def decode_payload(content_type: str | None, body: bytes) -> tuple[str, Any]:
    """A REST body or an upstream reply → (dataType, data); ValueError if it does not parse."""
    mime = (content_type or "").split(";")[0].strip().lower()
    data_type = CONTENT_TYPE_TO_DATA_TYPE.get(mime)
    if data_type is None:
        raise ValueError(f"unsupported Content-Type {content_type!r} (use application/json, text/plain or "
                         "application/octet-stream)")
    if data_type == "json":
        return data_type, json.loads(body.decode("utf-8"))
    if data_type == "text":
        return data_type, body.decode("utf-8")
    return data_type, body


def ack(ack_id: int, error: tuple[str, str] | None = None) -> str:
    if error is None:
        return dumps({"type": "ack", "ackId": ack_id, "success": True})
    return dumps({"type": "ack", "ackId": ack_id, "success": False, "error": {"name": error[0], "message": error[1]}})


def connected(user_id: str | None, connection_id: str, reconnection_token: str | None) -> str:
    message: dict[str, Any] = {"type": "system", "event": "connected", "userId": user_id,
                               "connectionId": connection_id}
    if reconnection_token is not None:
        message["reconnectionToken"] = reconnection_token
    return dumps(message)


def disconnected(reason: str) -> str:
    return dumps({"type": "system", "event": "disconnected", "message": reason})


PONG = dumps({"type": "pong"})
