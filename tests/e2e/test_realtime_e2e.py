"""Real time end to end: devhost serving the real function_app, the Web PubSub emulator calling its
event handler, and the official Python client SDK on a URL from ``/api/negotiate``.
"""

from __future__ import annotations

import itertools
import json
import queue
import time
import uuid
from pathlib import Path

import pytest
from azure.messaging.webpubsubclient import WebPubSubClient, WebPubSubClientCredential
from azure.messaging.webpubsubclient.models import CallbackType, WebPubSubDataType
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from application.realtime.upstream import sign
from devhost.webpubsub import EventHandler
from domain.chat import ChatSession, MemberRole, SessionMember
from tests.e2e.test_app_e2e import call
from tests.e2e.test_tokens_e2e import InProcess, bearer
from tests.fixtures.webpubsub import TEST_ACCESS_KEY

APP = "function_app"
_hubs = itertools.count(1)
_LAUNCHER = (Path(__file__).parents[2] / "devhost" / "__main__.py").read_text()


@pytest.fixture
def realtime_env(tmp_path, webpubsub_emulator):
    from tests.e2e.app_env import migrated_app_env

    return migrated_app_env(
        tmp_path,
        WebPubSubConnectionString=webpubsub_emulator.connection_string,
        WEBPUBSUB_HUB=f"e2e{next(_hubs)}",
        WEBPUBSUB_ALLOWED_ORIGINS="127.0.0.1",
    )


@pytest.fixture
def running(realtime_env, start_devhost, webpubsub_emulator):
    # The session emulator stands in for the one devhost would start itself.
    extra = ["--no-webpubsub"] if "no-webpubsub" in _LAUNCHER else []
    with start_devhost(APP, env=realtime_env, extra_args=extra) as (base, _process):
        hub = realtime_env["WEBPUBSUB_HUB"]
        webpubsub_emulator.set_hub(hub, (EventHandler(url=f"{base}/api/realtime/events"),))
        side = InProcess(realtime_env)
        try:
            yield base, hub, side
        finally:
            side.engine.dispose()


def _session_with(side, *users):
    session = ChatSession(title="Sala", created_by=users[0].id)
    with side.uow_factory() as uow:
        uow.sessions.add(session)
        for n, user in enumerate(users):
            role = MemberRole.OWNER if n == 0 else MemberRole.MEMBER
            uow.members.add(SessionMember(session_id=session.id, user_id=user.id, role=role))
        uow.commit()
    return session


def _negotiate(base, token):
    status, _, body = call("POST", f"{base}/api/negotiate", b"", bearer(token))
    assert status == 200, body
    return json.loads(body)


