"""The official Python client SDK (``azure-messaging-webpubsubclient``) against the emulator."""

from __future__ import annotations

import threading
import time

import pytest
from azure.messaging.webpubsubclient.models import SendMessageError, WebPubSubDataType
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.webpubsub import BackgroundEmulator
from tests.integration.webpubsub.clients import sdk_client, wait_until
from tests.integration.webpubsub.upstream_server import RecordingUpstream

pytestmark = pytest.mark.timeout(90)


def test_connect_join_send_receive_and_no_echo(service: WebPubSubServiceClient) -> None:
    alice, alice_inbox = sdk_client(service, user_id="alice")
    bob, bob_inbox = sdk_client(service, user_id="bob")
    with alice, bob:
        assert alice_inbox.connection_id() != bob_inbox.connection_id()
        alice.join_group("room")
        bob.join_group("room")
        alice.send_to_group("room", {"text": "hello"}, WebPubSubDataType.JSON)
        alice.send_to_group("room", "quiet", WebPubSubDataType.TEXT, no_echo=True)
        bob.send_to_group("room", memoryview(b"\x00\xff"), WebPubSubDataType.BINARY)
        bob_inbox.wait_for(lambda: len(bob_inbox.items) == 3)
        alice_inbox.wait_for(lambda: len(alice_inbox.items) == 2)
        alice.leave_group("room")
        bob.send_to_group("room", "after leave", WebPubSubDataType.TEXT)
        bob_inbox.wait_for(lambda: len(bob_inbox.items) == 4)
        time.sleep(0.2)
    assert alice_inbox.data() == [{"text": "hello"}, b"\x00\xff"]
    assert bob_inbox.data() == [{"text": "hello"}, "quiet", b"\x00\xff", "after leave"]
    assert bob_inbox.items[0][1] == "room"


def test_token_groups_are_joined_and_roles_enforced(service: WebPubSubServiceClient) -> None:
    alice, inbox = sdk_client(service, roles=["webpubsub.joinLeaveGroup.mine", "webpubsub.sendToGroups.team.*"],
                              groups=["auto"], message_retry_total=0)
    with alice:
        inbox.connection_id()
        service.send_to_group("auto", "joined by token", content_type="text/plain")
        inbox.wait_for(lambda: inbox.data() == ["joined by token"])
        alice.join_group("mine")
        with pytest.raises(SendMessageError) as refused:
            alice.join_group("theirs")
        assert refused.value.error_detail.name == "Forbidden"
        alice.send_to_group("team.red", "ok", WebPubSubDataType.TEXT)
        with pytest.raises(SendMessageError) as refused:
            alice.send_to_group("team.red.x", "no", WebPubSubDataType.TEXT)  # * stays within one segment
        assert refused.value.error_detail.name == "Forbidden"
        assert not service.group_exists("theirs")


def test_send_event_reaches_the_upstream_and_its_reply_comes_back(service: WebPubSubServiceClient,
                                                                 upstream: RecordingUpstream) -> None:
    upstream.rule = lambda r: (200, {"Content-Type": "text/plain"}, b"echo:" + r.body) if r.event == "hello" else None
    alice, inbox = sdk_client(service)
    with alice:
        inbox.connection_id()
        alice.send_event("hello", "there", WebPubSubDataType.TEXT)
        inbox.wait_for(lambda: inbox.data() == ["echo:there"])
    [event] = upstream.events("hello")
    assert event.headers["ce-type"] == "azure.webpubsub.user.hello"
    assert event.body == b"there" and event.headers["Content-Type"].startswith("text/plain")


def test_recovery_after_the_socket_is_cut_delivers_every_message_exactly_once(
        service: WebPubSubServiceClient, webpubsub_emulator: BackgroundEmulator, hub: str) -> None:
    receiver, inbox = sdk_client(service, user_id="receiver")
    with receiver:
        connection_id = inbox.connection_id()
        receiver.join_group("room")
        sent: list[str] = []
        stop = threading.Event()

        def stream() -> None:
            i = 0
            while not stop.is_set() or i < 30:
                service.send_to_group("room", f"m{i}", content_type="text/plain")
                sent.append(f"m{i}")
                i += 1
                time.sleep(0.005)

        sender = threading.Thread(target=stream)
        sender.start()
        for _ in range(5):  # cut while messages stream, before the client's once-a-second sequenceAck
            time.sleep(0.15)
            webpubsub_emulator.cut(hub, connection_id)
            wait_until(lambda: webpubsub_emulator.run(
                lambda: (c := webpubsub_emulator.emulator.service.find(hub, connection_id)) is not None
                and c.ws is not None), what="recovery")
        stop.set()
        sender.join()
        inbox.wait_for(lambda: len(inbox.items) >= len(sent), timeout=20)
        time.sleep(0.3)
    assert inbox.data() == sent  # every message once, in order
    assert [i[3] for i in inbox.items] == list(range(1, len(sent) + 1))
    assert inbox.connected == [connection_id]  # recovered: the same logical connection, no reconnect


def test_a_connection_that_cannot_be_recovered_reconnects_and_rejoins(
        service: WebPubSubServiceClient, webpubsub_emulator: BackgroundEmulator, hub: str) -> None:
    client, inbox = sdk_client(service, user_id="alice")
    with client:
        first = inbox.connection_id()
        client.join_group("room")
        service.close_connection(first, reason="kicked")  # ends the logical connection: recovery gets 1008
        wait_until(lambda: len(inbox.connected) == 2, what="a new connection")
        assert inbox.connected[1] != first
        wait_until(lambda: service.group_exists("room"), what="auto rejoin")
        service.send_to_group("room", "back", content_type="text/plain")
        inbox.wait_for(lambda: "back" in inbox.data())
