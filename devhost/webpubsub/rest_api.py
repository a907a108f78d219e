"""The data-plane REST API (api-version 2024-12-01) that ``azure-messaging-webpubsubservice`` calls.

Routing is done on the raw, still percent-encoded path (a group ``a/b`` arrives as ``a%2Fb``), and
each segment is decoded once. Every call needs ``Authorization: Bearer <HS256 JWT>`` whose ``aud``
is the request URL exactly as sent (host compared case-insensitively). Status codes follow the
SDK's expectations: 202 sends, 200 adds/grants, 204 removes/closes, 200/404 existence checks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from aiohttp import web

from devhost.webpubsub import names, permissions
from devhost.webpubsub.messages import Outbound, decode_payload
from devhost.webpubsub.odata_filter import FilterError, parse_filter
from devhost.webpubsub.service import Hub, LogicalConnection, Service
from devhost.webpubsub.tokens import TokenError, audience_matches, decode, issue_client_token

log = logging.getLogger("devhost.webpubsub")
Predicate = Callable[[str, "str | None", Collection[str]], bool]


class RestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _accepted() -> web.Response:
    return web.Response(status=202)


def _ok() -> web.Response:
    return web.Response(status=200)


def _no_content() -> web.Response:
    return web.Response(status=204)


class RestApi:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.config = service.config

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except RestError as exc:
            if request.method == "HEAD":
                return web.Response(status=exc.status)
            return web.json_response({"code": exc.code, "message": exc.message}, status=exc.status)

    def _authenticate(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            raise RestError(401, "Unauthorized", "an 'Authorization: Bearer <JWT>' header is required")
        try:
            claims = decode(auth[7:].strip(), self.config.keys, leeway=self.config.clock_skew_seconds)
        except TokenError as exc:
            raise RestError(401, "Unauthorized", f"invalid token: {exc}") from exc
        expected = f"{request.scheme}://{request.host}{request.raw_path}"
        if not audience_matches(claims, expected, client=False):
            raise RestError(401, "Unauthorized", f"the token's audience is not {expected}")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = urlsplit(request.raw_path).path
        segments = raw_path.split("/")[1:]  # ["api", ...]
        if segments in (["api", "health"],):
            return _ok()
        if len(segments) < 4 or segments[:2] != ["api", "hubs"]:
            raise RestError(404, "NotFound", f"no such API: {raw_path}")
        self._authenticate(request)
        hub_name = unquote(segments[2])
        if not names.valid_hub(hub_name):
            raise RestError(400, "BadRequest", f"invalid hub name {hub_name!r}")
        hub = self.service.hub(hub_name)
        rest = [unquote(s) for s in segments[3:]]
        method = request.method
        query = parse_qsl(urlsplit(request.raw_path).query, keep_blank_values=True)

        def values(name: str) -> list[str]:
            return [v for k, v in query if k == name]

        def one(name: str) -> str | None:
            found = values(name)
            return found[0] if found else None

        excluded = set(values("excluded"))
        route = tuple(rest)
        match route:
            case (":send",):
                self._method(method, "POST")
                return await self._send(request, hub, hub.connections.values(), excluded, one("filter"))
            case (":closeConnections",):
                self._method(method, "POST")
                await self._close(list(hub.connections.values()), excluded, one("reason"))
                return _no_content()
            case (":generateToken",):
                self._method(method, "POST")
                return self._generate_token(request, hub_name, one, values)
            case (":addToGroups",) | (":removeFromGroups",):
                self._method(method, "POST")
                return await self._groups_by_filter(request, hub, add=route[0] == ":addToGroups")
            case ("groups", group):
                self._method(method, "HEAD")
                self._group_name(group)
                return _ok() if hub.group_connections(group) else web.Response(status=404)
            case ("groups", group, ":send"):
                self._method(method, "POST")
                self._group_name(group)
                return await self._send(request, hub, hub.group_connections(group), excluded, one("filter"),
                                        group=group)
            case ("groups", group, ":closeConnections"):
                self._method(method, "POST")
                self._group_name(group)
                await self._close(hub.group_connections(group), excluded, one("reason"))
                return _no_content()
            case ("groups", group, "connections"):
                self._method(method, "GET")
                self._group_name(group)
                return self._list(request, hub, group, one)
            case ("groups", group, "connections", connection_id):
                self._group_name(group)
                if method == "PUT":
                    hub.join(self._connection(hub, connection_id), group)
                    return _ok()
                self._method(method, "DELETE")
                conn = hub.connections.get(connection_id)
                if conn is not None:
                    hub.leave(conn, group)
                return _no_content()
            case ("users", user_id):
                self._method(method, "HEAD")
                return _ok() if hub.user_connections(user_id) else web.Response(status=404)
            case ("users", user_id, ":send"):
                self._method(method, "POST")
                return await self._send(request, hub, hub.user_connections(user_id), set(), one("filter"))
            case ("users", user_id, ":closeConnections"):
                self._method(method, "POST")
                await self._close(hub.user_connections(user_id), excluded, one("reason"))
                return _no_content()
            case ("users", user_id, "groups"):
                self._method(method, "DELETE")
                for conn in hub.user_connections(user_id):
                    for group in list(conn.groups):
                        hub.leave(conn, group)
                return _no_content()
            case ("users", user_id, "groups", group):
                self._group_name(group)
                conns = hub.user_connections(user_id)
                if method == "PUT":
                    if not conns:
                        raise RestError(404, "NotFound", f"user {user_id!r} has no connection")
                    for conn in conns:
                        hub.join(conn, group)
                    return _ok()
                self._method(method, "DELETE")
                for conn in conns:
                    hub.leave(conn, group)
                return _no_content()
            case ("connections", connection_id):
                conn = hub.connections.get(connection_id)
                if method == "HEAD":
                    return _ok() if conn is not None else web.Response(status=404)
                self._method(method, "DELETE")
                if conn is not None:
                    await self._close([conn], set(), one("reason"))
                return _no_content()
            case ("connections", connection_id, ":send"):
                self._method(method, "POST")
                conn = hub.connections.get(connection_id)
                return await self._send(request, hub, [conn] if conn else [], set(), None)
            case ("connections", connection_id, "groups"):
                self._method(method, "DELETE")
                conn = hub.connections.get(connection_id)
                if conn is not None:
                    for group in list(conn.groups):
                        hub.leave(conn, group)
                return _no_content()
            case ("permissions", permission, "connections", connection_id):
                return self._permission(method, hub, permission, connection_id, one("targetName"))
        raise RestError(404, "NotFound", f"no such API: {raw_path}")

    # --- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _method(actual: str, expected: str) -> None:
        if actual != expected:
            raise RestError(405, "MethodNotAllowed", f"use {expected}")

    @staticmethod
    def _group_name(group: str) -> None:
        if not names.valid_group(group):
            raise RestError(400, "BadRequest", "the group name must be 1 to 1024 characters and not only whitespace")

    @staticmethod
    def _connection(hub: Hub, connection_id: str) -> LogicalConnection:
        conn = hub.connections.get(connection_id)
        if conn is None:
            raise RestError(404, "NotFound", f"connection {connection_id!r} does not exist")
        return conn

    @staticmethod
    def _predicate(text: str | None) -> Predicate | None:
        if text is None:
            return None
        try:
            return parse_filter(text)
        except FilterError as exc:
            raise RestError(400, "BadRequest", f"invalid filter: {exc}") from exc

    async def _send(self, request: web.Request, hub: Hub, targets: Any, excluded: set[str],
                    filter_text: str | None, *, group: str | None = None) -> web.Response:
        """Sends to a group arrive as group messages (without ``fromUserId``), all others as server ones."""
        predicate = self._predicate(filter_text)
        ttl = request.query.get("messageTtlSeconds")
        if ttl is not None and (not ttl.isdigit() or not 0 <= int(ttl) <= 300):
            raise RestError(400, "BadRequest", "messageTtlSeconds must be 0 to 300")
        body = await request.read()
        try:
            data_type, data = decode_payload(request.headers.get("Content-Type"), body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RestError(400, "BadRequest", str(exc)) from exc
        chosen = [c for c in list(targets) if c.connection_id not in excluded
                  and (predicate is None or predicate(c.connection_id, c.user_id, c.groups))]
        if chosen:
            out = Outbound.server(data_type, data) if group is None else Outbound.group(group, data_type, data, None)
            await self.service.deliver_many(chosen, out)
        return _accepted()

    async def _close(self, targets: list[LogicalConnection], excluded: set[str], reason: str | None) -> None:
        for conn in targets:
            if conn.connection_id not in excluded:
                await self.service.end(conn, reason or "The connection was closed by the service.")

    def _list(self, request: web.Request, hub: Hub, group: str, one: Callable[[str], str | None]) -> web.Response:
        try:
            page = int(one("maxpagesize") or 200)
            top_text = one("top")
            top = int(top_text) if top_text is not None else None
            start = int(one("continuationToken") or 0)
        except ValueError as exc:
            raise RestError(400, "BadRequest", "maxpagesize, top and continuationToken must be integers") from exc
        if not 1 <= page <= 200 or (top is not None and top < 1) or start < 0:
            raise RestError(400, "BadRequest", "maxpagesize must be 1 to 200 and top at least 1")
        members = sorted(hub.group_connections(group), key=lambda c: c.connection_id)
        end = len(members) if top is None else min(len(members), top)
        stop = min(end, start + page)
        body: dict[str, Any] = {"value": [{"connectionId": c.connection_id, "userId": c.user_id}
                                          for c in members[start:stop]]}
        if stop < end:
            params = [("api-version", one("api-version") or "2024-12-01"), ("maxpagesize", str(page)),
                      ("continuationToken", str(stop))]
            if top is not None:
                params.append(("top", str(top)))
            path = urlsplit(request.raw_path).path
            body["nextLink"] = f"{request.scheme}://{request.host}{path}?" + "&".join(
                f"{k}={quote(v, safe='')}" for k, v in params)
        return web.json_response(body)

    def _generate_token(self, request: web.Request, hub_name: str, one: Callable[[str], str | None],
                        values: Callable[[str], list[str]]) -> web.Response:
        try:
            minutes = float(one("minutesToExpire") or 60)
        except ValueError as exc:
            raise RestError(400, "BadRequest", "minutesToExpire must be a number") from exc
        audience = f"{self.config.connection.endpoint.lower()}/client/hubs/{hub_name}"
        token = issue_client_token(self.config.connection.access_key, audience, user_id=one("userId"),
                                   roles=values("role"), groups=values("group"), minutes=minutes)
        return web.json_response({"token": token})

    async def _groups_by_filter(self, request: web.Request, hub: Hub, *, add: bool) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError as exc:
            raise RestError(400, "BadRequest", "the body must be JSON {\"groups\": [...], \"filter\": ...}") from exc
        groups = body.get("groups") if isinstance(body, dict) else None
        if not isinstance(groups, list) or not all(names.valid_group(g) for g in groups):
            raise RestError(400, "BadRequest", "'groups' must be a list of valid group names")
        predicate = self._predicate(body.get("filter"))
        for conn in list(hub.connections.values()):
            if predicate is None or predicate(conn.connection_id, conn.user_id, conn.groups):
                for group in groups:
                    (hub.join if add else hub.leave)(conn, group)
        return _ok()

    def _permission(self, method: str, hub: Hub, permission: str, connection_id: str,
                    target: str | None) -> web.Response:
        if permission not in permissions.PERMISSIONS:
            raise RestError(400, "BadRequest", f"permission must be one of {', '.join(permissions.PERMISSIONS)}")
        if target is not None:
            self._group_name(target)
        role = permissions.role_name(permission, target)
        conn = hub.connections.get(connection_id)
        if method == "PUT":
            self._connection(hub, connection_id).roles.add(role)
            return _ok()
        if method == "DELETE":
            if conn is not None:
                conn.roles.discard(role)
                if target is None:  # revoking the hub-wide permission revokes the per-group ones too
                    prefix = role + "."
                    conn.roles.difference_update({r for r in conn.roles if r.startswith(prefix)})
            return _no_content()
        self._method(method, "HEAD")
        if conn is None:
            return web.Response(status=404)
        granted = permissions.allowed(conn.roles, permission, target) if target is not None else role in conn.roles
        return _ok() if granted else web.Response(status=404)