class Client:
    def __init__(self, url):
        self.url = url
        self.inbox: queue.Queue = queue.Queue()
        self.client = WebPubSubClient(
            credential=WebPubSubClientCredential(client_access_url_provider=lambda: self.url),
            message_retry_total=0, reconnect_retry_total=0,
        )
        self.client.subscribe(CallbackType.SERVER_MESSAGE, lambda e: self.inbox.put(e.data))
        self.client.subscribe(CallbackType.GROUP_MESSAGE, lambda e: self.inbox.put(e.data))

    def next_of(self, type_, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            item = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(item, dict) and item.get("type") == type_:
                return item


def _wait_online(base, token, session_id, user_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, body = call("GET", f"{base}/api/sessions/{session_id}/presence", None, bearer(token))
        assert status == 200, body
        if str(user_id) in json.loads(body)["online"]:
            return
        time.sleep(0.1)
    raise AssertionError("the user never came online")


def test_connect_join_send_and_receive_over_the_event_handler(running):
    base, _hub, side = running
    ana, bia = side.user("ana@example.com"), side.user("bia@example.com")
    room = _session_with(side, ana, bia)
    ana_token = side.sign_in(ana).access_token
    bia_token = side.sign_in(bia).access_token
    negotiated = _negotiate(base, ana_token)
    assert negotiated["url"].startswith("ws://") and negotiated["expires_in"] == 15 * 60

    ana_client, bia_client = Client(negotiated["url"]), Client(_negotiate(base, bia_token)["url"])
    with ana_client.client, bia_client.client:
        _wait_online(base, bia_token, room.id, ana.id)
        _wait_online(base, ana_token, room.id, bia.id)
        data = {"session_id": str(room.id), "client_message_id": "m-1", "text": "olá"}
        ana_client.client.send_event("message.send", data, WebPubSubDataType.JSON)
        ok = ana_client.next_of("message.send.ok")
        assert ok["client_message_id"] == "m-1" and ok["duplicate"] is False and ok["message"]["seq"] == 1
        created = bia_client.next_of("message.created")
        assert created["message"]["seq"] == 1 and created["message"]["text"] == "olá"
        # A retry of the same client message id returns the original.
        ana_client.client.send_event("message.send", data, WebPubSubDataType.JSON)
        again = ana_client.next_of("message.send.ok")
        assert again["duplicate"] is True and again["message"]["seq"] == 1
        # A session the user does not belong to: an error reply, still connected.
        elsewhere = {"session_id": str(uuid.uuid4()), "client_message_id": "m-2", "text": "x"}
        ana_client.client.send_event("message.send", elsewhere, WebPubSubDataType.JSON)
        refused = ana_client.next_of("error")
        assert refused["event"] == "message.send" and refused["client_message_id"] == "m-2"
        ana_client.client.send_event("typing", {"session_id": str(room.id)}, WebPubSubDataType.JSON)
        assert bia_client.next_of("typing")["user_id"] == str(ana.id)


def _connect_refused(url):
    client = WebPubSubClient(credential=WebPubSubClientCredential(client_access_url_provider=lambda: url),
                             reconnect_retry_total=0)
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises different types for a refused handshake
        client.open()
        try:
            client.send_event("typing", {"session_id": str(uuid.uuid4())}, WebPubSubDataType.JSON)
        finally:
            client.close()


def test_expired_foreign_and_unknown_user_tokens_are_refused(running, webpubsub_emulator):
    _base, hub, side = running
    service = WebPubSubServiceClient.from_connection_string(webpubsub_emulator.connection_string, hub=hub)
    ana = side.user()
    expired = service.get_client_access_token(user_id=str(ana.id), minutes_to_expire=-10)["url"]
    _connect_refused(expired)
    endpoint = webpubsub_emulator.connection_string.split(";")[0]
    foreign = WebPubSubServiceClient.from_connection_string(
        f"{endpoint};AccessKey={'x' * 44};Version=1.0;", hub=hub
    ).get_client_access_token(user_id=str(ana.id))["url"]
    _connect_refused(foreign)
    # Signed with the right key, but for a user we do not know: our connect handler says no.
    _connect_refused(service.get_client_access_token(user_id=str(uuid.uuid4()))["url"])


def test_forged_upstream_requests_are_rejected(running):
    base, hub, side = running
    ana = side.user()
    headers = {
        "ce-specversion": "1.0", "ce-awpsversion": "1.0", "ce-type": "azure.webpubsub.sys.connected",
        "ce-hub": hub, "ce-connectionId": "forged-1", "ce-eventName": "connected", "ce-userId": str(ana.id),
        "WebHook-Request-Origin": "127.0.0.1", "Content-Type": "application/json",
    }
    url = f"{base}/api/realtime/events"
    assert call("POST", url, b"{}", {**headers, "ce-signature": sign("forged", "forged-1")})[0] == 401
    assert call("POST", url, b"{}", headers)[0] == 401
    wrong_origin = {**headers, "WebHook-Request-Origin": "evil.example", "ce-signature": sign(TEST_ACCESS_KEY,
                                                                                              "forged-1")}
    assert call("POST", url, b"{}", wrong_origin)[0] == 401
    status, response_headers, _ = call("OPTIONS", url, None, {"WebHook-Request-Origin": "127.0.0.1"})
    assert status == 200 and response_headers.get("WebHook-Allowed-Origin") == "127.0.0.1"
    assert call("OPTIONS", url, None, {"WebHook-Request-Origin": "evil.example"})[0] == 403
