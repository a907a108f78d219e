"""The service's state: hubs, logical connections, groups, users, and delivery to them.

A *logical* connection outlives its WebSocket on the reliable subprotocol: when the socket drops,
its groups, un-acked messages and ack-id cache stay for the recovery window, and the upstream
``disconnected`` event fires only when the logical connection ends (closed by either side, window
expired, buffer overflow). Per-connection state is kept to a few slotted fields so 1,000 idle
connections stay cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any

from aiohttp import web

from devhost.webpubsub import messages
from devhost.webpubsub.config import EmulatorConfig
from devhost.webpubsub.messages import Outbound
from devhost.webpubsub.upstream import EventContext, Upstream

log = logging.getLogger("devhost.webpubsub")

RAW, JSON, RELIABLE = "raw", "json", "reliable"
SUBPROTOCOLS = {"json.webpubsub.azure.v1": JSON, "json.reliable.webpubsub.azure.v1": RELIABLE}
ACK_ID_CACHE = 4096  # remembered ack ids per connection (the SDKs count up, so old ones never repeat)
CLOSE_NORMAL, CLOSE_UNSUPPORTED, CLOSE_BAD_PAYLOAD, CLOSE_POLICY, CLOSE_INTERNAL = 1000, 1003, 1007, 1008, 1011


def new_connection_id() -> str:
    return secrets.token_urlsafe(16)


class LogicalConnection:
    __slots__ = ("ack_ids", "connected_task", "connection_id", "ended", "event_id", "expiry", "groups", "hub",
                 "kind", "next_seq", "reconnection_token", "roles", "state", "subprotocol", "unacked",
                 "unacked_bytes", "user_id", "ws")

    def __init__(self, hub: str, connection_id: str, user_id: str | None, kind: str, subprotocol: str | None,
                 roles: set[str]) -> None:
        self.hub = hub
        self.connection_id = connection_id
        self.user_id = user_id
        self.kind = kind
        self.subprotocol = subprotocol
        self.roles = roles
        self.groups: set[str] = set()
        self.ws: web.WebSocketResponse | None = None
        self.next_seq = 1
        self.unacked: deque[tuple[int, str]] | None = deque() if kind == RELIABLE else None
        self.unacked_bytes = 0
        self.ack_ids: dict[int, None] | None = None
        self.state: str | None = None  # ce-connectionState from the last blocking reply
        self.reconnection_token: str | None = None
        self.expiry: asyncio.TimerHandle | None = None
        self.ended = False
        self.event_id = 0
        self.connected_task: asyncio.Task[None] | None = None

    def context(self) -> EventContext:
        self.event_id += 1
        return EventContext(self.hub, self.connection_id, self.user_id, self.subprotocol, self.state, self.event_id)

    def ack_seen(self, ack_id: int) -> bool:
        return self.ack_ids is not None and ack_id in self.ack_ids

    def remember_ack(self, ack_id: int) -> None:
        if self.ack_ids is None:
            self.ack_ids = {}
        self.ack_ids[ack_id] = None
        if len(self.ack_ids) > ACK_ID_CACHE:
            del self.ack_ids[next(iter(self.ack_ids))]

    def sequence_ack(self, sequence_id: int) -> None:
        if self.unacked is None:
            return
        while self.unacked and self.unacked[0][0] <= sequence_id:
            self.unacked_bytes -= len(self.unacked.popleft()[1])


class Hub:
    __slots__ = ("connections", "groups", "name", "users")

    def __init__(self, name: str) -> None:
        self.name = name
        self.connections: dict[str, LogicalConnection] = {}
        self.users: dict[str, set[LogicalConnection]] = {}
        self.groups: dict[str, set[LogicalConnection]] = {}

    def add(self, conn: LogicalConnection) -> None:
        self.connections[conn.connection_id] = conn
        if conn.user_id is not None:
            self.users.setdefault(conn.user_id, set()).add(conn)

    def remove(self, conn: LogicalConnection) -> None:
        self.connections.pop(conn.connection_id, None)
        for group in list(conn.groups):
            self.leave(conn, group)
        if conn.user_id is not None:
            members = self.users.get(conn.user_id)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self.users[conn.user_id]

    def join(self, conn: LogicalConnection, group: str) -> None:
        if not conn.ended:
            conn.groups.add(group)
            self.groups.setdefault(group, set()).add(conn)

    def leave(self, conn: LogicalConnection, group: str) -> None:
        conn.groups.discard(group)
        members = self.groups.get(group)
        if members is not None:
            members.discard(conn)
            if not members:
                del self.groups[group]

    def user_connections(self, user_id: str) -> list[LogicalConnection]:
        return list(self.users.get(user_id, ()))

    def group_connections(self, group: str) -> list[LogicalConnection]:
        return list(self.groups.get(group, ()))


class Service:
    """Hubs plus the operations both the WebSocket endpoint and the REST API perform."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.upstream = Upstream(config)
        self.hubs: dict[str, Hub] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def hub(self, name: str) -> Hub:
        key = name.lower()
        hub = self.hubs.get(key)
        if hub is None:
            hub = self.hubs[key] = Hub(key)
        return hub

    def find(self, hub: str, connection_id: str) -> LogicalConnection | None:
        found = self.hubs.get(hub.lower())
        return found.connections.get(connection_id) if found is not None else None

    def all_connections(self) -> Iterator[LogicalConnection]:
        for hub in self.hubs.values():
            yield from hub.connections.values()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- delivery -------------------------------------------------------------------------------
    async def send_frame(self, conn: LogicalConnection, text: str) -> None:
        """A control frame (ack, pong, system): no sequence id, lost if the socket is down."""
        ws = conn.ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(text)

    async def deliver(self, conn: LogicalConnection, out: Outbound) -> None:
        """A data message; on reliable connections it is numbered and kept until acknowledged."""
        if conn.ended:
            return
        ws = conn.ws
        if conn.kind == RELIABLE:
            assert conn.unacked is not None
            seq = conn.next_seq
            conn.next_seq += 1
            text = out.with_sequence(seq)
            conn.unacked.append((seq, text))
            conn.unacked_bytes += len(text)
            if len(conn.unacked) > self.config.max_unacked_messages or \
                    conn.unacked_bytes > self.config.max_unacked_bytes:
                await self.end(conn, "Too many messages are waiting for the client's sequence acknowledgement.",
                               code=CLOSE_POLICY)
                return
        elif conn.kind == JSON:
            text = out.text
        if ws is None or ws.closed:
            return
        try:
            if conn.kind != RAW:
                await ws.send_str(text)
            elif isinstance(out.raw, bytes):
                await ws.send_bytes(out.raw)
            else:
                await ws.send_str(out.raw)
        except (ConnectionError, RuntimeError):
            pass  # the reader notices the dead socket; reliable clients get it again on recovery

    async def deliver_many(self, targets: Iterable[LogicalConnection], out: Outbound) -> None:
        for conn in targets:
            await self.deliver(conn, out)

    # --- lifecycle ------------------------------------------------------------------------------
    def register(self, conn: LogicalConnection, ws: web.WebSocketResponse, groups: Iterable[str]) -> None:
        hub = self.hub(conn.hub)
        conn.ws = ws
        hub.add(conn)
        for group in groups:
            hub.join(conn, group)

    def transport_lost(self, conn: LogicalConnection, ws: web.WebSocketResponse, *, reason: str,
                       recoverable: bool) -> None:
        """The socket ``ws`` ended; keep a reliable connection for the recovery window, else end it."""
        if conn.ws is not ws or conn.ended:
            return  # already replaced by a recovery, or ended on purpose
        conn.ws = None
        if recoverable and conn.kind == RELIABLE:
            loop = asyncio.get_running_loop()
            conn.expiry = loop.call_later(self.config.recovery_window_seconds, self._expire, conn)
        else:
            self.spawn(self.end(conn, reason, code=None))

    def _expire(self, conn: LogicalConnection) -> None:
        conn.expiry = None
        if conn.ws is None and not conn.ended:
            self.spawn(self.end(conn, "The connection was not recovered within the recovery window.", code=None))

    async def end(self, conn: LogicalConnection, reason: str, *, code: int | None = CLOSE_NORMAL) -> None:
        """End the logical connection: tell the client (``system/disconnected``), close, fire upstream."""
        if conn.ended:
            return
        conn.ended = True
        if conn.expiry is not None:
            conn.expiry.cancel()
            conn.expiry = None
        self.hub(conn.hub).remove(conn)
        ws, conn.ws = conn.ws, None
        if conn.unacked is not None:
            conn.unacked.clear()
            conn.unacked_bytes = 0
        if ws is not None and not ws.closed and code is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if conn.kind != RAW:
                    await ws.send_str(messages.disconnected(reason))
                await ws.close(code=code, message=reason.encode()[:120])
        await self.fire_disconnected(conn, reason)

    async def fire_disconnected(self, conn: LogicalConnection, reason: str) -> None:
        if conn.connected_task is not None:
            with contextlib.suppress(Exception):
                await conn.connected_task
            conn.connected_task = None
        handler = self.upstream.handler_for(conn.hub, "disconnected", system=True)
        if handler is not None:
            await self.upstream.post_json(handler, conn.context(), "disconnected", {"reason": reason})

    def fire_connected(self, conn: LogicalConnection) -> None:
        handler = self.upstream.handler_for(conn.hub, "connected", system=True)
        if handler is None:
            return

        async def post() -> None:
            await self.upstream.post_json(handler, conn.context(), "connected", {})

        conn.connected_task = self.spawn(post())

    async def shutdown(self) -> None:
        for conn in list(self.all_connections()):
            await self.end(conn, "The service is shutting down.", code=1001)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
