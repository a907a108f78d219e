"""``GET /client/hubs/{hub}`` (and ``/client/?hub=``): the client WebSocket endpoint.

Handshake: token check (or recovery of a reliable logical connection), the blocking upstream
``connect`` (whose 4xx refuses the upgrade with that status), subprotocol echo, ``connected`` first.
Then one reader per socket handles the JSON subprotocol messages in order; user events block that
reader until the upstream answers, like the service does per connection.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
from typing import Any

from aiohttp import WSMsgType, web

from devhost.webpubsub import messages, names, permissions
from devhost.webpubsub.messages import DATA_TYPE_TO_CONTENT_TYPE, Outbound, decode_payload
from devhost.webpubsub.service import (
    CLOSE_BAD_PAYLOAD,
    CLOSE_INTERNAL,
    CLOSE_POLICY,
    CLOSE_UNSUPPORTED,
    RAW,
    RELIABLE,
    SUBPROTOCOLS,
    LogicalConnection,
    Service,
    new_connection_id,
)
from devhost.webpubsub.tokens import (
    TokenError,
    audience_matches,
    claim_list,
    decode,
    issue_reconnection_token,
    reconnection_token_valid,
)

log = logging.getLogger("devhost.webpubsub")
MAX_UINT64 = 2**64 - 1


class ProtocolViolation(Exception):
    """The client sent something the protocol does not allow: close with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _multi(items: Any, *, drop: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items:
        if key.lower() not in drop:
            out.setdefault(key, []).append(value)
    return out


def _claims_for_upstream(claims: dict[str, Any]) -> dict[str, list[str]]:
    return {key: [str(v) for v in value] if isinstance(value, list) else [str(value)]
            for key, value in claims.items()}


class ClientEndpoint:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.config = service.config

    def _ws(self, protocol: str | None) -> web.WebSocketResponse:
        return web.WebSocketResponse(protocols=(protocol,) if protocol else (),
                                     max_msg_size=self.config.max_frame_bytes, autoping=True, autoclose=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        hub_name = request.match_info.get("hub") or request.query.get("hub", "")
        if not names.valid_hub(hub_name):
            return _error(400, "BadRequest", f"invalid hub name {hub_name!r}")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        if "awps_connection_id" in request.query:
            return await self._recover(request, hub_name, offered)

        token = request.query.get("access_token", "")
        auth = request.headers.get("Authorization", "")
        if not token and auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        try:
            claims = decode(token, self.config.keys, leeway=self.config.clock_skew_seconds)
        except TokenError as exc:
            return _error(401, "Unauthorized", f"invalid access token: {exc}")
        expected = f"{request.scheme}://{request.host}/client/hubs/{hub_name}"
        if not audience_matches(claims, expected, client=True):
            return _error(401, "Unauthorized", f"the access token's audience is not {expected}")

        sub = claims.get("sub")
        user_id = str(sub) if sub is not None else None
        roles = set(claim_list(claims, "role"))
        groups = [g for g in claim_list(claims, "webpubsub.group") if names.valid_group(g)]
        connection_id = new_connection_id()
        chosen = next((p for p in offered if p in SUBPROTOCOLS), None)
        state: str | None = None

        handler = self.service.upstream.handler_for(hub_name, "connect", system=True)
        if handler is not None:
            probe = LogicalConnection(hub_name.lower(), connection_id, user_id, RAW, None, roles)
            probe.event_id = -1  # ce-id 0 for connect, like the official emulator
            body = {
                "claims": _claims_for_upstream(claims),
                "query": _multi(request.query.items(), drop={"access_token"}),
                "headers": _multi(request.headers.items(), drop={"authorization"}),
                "subprotocols": offered,
                "clientCertificates": [],
            }
            reply = await self.service.upstream.post_json(handler, probe.context(), "connect", body)
            if reply is None:
                return _error(500, "InternalServerError", "the connect event handler did not answer")
            if not reply.ok:
                return web.Response(status=reply.status, body=reply.body,
                                    headers={"Content-Type": reply.content_type or "text/plain"})
            state = reply.headers.get("ce-connectionState") or None
            if reply.status == 200 and reply.body.strip():
                try:
                    answer = json.loads(reply.body)
                    if not isinstance(answer, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    return _error(500, "InternalServerError", f"bad connect response: {exc}")
                if answer.get("userId") is not None:
                    user_id = str(answer["userId"])
                groups += [g for g in answer.get("groups") or [] if names.valid_group(g)]
                roles.update(str(r) for r in answer.get("roles") or [])
                if answer.get("subprotocol"):
                    if answer["subprotocol"] not in offered:
                        return _error(500, "InternalServerError", "the connect response chose a subprotocol "
                                                                  "the client did not offer")
                    chosen = str(answer["subprotocol"])
        # a custom subprotocol is echoed only when the connect handler picks it; else a raw client
        kind = SUBPROTOCOLS.get(chosen or "", RAW)

        ws = self._ws(chosen)
        await ws.prepare(request)
        conn = LogicalConnection(hub_name.lower(), connection_id, user_id, kind, chosen, roles)
        conn.state = state
        if kind == RELIABLE:
            conn.reconnection_token = issue_reconnection_token(connection_id, self.config.connection.access_key)
        self.service.register(conn, ws, groups)
        if kind != RAW:
            await ws.send_str(messages.connected(user_id, connection_id, conn.reconnection_token))
        self.service.fire_connected(conn)
        await self._read(conn, ws)
        return ws

    async def _recover(self, request: web.Request, hub_name: str, offered: list[str]) -> web.StreamResponse:
        """Reattach a socket to a reliable logical connection, or upgrade and close with 1008."""
        connection_id = request.query.get("awps_connection_id", "")
        token = request.query.get("awps_reconnection_token", "")
        conn = self.service.find(hub_name, connection_id)
        wanted = conn.subprotocol if conn is not None and conn.subprotocol in offered else None
        ws = self._ws(wanted or next((p for p in offered if p in SUBPROTOCOLS), None))
        await ws.prepare(request)
        if conn is None or conn.ended or conn.kind != RELIABLE or wanted is None or \
                not reconnection_token_valid(token, connection_id, self.config.keys):
            await ws.close(code=CLOSE_POLICY, message=b"The connection cannot be recovered.")
            return ws
        old, conn.ws = conn.ws, None
        if old is not None:
            await self._cut(old)
        if conn.expiry is not None:
            conn.expiry.cancel()
            conn.expiry = None
        assert conn.unacked is not None
        try:
            await ws.send_str(messages.connected(conn.user_id, connection_id, conn.reconnection_token))
            last = 0
            while True:  # replay in order; messages that arrive meanwhile are appended and sent too
                pending = [entry for entry in conn.unacked if entry[0] > last]
                if not pending:
                    break
                for seq, text in pending:
                    await ws.send_str(text)
                    last = seq
        except (ConnectionError, RuntimeError):
            conn.ws = ws
            self.service.transport_lost(conn, ws, reason="lost during recovery", recoverable=True)
            return ws
        if conn.ended:
            await ws.close(code=CLOSE_POLICY, message=b"The connection has ended.")
            return ws
        conn.ws = ws
        await self._read(conn, ws)
        return ws

    @staticmethod
    async def _cut(ws: web.WebSocketResponse) -> None:
        """Drop a socket a recovery replaces (the client may not have noticed it died)."""
        sock = ws.get_extra_info("socket")
        with contextlib.suppress(OSError):
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)

    # --- reading --------------------------------------------------------------------------------
    async def _read(self, conn: LogicalConnection, ws: web.WebSocketResponse) -> None:
        clean, reason = False, "The connection was lost."
        try:
            while True:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    if conn.kind == RAW:
                        await self._raw_event(conn, msg.data.encode(), "text/plain; charset=utf-8")
                    else:
                        await self._json_message(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    if conn.kind == RAW:
                        await self._raw_event(conn, msg.data, "application/octet-stream")
                    else:
                        raise ProtocolViolation(CLOSE_UNSUPPORTED, "JSON subprotocols accept text frames only.")
                elif msg.type == WSMsgType.CLOSE:
                    clean, reason = True, "The client closed the connection."
                    break
                elif msg.type == WSMsgType.ERROR:
                    clean, reason = True, f"The client broke the protocol: {msg.data}"  # e.g. a frame > 1 MB
                    break
                else:
                    break
                if conn.ended or conn.ws is not ws:
                    return
        except ProtocolViolation as exc:
            if conn.ws is ws:
                await self.service.end(conn, exc.reason, code=exc.code)
            return
        except (ConnectionError, RuntimeError):
            pass
        self.service.transport_lost(conn, ws, reason=reason, recoverable=not clean)

    async def _json_message(self, conn: LogicalConnection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise ProtocolViolation(CLOSE_BAD_PAYLOAD, f"The message is not JSON: {exc}") from exc
        if not isinstance(message, dict):
            raise ProtocolViolation(CLOSE_BAD_PAYLOAD, "The message is not a JSON object.")
        kind = message.get("type")
        ack_id = message.get("ackId")
        if ack_id is not None and (not isinstance(ack_id, int) or isinstance(ack_id, bool)
                                   or not 0 <= ack_id <= MAX_UINT64):
            raise ProtocolViolation(CLOSE_BAD_PAYLOAD, "ackId must be an unsigned 64-bit integer.")
        if kind == "ping":
            await self.service.send_frame(conn, messages.PONG)
            return
        if kind == "sequenceAck":
            seq = message.get("sequenceId")
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                raise ProtocolViolation(CLOSE_BAD_PAYLOAD, "sequenceAck needs an integer sequenceId.")
            conn.sequence_ack(seq)
            return
        if kind not in ("joinGroup", "leaveGroup", "sendToGroup", "event"):
            raise ProtocolViolation(CLOSE_BAD_PAYLOAD, f"Unknown message type {kind!r}.")
        if ack_id is not None and conn.ack_seen(ack_id):
            await self.service.send_frame(conn, messages.ack(ack_id, (
                "Duplicate", f"Message with ack-id: {ack_id} has been processed.")))
            return
        error = await self._operation(conn, kind, message)
        if conn.ended:
            return
        if ack_id is not None:
            if error is None:  # only successes: the SDKs retry a failed ack id and read Duplicate as success
                conn.remember_ack(ack_id)
            await self.service.send_frame(conn, messages.ack(ack_id, error))

    async def _operation(self, conn: LogicalConnection, kind: str, message: dict[str, Any]) -> tuple[str, str] | None:
        """Run one client request; returns the ack error (name, message) or None on success."""
        hub = self.service.hub(conn.hub)
        if kind in ("joinGroup", "leaveGroup", "sendToGroup"):
            group = message.get("group")
            if not names.valid_group(group):
                return "BadRequest", "The group name must be 1 to 1024 characters and not only whitespace."
            assert isinstance(group, str)
            permission = permissions.SEND if kind == "sendToGroup" else permissions.JOIN_LEAVE
            if not permissions.allowed(conn.roles, permission, group):
                return "Forbidden", f"The connection has no permission to {kind} '{group}'."
            if kind == "joinGroup":
                hub.join(conn, group)
                return None
            if kind == "leaveGroup":
                hub.leave(conn, group)
                return None
            decoded = self._data(message)
            if isinstance(decoded, str):
                return "BadRequest", decoded
            data_type, data = decoded
            out = Outbound.group(group, data_type, data, conn.user_id)
            no_echo = message.get("noEcho") is True
            targets = [c for c in hub.group_connections(group) if not (no_echo and c is conn)]
            await self.service.deliver_many(targets, out)
            return None
        event = message.get("event")
        if not names.valid_event(event):
            return "BadRequest", "The event name must match ^[a-z][a-z0-9_.-]{0,127}$ (ignoring case)."
        assert isinstance(event, str)
        decoded = self._data(message)
        if isinstance(decoded, str):
            return "BadRequest", decoded
        data_type, data = decoded
        if data_type == "binary":
            body = data
        elif data_type == "text":
            body = data.encode()
        else:
            body = messages.dumps(data).encode()
        await self._user_event(conn, event, body, DATA_TYPE_TO_CONTENT_TYPE[data_type])
        return None

    @staticmethod
    def _data(message: dict[str, Any]) -> tuple[str, Any] | str:
        data_type = message.get("dataType", "json")
        if data_type not in messages.DATA_TYPES:
            return f"dataType must be one of {', '.join(messages.DATA_TYPES)}."
        if "data" not in message:
            return "The message has no data."
        data = message["data"]
        if data_type == "text":
            return (data_type, data) if isinstance(data, str) else "text data must be a string."
        if data_type == "binary":
            if not isinstance(data, str):
                return "binary data must be a base64 string."
            try:
                return data_type, base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                return "binary data must be a base64 string."
        return data_type, data

    async def _user_event(self, conn: LogicalConnection, event: str, body: bytes, content_type: str) -> None:
        """Blocking user event: a 200 body goes back to the client first; a failure drops the client."""
        handler = self.service.upstream.handler_for(conn.hub, event, system=False)
        if handler is None:
            await self.service.end(conn, f"No event handler for user event '{event}'.", code=CLOSE_INTERNAL)
            return
        reply = await self.service.upstream.post(handler, conn.context(), system=False, event_name=event,
                                                 body=body, content_type=content_type)
        if conn.ended:
            return
        if reply is None or not reply.ok:
            status = "no answer" if reply is None else f"status {reply.status}"
            await self.service.end(conn, f"The event handler failed for '{event}' ({status}).", code=CLOSE_INTERNAL)
            return
        if "ce-connectionState" in reply.headers:
            conn.state = reply.headers["ce-connectionState"] or None
        if reply.status == 200 and reply.body:
            try:
                data_type, data = decode_payload(reply.content_type or "application/octet-stream", reply.body)
            except ValueError:
                data_type, data = "binary", reply.body
            await self.service.deliver(conn, Outbound.server(data_type, data))

    async def _raw_event(self, conn: LogicalConnection, body: bytes, content_type: str) -> None:
        await self._user_event(conn, "message", body, content_type)
