"""Names, permissions, configuration parsing and message encoding."""

from __future__ import annotations

import json

import pytest

from devhost.webpubsub import ConfigError, parse_connection_string, parse_hubs
from devhost.webpubsub.messages import Outbound, decode_payload
from devhost.webpubsub.names import valid_event, valid_group, valid_hub
from devhost.webpubsub.permissions import allowed


def test_names() -> None:
    assert valid_hub("chat") and valid_hub("Chat_1.[x]") and not valid_hub("1chat") and not valid_hub("a" * 129)
    assert not valid_hub("a/b") and not valid_hub("")
    assert valid_group("room 1/ä") and valid_group("g" * 1024)
    assert not valid_group("") and not valid_group("   ") and not valid_group("g" * 1025) and not valid_group(1)
    assert valid_event("message.send") and valid_event("Typing") and not valid_event("9x") and not valid_event("a b")


@pytest.mark.parametrize(("roles", "permission", "group", "expected"), [
    (["webpubsub.joinLeaveGroup"], "joinLeaveGroup", "any", True),
    (["webpubsub.joinLeaveGroup.room"], "joinLeaveGroup", "room", True),
    (["webpubsub.joinLeaveGroup.room"], "joinLeaveGroup", "room2", False),
    (["webpubsub.joinLeaveGroup.room"], "sendToGroup", "room", False),
    (["webpubsub.sendToGroups.team.*"], "sendToGroup", "team.red", True),
    (["webpubsub.sendToGroups.team.*"], "sendToGroup", "team.red.x", False),
    (["webpubsub.sendToGroups.team.**"], "sendToGroup", "team.red.x", True),
    (["webpubsub.sendToGroups.t?am"], "sendToGroup", "team", True),
    (["webpubsub.sendToGroups.Team"], "sendToGroup", "team", False),
    ([], "sendToGroup", "x", False),
])
def test_permissions(roles: list[str], permission: str, group: str, expected: bool) -> None:
    assert allowed(roles, permission, group) is expected


def test_connection_string_parsing() -> None:
    cs = parse_connection_string("endpoint=http://localhost;port=9000;accesskey=abc;version=1.0;")
    assert cs.endpoint == "http://localhost:9000" and cs.access_key == "abc" and cs.port == 9000
    assert cs.host == "localhost"
    assert parse_connection_string("Endpoint=http://127.0.0.1:8080/;AccessKey=k;").port == 8080
    for bad in ("Endpoint=http://x", "AccessKey=k", "Endpoint=ftp://x;AccessKey=k", "garbage"):
        with pytest.raises(ConfigError):
            parse_connection_string(bad)


def test_hub_configuration() -> None:
    hubs = parse_hubs(json.dumps({"Chat": {"url": "http://h/{hub}/{event}", "user_events": "message.*, typing",
                                           "system_events": ["connect"]}}))
    [handler] = hubs["chat"]
    assert handler.url_for("chat", "connect") == "http://h/chat/connect"
    assert handler.handles("message.send", system=False) and handler.handles("typing", system=False)
    assert not handler.handles("other", system=False)
    assert handler.handles("connect", system=True) and not handler.handles("connected", system=True)
    assert parse_hubs("") == {} and parse_hubs(None) == {}
    for bad in ("[]", '{"c": {"url": "nope"}}', '{"c": {"url": "http://h", "system_events": ["boom"]}}',
                '{"c": [1]}'):
        with pytest.raises(ConfigError):
            parse_hubs(bad)


def test_outbound_encodes_once_and_splices_sequence_ids() -> None:
    out = Outbound.group("g", "binary", b"\x01", "u")
    message = json.loads(out.with_sequence(7))
    assert message == {"type": "message", "from": "group", "group": "g", "fromUserId": "u", "dataType": "binary",
                       "data": "AQ==", "sequenceId": 7}
    assert out.raw == b"\x01"
    assert Outbound.server("json", {"a": "é"}).raw == '{"a":"é"}'


def test_decode_payload() -> None:
    assert decode_payload("application/json; charset=utf-8", b'"hi"') == ("json", "hi")
    assert decode_payload("text/plain", "ä".encode()) == ("text", "ä")
    assert decode_payload("application/octet-stream", b"\x00") == ("binary", b"\x00")
    for content_type, body in (("image/png", b""), (None, b"x"), ("application/json", b"{")):
        with pytest.raises(ValueError):
            decode_payload(content_type, body)
