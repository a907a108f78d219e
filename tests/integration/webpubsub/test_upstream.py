"""Upstream CloudEvents calls: abuse protection, headers and signature, blocking connect and user events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.webpubsub import BackgroundEmulator, EventHandler
from tests.fixtures.webpubsub import TEST_ACCESS_KEY
from tests.integration.webpubsub.raw_socket import (
    RELIABLE,
    client_url,
    raw_socket,
    receive_close,
    receive_json,
)
from tests.integration.webpubsub.upstream_server import RecordingUpstream

pytestmark = pytest.mark.timeout(60)


async def wait(predicate, timeout: float = 5) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_events_carry_every_header_and_a_valid_signature(service: WebPubSubServiceClient,
                                                               upstream: RecordingUpstream, hub: str) -> None:
    upstream.rule = lambda r: ((200, {"Content-Type": "application/json", "ce-connectionState": "st1"},
                                b'{"userId": "alice"}') if r.event == "connect" else None)
    async with raw_socket(client_url(service, user_id="token-user")) as ws:
        connected = await receive_json(ws)
        await ws.send_json({"type": "event", "event": "typing", "dataType": "json", "data": {"a": 1}, "ackId": 1})
        assert (await receive_json(ws)) == {"type": "ack", "ackId": 1, "success": True}
    await wait(lambda: len(upstream.events("disconnected")) == 1)
    options = [r for r in upstream.requests if r.method == "OPTIONS"]
    assert options and options[0].headers["WebHook-Request-Origin"] == "127.0.0.1"
    assert options[0].path == f"/events/{hub}/validate"
    connect, connected_event, typing, disconnected = (upstream.events(n)[0] for n in
                                                      ("connect", "connected", "typing", "disconnected"))
    cid = connected["connectionId"]
    assert connected["userId"] == "alice"  # the connect response's userId replaces the token's sub
    signature = "sha256=" + hmac.new(TEST_ACCESS_KEY.encode(), cid.encode(), hashlib.sha256).hexdigest()
    for event, ce_type in ((connect, "sys.connect"), (connected_event, "sys.connected"), (typing, "user.typing"),
                           (disconnected, "sys.disconnected")):
        h = event.headers
        assert h["ce-type"] == f"azure.webpubsub.{ce_type}"
        assert h["ce-specversion"] == "1.0" and h["ce-awpsversion"] == "1.0"
        assert h["ce-hub"] == hub and h["ce-connectionId"] == cid
        assert h["ce-source"] == f"/hubs/{hub}/client/{cid}"
        assert h["ce-signature"] == signature
        assert h["WebHook-Request-Origin"] == "127.0.0.1"
        assert h["ce-time"].endswith("Z") and h["ce-id"]
        assert event.path == f"/events/{hub}/{h['ce-eventName']}"
    assert "ce-userId" not in connect.headers or connect.headers["ce-userId"] == "token-user"
    assert typing.headers["ce-userId"] == "alice" and typing.headers["ce-subprotocol"] == RELIABLE
    assert typing.headers["ce-connectionState"] == "st1"  # carried from the connect response
    assert json.loads(typing.body) == {"a": 1} and typing.headers["Content-Type"] == "application/json"
    body = json.loads(connect.body)
    assert body["claims"]["sub"] == ["token-user"] and "access_token" not in body["query"]
    assert body["subprotocols"] == [RELIABLE]
    assert json.loads(disconnected.body) == {"reason": "The client closed the connection."}
    assert upstream.bad_signatures == 0


@pytest.mark.parametrize("status", [401, 403])
async def test_connect_rejection_refuses_the_handshake(service: WebPubSubServiceClient, upstream: RecordingUpstream,
                                                       status: int) -> None:
    upstream.rule = lambda r: (status, {"Content-Type": "text/plain"}, b"go away") if r.event == "connect" else None
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with raw_socket(client_url(service, user_id="mallory")):
            pass
    assert refused.value.status == status
    assert upstream.events("connected") == [] and upstream.events("disconnected") == []


async def test_connect_response_groups_and_roles_apply(service: WebPubSubServiceClient,
                                                       upstream: RecordingUpstream) -> None:
    upstream.rule = lambda r: ((200, {"Content-Type": "application/json"},
                                b'{"groups": ["g1"], "roles": ["webpubsub.sendToGroup.g1"]}')
                               if r.event == "connect" else None)
    async with raw_socket(client_url(service, user_id="u")) as ws:
        await receive_json(ws)
        await ws.send_json({"type": "sendToGroup", "group": "g1", "dataType": "text", "data": "x", "ackId": 1})
        replies = [await receive_json(ws), await receive_json(ws)]
        assert {r["type"] for r in replies} == {"message", "ack"}
        assert service.group_exists("g1")


async def test_abuse_protection_failure_blocks_delivery(service: WebPubSubServiceClient,
                                                        upstream: RecordingUpstream, hub: str,
                                                        webpubsub_emulator: BackgroundEmulator) -> None:
    upstream.allowed_origin = "some-other-host"
    webpubsub_emulator.set_hub(hub, (EventHandler(url=upstream.url),))  # forget the cached validation
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with raw_socket(client_url(service, user_id="u")):
            pass
    assert refused.value.status == 500
    assert upstream.events() == []


async def test_user_event_reply_is_sent_before_the_ack(service: WebPubSubServiceClient,
                                                       upstream: RecordingUpstream) -> None:
    upstream.rule = lambda r: ((200, {"Content-Type": "application/json"}, b'{"ok": true}')
                               if r.event == "ask" else None)
    async with raw_socket(client_url(service, user_id="u")) as ws:
        await receive_json(ws)
        await ws.send_json({"type": "event", "event": "ask", "dataType": "text", "data": "q", "ackId": 7})
        first, second = await receive_json(ws), await receive_json(ws)
    assert first == {"type": "message", "from": "server", "dataType": "json", "data": {"ok": True}, "sequenceId": 1}
    assert second == {"type": "ack", "ackId": 7, "success": True}


@pytest.mark.parametrize("status", [400, 500])
async def test_user_event_failure_drops_the_client(service: WebPubSubServiceClient, upstream: RecordingUpstream,
                                                   status: int) -> None:
    upstream.rule = lambda r: (status, {}, b"no") if r.event == "bad" else None
    async with raw_socket(client_url(service, user_id="u")) as ws:
        connected = await receive_json(ws)
        await ws.send_json({"type": "event", "event": "bad", "dataType": "text", "data": "q", "ackId": 1})
        system = await receive_json(ws)
        assert system["type"] == "system" and system["event"] == "disconnected"
        assert await receive_close(ws) == 1011
    assert not service.connection_exists(connected["connectionId"])
    await wait(lambda: len(upstream.events("disconnected")) == 1)


async def test_event_without_handler_drops_the_client(service: WebPubSubServiceClient, hub: str,
                                                      webpubsub_emulator: BackgroundEmulator,
                                                      upstream: RecordingUpstream) -> None:
    webpubsub_emulator.set_hub(hub, (EventHandler(url=upstream.url, user_events=("chat.*",)),))
    async with raw_socket(client_url(service, user_id="u")) as ws:
        await receive_json(ws)
        await ws.send_json({"type": "event", "event": "chat.send", "dataType": "text", "data": "ok", "ackId": 1})
        assert (await receive_json(ws))["type"] == "ack"
        await ws.send_json({"type": "event", "event": "other", "dataType": "text", "data": "x", "ackId": 2})
        assert (await receive_json(ws))["event"] == "disconnected"
        assert await receive_close(ws) == 1011


async def test_disconnected_fires_once_per_logical_connection(service: WebPubSubServiceClient, hub: str,
                                                             upstream: RecordingUpstream,
                                                             webpubsub_emulator: BackgroundEmulator) -> None:
    async with raw_socket(client_url(service, user_id="u")) as ws:
        connected = await receive_json(ws)
    cid, token = connected["connectionId"], connected["reconnectionToken"]
    # the socket above closed cleanly: the logical connection ended
    await wait(lambda: len(upstream.events("disconnected")) == 1)

    async with raw_socket(client_url(service, user_id="v")) as ws:
        connected = await receive_json(ws)
        cid, token = connected["connectionId"], connected["reconnectionToken"]
        webpubsub_emulator.cut(hub, cid)
        assert await receive_close(ws) is not None
    await asyncio.sleep(0.2)
    assert [e.headers["ce-connectionId"] for e in upstream.events("disconnected")].count(cid) == 0  # recoverable
    url = client_url(service, user_id="v") + f"&awps_connection_id={cid}&awps_reconnection_token={token}"
    async with raw_socket(url) as ws:
        again = await receive_json(ws)
        assert again["connectionId"] == cid
    await wait(lambda: [e.headers["ce-connectionId"] for e in upstream.events("disconnected")].count(cid) == 1)
    await asyncio.sleep(0.3)
    assert [e.headers["ce-connectionId"] for e in upstream.events("disconnected")].count(cid) == 1
    assert len(upstream.events("connected")) == 2  # one per logical connection, none for the recovery


async def test_raw_client_frames_become_message_events(service: WebPubSubServiceClient,
                                                       upstream: RecordingUpstream) -> None:
    upstream.rule = lambda r: ((200, {"Content-Type": "text/plain"}, b"pong:" + r.body)
                               if r.event == "message" else None)
    async with raw_socket(client_url(service, user_id="raw"), protocols=()) as ws:
        assert ws.protocol is None
        await ws.send_str("ping")
        reply = await ws.receive(5)
        assert reply.type == aiohttp.WSMsgType.TEXT and reply.data == "pong:ping"
        await ws.send_bytes(b"\x01")
        reply = await ws.receive(5)
        assert reply.data == "pong:\x01"
        service.send_to_user("raw", b"\x02", content_type="application/octet-stream")
        binary = await ws.receive(5)
        assert binary.type == aiohttp.WSMsgType.BINARY and binary.data == b"\x02"
    message = upstream.events("message")[0]
    assert message.headers["ce-type"] == "azure.webpubsub.user.message"
    assert message.headers["Content-Type"].startswith("text/plain") and "ce-subprotocol" not in message.headers
    assert upstream.events("message")[1].headers["Content-Type"] == "application/octet-stream"
