"""The JSON WebSocket subprotocols frame by frame: handshake, acks, limits, replay, recovery failures."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.child_process import free_port
from devhost.webpubsub import BackgroundEmulator, EmulatorConfig, parse_connection_string
from tests.fixtures.webpubsub import TEST_ACCESS_KEY, emulator_connection_string
from tests.integration.webpubsub.raw_socket import JSON, RELIABLE, client_url, raw_socket, receive_close, receive_json

pytestmark = pytest.mark.timeout(60)
ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]


def recovery_url(base: str, connected: dict[str, str]) -> str:
    return (f"{base}&awps_connection_id={connected['connectionId']}"
            f"&awps_reconnection_token={connected['reconnectionToken']}")


@pytest.mark.parametrize("protocol", [JSON, RELIABLE])
async def test_subprotocol_is_echoed_and_connected_comes_first(service: WebPubSubServiceClient,
                                                               protocol: str) -> None:
    async with raw_socket(client_url(service, user_id="u"), protocols=(protocol,)) as ws:
        assert ws.protocol == protocol
        connected = await receive_json(ws)
        assert connected["type"] == "system" and connected["event"] == "connected"
        assert connected["userId"] == "u" and connected["connectionId"]
        assert ("reconnectionToken" in connected) == (protocol == RELIABLE)
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
        service.send_to_all("x", content_type="text/plain")
        message = await receive_json(ws)
        assert ("sequenceId" in message) == (protocol == RELIABLE)


async def test_hub_from_query_and_bearer_header(service: WebPubSubServiceClient, hub: str,
                                                webpubsub_emulator: BackgroundEmulator) -> None:
    token = service.get_client_access_token(user_id="q")["token"]
    url = f"ws://127.0.0.1:{webpubsub_emulator.port}/client/?hub={hub}"
    async with raw_socket(url, headers={"Authorization": f"Bearer {token}"}) as ws:
        assert (await receive_json(ws))["userId"] == "q"


async def test_acks_duplicates_and_bad_requests(service: WebPubSubServiceClient) -> None:
    async with raw_socket(client_url(service, user_id="u", roles=ROLES)) as ws:
        await receive_json(ws)
        await ws.send_json({"type": "joinGroup", "group": "g", "ackId": 5})
        assert await receive_json(ws) == {"type": "ack", "ackId": 5, "success": True}
        await ws.send_json({"type": "joinGroup", "group": "g", "ackId": 5})
        duplicate = await receive_json(ws)
        assert duplicate["success"] is False and duplicate["error"]["name"] == "Duplicate"
        for bad in ({"type": "joinGroup", "group": "   ", "ackId": 6},
                    {"type": "sendToGroup", "group": "g", "dataType": "xml", "data": "x", "ackId": 7},
                    {"type": "sendToGroup", "group": "g", "dataType": "binary", "data": "%%%", "ackId": 8},
                    {"type": "sendToGroup", "group": "g", "dataType": "text", "data": 1, "ackId": 9},
                    {"type": "event", "event": "9bad", "dataType": "text", "data": "x", "ackId": 10}):
            await ws.send_json(bad)
            ack = await receive_json(ws)
            assert ack["ackId"] == bad["ackId"] and ack["error"]["name"] == "BadRequest", ack
        await ws.send_json({"type": "leaveGroup", "group": "g"})  # no ackId: fire and forget
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
    assert not service.group_exists("g")


async def test_forbidden_without_roles(service: WebPubSubServiceClient) -> None:
    async with raw_socket(client_url(service, user_id="u")) as ws:
        await receive_json(ws)
        await ws.send_json({"type": "joinGroup", "group": "g", "ackId": 1})
        assert (await receive_json(ws))["error"]["name"] == "Forbidden"
        await ws.send_json({"type": "sendToGroup", "group": "g", "dataType": "text", "data": "x", "ackId": 2})
        assert (await receive_json(ws))["error"]["name"] == "Forbidden"
        await ws.send_json({"type": "joinGroup", "group": "g", "ackId": 1})  # a refused ack id may be retried
        assert (await receive_json(ws))["error"]["name"] == "Forbidden"


@pytest.mark.parametrize(("frame", "code"), [
    ("not json", 1007), ('{"type": "bogus"}', 1007), ("[1]", 1007),
    ('{"type":"joinGroup","group":"g","ackId":-1}', 1007), ('{"type":"sequenceAck"}', 1007), (b"\x01", 1003)])
async def test_malformed_messages_close_the_connection(service: WebPubSubServiceClient, frame: str | bytes,
                                                       code: int) -> None:
    async with raw_socket(client_url(service, user_id="u")) as ws:
        connected = await receive_json(ws)
        await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        assert await receive_close(ws) == code
    assert not service.connection_exists(connected["connectionId"])


async def test_frames_over_1_mb_are_refused(service: WebPubSubServiceClient) -> None:
    async with raw_socket(client_url(service, user_id="u", roles=ROLES)) as ws:
        await receive_json(ws)
        small = '{"type":"sendToGroup","group":"g","dataType":"text","data":"' + "x" * 1000 + '"}'
        await ws.send_str(small)
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
        await ws.send_str('{"type":"sendToGroup","group":"g","dataType":"text","data":"' + "x" * 1024 * 1024 + '"}')
        assert await receive_close(ws) == 1009


@pytest.mark.parametrize("case", ["missing", "expired", "wrong key", "wrong hub", "wrong host"])
async def test_bad_client_tokens_get_401(webpubsub_emulator: BackgroundEmulator, hub: str, case: str) -> None:
    port = webpubsub_emulator.port
    aud = f"http://127.0.0.1:{port}/client/hubs/{hub}"
    claims = {"aud": aud, "exp": int(time.time()) + 60, "sub": "u"}
    key = TEST_ACCESS_KEY
    if case == "expired":
        claims["exp"] = int(time.time()) - 600
    elif case == "wrong key":
        key = "K" * 44
    elif case == "wrong hub":
        claims["aud"] = f"http://127.0.0.1:{port}/client/hubs/other"
    elif case == "wrong host":
        claims["aud"] = f"http://example.com:{port}/client/hubs/{hub}"
    token = "" if case == "missing" else jwt.encode(claims, key.encode(), algorithm="HS256")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with raw_socket(f"ws://127.0.0.1:{port}/client/hubs/{hub}?access_token={token}"):
            pass
    assert refused.value.status == 401


async def test_invalid_hub_name_is_400(webpubsub_emulator: BackgroundEmulator) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with raw_socket(f"ws://127.0.0.1:{webpubsub_emulator.port}/client/hubs/1hub?access_token=x"):
            pass
    assert refused.value.status == 400


async def test_recovery_replays_unacked_messages_with_their_sequence_ids(
        service: WebPubSubServiceClient, webpubsub_emulator: BackgroundEmulator, hub: str) -> None:
    base = client_url(service, user_id="u")
    async with raw_socket(base) as ws:
        connected = await receive_json(ws)
        for text in ("a", "b", "c"):
            service.send_to_user("u", text, content_type="text/plain")
        assert [(await receive_json(ws))["sequenceId"] for _ in range(3)] == [1, 2, 3]
        await ws.send_json({"type": "sequenceAck", "sequenceId": 1})
        await asyncio.sleep(0.1)
        webpubsub_emulator.cut(hub, connected["connectionId"])
        await receive_close(ws)
    service.send_to_user("u", "d", content_type="text/plain")  # while the socket is down
    async with raw_socket(recovery_url(base, connected)) as ws:
        again = await receive_json(ws)
        assert again["event"] == "connected" and again["connectionId"] == connected["connectionId"]
        replayed = [await receive_json(ws) for _ in range(3)]
        assert [(m["data"], m["sequenceId"]) for m in replayed] == [("b", 2), ("c", 3), ("d", 4)]
        await ws.send_json({"type": "sequenceAck", "sequenceId": 4})
        service.send_to_user("u", "e", content_type="text/plain")
        assert (await receive_json(ws))["sequenceId"] == 5


async def test_failed_recovery_closes_with_1008(service: WebPubSubServiceClient,
                                                webpubsub_emulator: BackgroundEmulator, hub: str) -> None:
    base = client_url(service, user_id="u")
    async with raw_socket(base) as ws:
        connected = await receive_json(ws)
        webpubsub_emulator.cut(hub, connected["connectionId"])
        await receive_close(ws)
    for url in (recovery_url(base, {**connected, "reconnectionToken": "forged"}),
                recovery_url(base, {**connected, "connectionId": "unknown"})):
        async with raw_socket(url) as ws:
            assert ws.protocol == RELIABLE
            assert await receive_close(ws) == 1008
    service.close_connection(connected["connectionId"], reason="closed by the app")
    async with raw_socket(recovery_url(base, connected)) as ws:
        assert await receive_close(ws) == 1008


async def test_recovery_window_expiry_ends_the_connection() -> None:
    port = free_port()
    cs = emulator_connection_string(port)
    config = EmulatorConfig(connection=parse_connection_string(cs), recovery_window_seconds=0.3)
    with BackgroundEmulator(config) as emulator:
        service = WebPubSubServiceClient.from_connection_string(cs, hub="short")
        base = client_url(service, user_id="u")
        async with raw_socket(base) as ws:
            connected = await receive_json(ws)
            emulator.cut("short", connected["connectionId"])
            await receive_close(ws)
        assert service.connection_exists(connected["connectionId"])  # kept within the window
        await asyncio.sleep(0.6)
        assert not service.connection_exists(connected["connectionId"])
        async with raw_socket(recovery_url(base, connected)) as ws:
            assert await receive_close(ws) == 1008


async def test_unacked_buffer_overflow_closes_for_good() -> None:
    port = free_port()
    cs = emulator_connection_string(port)
    config = EmulatorConfig(connection=parse_connection_string(cs), max_unacked_messages=5)
    with BackgroundEmulator(config) as emulator:
        service = WebPubSubServiceClient.from_connection_string(cs, hub="small")
        async with raw_socket(client_url(service, user_id="u")) as ws:
            connected = await receive_json(ws)
            for i in range(6):
                service.send_to_user("u", str(i), content_type="text/plain")
            assert await receive_close(ws) == 1008
        assert emulator.connection_ids("small") == []
        assert not service.connection_exists(connected["connectionId"])
