"""The official server SDK (``azure-messaging-webpubsubservice``) against the emulator's REST API."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.messaging.webpubsubclient.models import SendMessageError, WebPubSubDataType
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.webpubsub import BackgroundEmulator
from tests.fixtures.webpubsub import TEST_ACCESS_KEY
from tests.integration.webpubsub.clients import sdk_client, wait_until

pytestmark = pytest.mark.timeout(60)


def test_sends_reach_all_user_group_and_connection_with_excluded_and_filter(service: WebPubSubServiceClient) -> None:
    alice, alice_inbox = sdk_client(service, user_id="alice")
    bob, bob_inbox = sdk_client(service, user_id="bob")
    with alice, bob:
        alice_inbox.connection_id()
        bob_id = bob_inbox.connection_id()
        alice.join_group("room 1/ä")
        bob.join_group("room 1/ä")
        service.send_to_all({"n": 1})  # json
        service.send_to_user("alice", "to alice", content_type="text/plain")
        service.send_to_group("room 1/ä", b"\x01\x02", content_type="application/octet-stream")
        service.send_to_connection(bob_id, "to bob", content_type="text/plain")
        service.send_to_group("room 1/ä", "not bob", content_type="text/plain", excluded=[bob_id])
        service.send_to_all("filtered", content_type="text/plain", filter="userId ne 'alice'")
        service.send_to_all("in room", content_type="text/plain", filter="'room 1/ä' in groups and userId eq 'alice'")
        alice_inbox.wait_for(lambda: len(alice_inbox.items) >= 5)
        bob_inbox.wait_for(lambda: len(bob_inbox.items) >= 4)
        time.sleep(0.2)
    assert alice_inbox.data() == [{"n": 1}, "to alice", b"\x01\x02", "not bob", "in room"]
    assert bob_inbox.data() == [{"n": 1}, b"\x01\x02", "to bob", "filtered"]
    assert [item[3] for item in alice_inbox.items] == [1, 2, 3, 4, 5]  # reliable: numbered per connection
    assert [item[0] for item in alice_inbox.items] == ["server", "server", "group", "group", "server"]
    assert alice_inbox.items[2][1] == "room 1/ä"


def test_group_management_existence_and_listing(service: WebPubSubServiceClient) -> None:
    alice, inbox = sdk_client(service, user_id="alice", roles=[])
    with alice:
        cid = inbox.connection_id()
        assert service.connection_exists(cid) and service.user_exists("alice")
        assert not service.connection_exists("nope") and not service.user_exists("nobody")
        assert not service.group_exists("g1")
        service.add_connection_to_group("g1", cid)
        service.add_user_to_group("g2", "alice")
        assert service.group_exists("g1") and service.group_exists("g2")
        assert [m.connection_id for m in service.list_connections(group="g1")] == [cid]
        assert [m.user_id for m in service.list_connections(group="g2")] == ["alice"]
        service.send_to_group("g2", "via user group", content_type="text/plain")
        inbox.wait_for(lambda: inbox.data() == ["via user group"])
        service.remove_connection_from_group("g1", cid)
        service.remove_user_from_group("g2", "alice")
        assert not service.group_exists("g1") and not service.group_exists("g2")
        service.add_connection_to_group("g3", cid)
        service.remove_connection_from_all_groups(cid)
        assert not service.group_exists("g3")
        service.add_user_to_group("g4", "alice")
        service.remove_user_from_all_groups("alice")
        assert not service.group_exists("g4")
        with pytest.raises(ResourceNotFoundError):
            service.add_connection_to_group("g1", "no-such-connection")
        with pytest.raises(ResourceNotFoundError):
            service.add_user_to_group("g1", "no-such-user")


def test_list_connections_pages_through_next_links(service: WebPubSubServiceClient) -> None:
    clients = [sdk_client(service, user_id=f"u{i}", roles=[]) for i in range(3)]
    try:
        for client, inbox in clients:
            client.open()
            service.add_connection_to_group("big", inbox.connection_id())
        listed = list(service.list_connections(group="big", maxpagesize=2))
        assert sorted(m.user_id for m in listed) == ["u0", "u1", "u2"]
        assert len(list(service.list_connections(group="big", top=2))) == 2
    finally:
        for client, _ in clients:
            client.close()


def test_close_connection_sends_reason_and_cannot_be_recovered(service: WebPubSubServiceClient) -> None:
    alice, inbox = sdk_client(service, user_id="alice", auto_reconnect=False)
    with alice:
        cid = inbox.connection_id()
        service.close_connection(cid, reason="bye now")
        inbox.wait_for(lambda: bool(inbox.disconnected))
        assert not service.connection_exists(cid)
        assert inbox.disconnected[0].message == "bye now"


def test_close_all_group_and_user_connections(service: WebPubSubServiceClient) -> None:
    a, a_inbox = sdk_client(service, user_id="a", auto_reconnect=False)
    b, b_inbox = sdk_client(service, user_id="b", auto_reconnect=False)
    c, c_inbox = sdk_client(service, user_id="c", auto_reconnect=False)
    with a, b, c:
        a_id, _, c_id = a_inbox.connection_id(), b_inbox.connection_id(), c_inbox.connection_id()
        service.add_connection_to_group("g", a_id)
        service.close_group_connections("g", reason="group gone")
        wait_until(lambda: not service.connection_exists(a_id))
        service.close_user_connections("b")
        wait_until(lambda: not service.user_exists("b"))
        assert service.user_exists("c")
        service.close_all_connections(excluded=[c_id])
        assert service.user_exists("c")
        service.close_all_connections()
        wait_until(lambda: not service.user_exists("c"))


def test_permissions_grant_check_revoke(service: WebPubSubServiceClient) -> None:
    alice, inbox = sdk_client(service, user_id="alice", roles=[], message_retry_total=0)
    with alice:
        cid = inbox.connection_id()
        assert not service.has_permission("joinLeaveGroup", cid, target_name="room")
        service.grant_permission("joinLeaveGroup", cid, target_name="room")
        service.grant_permission("sendToGroup", cid)
        assert service.has_permission("joinLeaveGroup", cid, target_name="room")
        assert not service.has_permission("joinLeaveGroup", cid, target_name="other")
        assert service.has_permission("sendToGroup", cid, target_name="anything")
        alice.join_group("room")
        alice.send_to_group("room", "granted", WebPubSubDataType.TEXT)
        inbox.wait_for(lambda: inbox.data() == ["granted"])
        service.revoke_permission("sendToGroup", cid)
        assert not service.has_permission("sendToGroup", cid)
        with pytest.raises(SendMessageError) as refused:
            alice.send_to_group("room", "refused", WebPubSubDataType.TEXT)
        assert refused.value.error_detail.name == "Forbidden"
        with pytest.raises(ResourceNotFoundError):
            service.grant_permission("sendToGroup", "no-such-connection")
        with pytest.raises(HttpResponseError) as err:
            service.grant_permission("sendToGroup", cid, target_name=" ")
        assert err.value.status_code == 400


def test_sends_to_missing_targets_are_accepted(service: WebPubSubServiceClient) -> None:
    service.send_to_user("nobody", "x", content_type="text/plain")
    service.send_to_group("empty", "x", content_type="text/plain")
    service.send_to_connection("missing", "x", content_type="text/plain")
    service.close_connection("missing")


# --- REST errors ---------------------------------------------------------------------------------
def _url(emulator: BackgroundEmulator, hub: str, tail: str = ":send") -> str:
    return f"http://127.0.0.1:{emulator.port}/api/hubs/{hub}/{tail}?api-version=2024-12-01"


def _token(aud: str, key: str = TEST_ACCESS_KEY, exp_delta: int = 60) -> str:
    return jwt.encode({"aud": aud, "exp": int(time.time()) + exp_delta}, key.encode(), algorithm="HS256")


@pytest.mark.parametrize("case", ["missing", "garbage", "wrong key", "wrong aud", "expired"])
def test_rest_rejects_bad_tokens_with_401(webpubsub_emulator: BackgroundEmulator, hub: str, case: str) -> None:
    url = _url(webpubsub_emulator, hub)
    token = {"missing": None, "garbage": "not.a.jwt", "wrong key": _token(url, key="x" * 44),
             "wrong aud": _token(_url(webpubsub_emulator, "otherhub")),
             "expired": _token(url, exp_delta=-600)}[case]
    headers = {"Content-Type": "text/plain", **({"Authorization": f"Bearer {token}"} if token else {})}
    response = requests.post(url, data=b"x", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"


def test_server_sdk_with_wrong_key_raises_authentication_error(webpubsub_emulator: BackgroundEmulator,
                                                                hub: str) -> None:
    wrong = webpubsub_emulator.connection_string.replace(TEST_ACCESS_KEY, "A" * 44)
    client = WebPubSubServiceClient.from_connection_string(wrong, hub=hub)
    with pytest.raises(ClientAuthenticationError):
        client.send_to_all("x", content_type="text/plain")


def test_rest_bad_input_is_400_and_unknown_routes_404(webpubsub_emulator: BackgroundEmulator, hub: str,
                                                      service: WebPubSubServiceClient) -> None:
    def post(tail: str, body: bytes, content_type: str, method: str = "POST") -> requests.Response:
        url = _url(webpubsub_emulator, hub, tail)
        return requests.request(method, url, data=body, timeout=5,
                                headers={"Content-Type": content_type, "Authorization": f"Bearer {_token(url)}"})

    assert post(":send", b"{not json", "application/json").status_code == 400
    assert post(":send", b"x", "image/png").status_code == 400
    assert post("groups/%20%20/:send", b"x", "text/plain").status_code == 400
    assert post("groups/" + "g" * 1025 + "/:send", b"x", "text/plain").status_code == 400
    assert post("nothing/here", b"", "text/plain").status_code == 404
    assert post("groups/g/connections/c", b"", "text/plain", method="PATCH").status_code == 405
    assert post("permissions/admin/connections/c", b"", "text/plain", method="PUT").status_code == 400
    url = f"http://127.0.0.1:{webpubsub_emulator.port}/api/hubs/9bad/:send?api-version=2024-12-01"
    bad_hub = requests.post(url, data=b"x", timeout=5,
                            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {_token(url)}"})
    assert bad_hub.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        service.send_to_all("x", content_type="text/plain", filter="userId like 'a'")
    assert err.value.status_code == 400
    assert post(":send", b"x" * (1024 * 1024 + 100 * 1024), "text/plain").status_code == 413


def test_generate_token_returns_a_usable_client_token(webpubsub_emulator: BackgroundEmulator, hub: str) -> None:
    url = (f"http://127.0.0.1:{webpubsub_emulator.port}/api/hubs/{hub}/:generateToken"
           f"?userId=zed&role=webpubsub.sendToGroup&minutesToExpire=5&api-version=2024-12-01")
    response = requests.post(url, headers={"Authorization": f"Bearer {_token(url)}"}, timeout=5)
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], TEST_ACCESS_KEY.encode(), algorithms=["HS256"],
                        options={"verify_aud": False})
    assert claims["sub"] == "zed" and claims["role"] == ["webpubsub.sendToGroup"]
    assert claims["aud"].endswith(f"/client/hubs/{hub}")


def test_health(webpubsub_emulator: BackgroundEmulator) -> None:
    assert requests.head(f"http://127.0.0.1:{webpubsub_emulator.port}/api/health", timeout=5).status_code == 200
