"""The Web PubSub adapter against devhost's emulator, with the official Python client SDK as receiver."""

from __future__ import annotations

import itertools
import queue
import time
import uuid

import pytest
from azure.messaging.webpubsubclient import WebPubSubClient, WebPubSubClientCredential
from azure.messaging.webpubsubclient.models import CallbackType, SendMessageError, WebPubSubDataType

from application.ports.realtime import RealtimeUnavailable
from devhost.child_process import free_port
from infra.realtime.webpubsub import WebPubSubGateway, session_group

_hubs = itertools.count(1)


@pytest.fixture
def gateway(webpubsub_emulator):
    adapter = WebPubSubGateway(hub=f"adapter{next(_hubs)}", connection_string=webpubsub_emulator.connection_string)
    yield adapter
    adapter.close()


class Receiver:
    """An official client on a URL negotiated through the adapter; collects what it is sent."""

    def __init__(self, gateway: WebPubSubGateway, user_id: uuid.UUID) -> None:
        access = gateway.client_access(user_id, minutes=5)
        self.url = access.url
        self.messages: queue.Queue = queue.Queue()
        self.connected: queue.Queue = queue.Queue()
        self.client = WebPubSubClient(
            credential=WebPubSubClientCredential(client_access_url_provider=lambda: self.url), message_retry_total=0
        )
        self.client.subscribe(CallbackType.CONNECTED, lambda e: self.connected.put(e))
        self.client.subscribe(CallbackType.GROUP_MESSAGE, lambda e: self.messages.put(("group", e.group, e.data)))
        self.client.subscribe(CallbackType.SERVER_MESSAGE, lambda e: self.messages.put(("server", None, e.data)))

    def __enter__(self):
        self.client.open()
        event = self.connected.get(timeout=10)
        self.connection_id, self.user_id = event.connection_id, event.user_id
        return self

    def __exit__(self, *exc):
        self.client.close()

    def next(self, timeout=5.0):
        return self.messages.get(timeout=timeout)


def test_negotiated_url_names_the_user_and_grants_nothing(gateway):
    user = uuid.uuid4()
    with Receiver(gateway, user) as receiver:
        assert receiver.user_id == str(user)
        with pytest.raises(SendMessageError) as joined:
            receiver.client.join_group(session_group(uuid.uuid4()))
        assert joined.value.error_detail.name == "Forbidden"
        with pytest.raises(SendMessageError) as sent:
            receiver.client.send_to_group(session_group(uuid.uuid4()), {"x": 1}, WebPubSubDataType.JSON)
        assert sent.value.error_detail.name == "Forbidden"


def test_publish_to_a_session_reaches_its_connections_as_json(gateway):
    user, session = uuid.uuid4(), uuid.uuid4()
    with Receiver(gateway, user) as receiver, Receiver(gateway, uuid.uuid4()) as outsider:
        gateway.add_connection_to_sessions(receiver.connection_id, [session])
        gateway.publish_to_session(session, "message.created", {"session_id": session, "message": {"seq": 1}})
        # A REST send to a group reaches JSON clients as a server message (like the service).
        assert receiver.next()[2] == {"type": "message.created", "session_id": str(session), "message": {"seq": 1}}
        gateway.publish_to_user(user, "hello", {"n": 1})
        assert receiver.next() == ("server", None, {"type": "hello", "n": 1})
        with pytest.raises(queue.Empty):
            outsider.next(timeout=0.3)


def test_excluded_connection_and_user_membership(gateway):
    user, session = uuid.uuid4(), uuid.uuid4()
    with Receiver(gateway, user) as phone, Receiver(gateway, user) as laptop:
        gateway.add_user_to_sessions(user, [session])  # both devices
        gateway.publish_to_session(session, "typing", {"user_id": str(user)}, exclude_connection=phone.connection_id)
        assert laptop.next()[2] == {"type": "typing", "user_id": str(user)}
        with pytest.raises(queue.Empty):
            phone.next(timeout=0.3)
        gateway.remove_user_from_session(user, session)
        gateway.publish_to_session(session, "typing", {"user_id": str(user)})
        with pytest.raises(queue.Empty):
            laptop.next(timeout=0.3)


def test_connection_exists_while_the_client_is_connected(gateway):
    with Receiver(gateway, uuid.uuid4()) as phone:
        connection_id = phone.connection_id
        assert gateway.connection_exists(connection_id) is True
    for _ in range(50):  # the close reaches the service asynchronously
        if not gateway.connection_exists(connection_id):
            break
        time.sleep(0.05)
    assert gateway.connection_exists(connection_id) is False
    assert gateway.connection_exists("never-connected") is False


def test_membership_of_a_user_with_no_connection_is_not_an_error(gateway):
    gateway.add_user_to_sessions(uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()])


def test_an_unreachable_service_is_a_realtime_unavailable_error():
    unused = f"Endpoint=http://127.0.0.1:{free_port()};AccessKey=k;Version=1.0;"
    gone = WebPubSubGateway(hub="chat", connection_string=unused)
    with pytest.raises(RealtimeUnavailable):
        gone.publish_to_session(uuid.uuid4(), "x", {})
    with pytest.raises(RealtimeUnavailable):
        gone.add_connection_to_sessions("c", [uuid.uuid4()])


def test_a_wrong_key_is_a_realtime_unavailable_error(webpubsub_emulator):
    endpoint = webpubsub_emulator.connection_string.split(";")[0]
    wrong = WebPubSubGateway(hub="chat", connection_string=f"{endpoint};AccessKey=not-the-key;Version=1.0;")
    with pytest.raises(RealtimeUnavailable):
        wrong.publish_to_user(uuid.uuid4(), "x", {})


def test_a_session_broadcast_with_a_wrong_key_is_a_realtime_unavailable_error(webpubsub_emulator):
    endpoint = webpubsub_emulator.connection_string.split(";")[0]
    wrong = WebPubSubGateway(hub="chat", connection_string=f"{endpoint};AccessKey=not-the-key;Version=1.0;")
    with pytest.raises(RealtimeUnavailable):
        wrong.publish_to_session(uuid.uuid4(), "x", {})
    wrong.close()

