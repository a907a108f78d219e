"""The CloudEvents event handler and negotiate through their real Functions entry points, with fakes.

Checks: abuse protection, forged/unsigned/wrong-hub events rejected *before* any use case runs,
system events, client-event parsing and replies, and that a connection can only act as its user.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import azure.functions as func
import pytest

import function_app  # noqa: F401  (installs the real provider first; tests override it)
from application.identity.results import Principal
from application.realtime.connections import ConnectDecision, parse_user_id
from application.realtime.ports import ClientAccess
from application.realtime.upstream import UpstreamGuard, sign
from interface import dependencies
from interface.realtime import events, negotiate, presence
from shared import errors

KEY = "test-access-key"
USER = uuid.uuid4()
OTHER = uuid.uuid4()
SESSION = uuid.uuid4()
NEGOTIATED_URL = "ws://localhost:8080/client/hubs/chat?access_token=t"


class Recorder:
    def __init__(self, result=None, error: Exception | None = None):
        self.calls: list[tuple] = []
        self.result, self.error = result, error

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.error is not None:
            raise self.error
        return self.result


def _authenticate(token):
    if token != "good":
        raise errors.Unauthenticated("no")
    return Principal(user_id=USER, session_id=uuid.uuid4(), amr=("pwd",), token_id="t", expires_at=datetime.now(UTC))


def _services(**overrides):
    def connect(raw):
        return ConnectDecision(parse_user_id(raw))

    base = dict(  # noqa: C408 - keyword form reads like the Services members
        upstream_guard=UpstreamGuard(hub="chat", signature_keys=(KEY, "second-key"), allowed_origins=("localhost",)),
        handle_connect=Recorder(),
        handle_connected=Recorder(),
        handle_disconnected=Recorder(),
        send_message=Recorder(SimpleNamespace(duplicate=False, message={"seq": 1, "text": "hi"})),
        edit_message=Recorder({"seq": 1, "text": "edited"}),
        delete_message=Recorder(),
        send_typing=Recorder(),
        mark_read=Recorder(3),
        negotiate=Recorder(ClientAccess(url=NEGOTIATED_URL, expires_in_seconds=900)),
        get_session_presence=Recorder([USER]),
        authenticate=_authenticate,
        rate_limiter=SimpleNamespace(hit=lambda *a, **k: None),
    )
    fake = SimpleNamespace(**{**base, **overrides})
    if "handle_connect" not in overrides:
        fake.handle_connect = connect
    return fake


@pytest.fixture
def fake(monkeypatch):
    services = _services()
    monkeypatch.setattr(dependencies, "_provider", lambda: services)
    return services


def _call(fn, req):
    return fn.build().get_user_function()(req)


def _event(ce_type, *, conn="conn-1", user=USER, body=b"{}", hub="chat", signature=None, origin="localhost",
           content_type="application/json", drop=()):
    headers = {
        "ce-specversion": "1.0",
        "ce-awpsversion": "1.0",
        "ce-type": ce_type,
        "ce-source": f"/hubs/{hub}/client/{conn}",
        "ce-id": "1",
        "ce-hub": hub,
        "ce-connectionId": conn,
        "ce-eventName": ce_type.rsplit(".", 1)[-1] if ".sys." in ce_type else ce_type.split(".user.", 1)[-1],
        "ce-signature": sign(KEY, conn) if signature is None else signature,
        "WebHook-Request-Origin": origin,
        "Content-Type": content_type,
    }
    if user is not None:
        headers["ce-userId"] = str(user)
    for name in drop:
        headers.pop(name, None)
    return func.HttpRequest(method="POST", url="http://localhost/api/realtime/events", headers=headers, body=body)


def _user_event(name, data, **kw):
    return _event(f"azure.webpubsub.user.{name}", body=json.dumps(data).encode(), **kw)


# Abuse protection


def test_options_echoes_an_allowed_origin(fake):
    req = func.HttpRequest(method="OPTIONS", url="http://x/api/realtime/events", headers={
        "WebHook-Request-Origin": "localhost"}, body=b"")
    response = _call(events.realtime_events, req)
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "localhost"


@pytest.mark.parametrize(("origin", "status"), [("evil.example", 403), (None, 400)])
def test_options_refuses_other_or_missing_origins(fake, origin, status):
    headers = {"WebHook-Request-Origin": origin} if origin else {}
    req = func.HttpRequest(method="OPTIONS", url="http://x/api/realtime/events", headers=headers, body=b"")
    response = _call(events.realtime_events, req)
    assert response.status_code == status
    assert "WebHook-Allowed-Origin" not in response.headers


# Forged and malformed requests: rejected, nothing acted on


@pytest.mark.parametrize(
    ("kw", "status"),
    [
        ({"signature": sign("forged-key", "conn-1")}, 401),
        ({"signature": ""}, 401),  # unsigned
        ({"signature": sign(KEY, "another-connection")}, 401),
        ({"origin": "evil.example"}, 401),
        ({"hub": "otherhub", "signature": sign(KEY, "conn-1")}, 400),
        ({"drop": ("ce-connectionId",)}, 400),
        ({"drop": ("ce-type",)}, 400),
    ],
)
@pytest.mark.parametrize("ce_type", ["azure.webpubsub.sys.connected", "azure.webpubsub.sys.disconnected",
                                     "azure.webpubsub.user.message.send"])
def test_forged_unsigned_wrong_hub_and_malformed_events_change_nothing(ce_type, kw, status):
    fake = _services()
    dependencies.provide(lambda: fake)
    try:
        body = json.dumps({"session_id": str(SESSION), "client_message_id": "c1", "text": "x"}).encode()
        response = _call(events.realtime_events, _event(ce_type, body=body, **kw))
    finally:
        dependencies.provide(lambda: _services())
    assert response.status_code == status
    assert json.loads(response.get_body())["error"]["code"]
    assert not fake.handle_connected.calls and not fake.handle_disconnected.calls and not fake.send_message.calls


def test_an_unknown_ce_type_is_malformed(fake):
    response = _call(events.realtime_events, _event("com.example.other"))
    assert response.status_code == 400


# System events


def test_connect_answers_with_the_user_and_no_roles_or_groups(fake):
    response = _call(events.realtime_events, _event("azure.webpubsub.sys.connect"))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"userId": str(USER)}


@pytest.mark.parametrize(
    ("error", "status"), [(errors.Unauthenticated("no user"), 401), (errors.Forbidden("disabled"), 403)]
)
def test_connect_refusals_keep_their_status(monkeypatch, error, status):
    services = _services(handle_connect=Recorder(error=error))
    monkeypatch.setattr(dependencies, "_provider", lambda: services)
    assert _call(events.realtime_events, _event("azure.webpubsub.sys.connect")).status_code == status


def test_connect_without_a_user_is_refused(fake):
    response = _call(events.realtime_events, _event("azure.webpubsub.sys.connect", user=None))
    assert response.status_code == 401


def test_connected_and_disconnected_reach_their_use_cases(fake):
    assert _call(events.realtime_events, _event("azure.webpubsub.sys.connected")).status_code == 204
    assert fake.handle_connected.calls == [(("conn-1", str(USER)), {})]
    assert _call(events.realtime_events, _event("azure.webpubsub.sys.disconnected",
                                                body=b'{"reason":"bye"}')).status_code == 204
    assert fake.handle_disconnected.calls == [(("conn-1",), {})]


# Client events


def _reply(response):
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def test_message_send_acts_as_the_connection_user(fake):
    data = {"session_id": str(SESSION), "client_message_id": "c-1", "text": "hello"}
    reply = _reply(_call(events.realtime_events, _user_event("message.send", data)))
    assert reply == {"type": "message.send.ok", "client_message_id": "c-1", "duplicate": False,
                     "message": {"seq": 1, "text": "hi"}}
    assert fake.send_message.calls == [((USER, SESSION, "c-1", "hello", None, ()), {})]


@pytest.mark.parametrize("field", ["user_id", "sender", "sender_id", "from_user"])
def test_a_payload_cannot_name_another_user(fake, field):
    data = {"session_id": str(SESSION), "client_message_id": "c-2", "text": "hi", field: str(OTHER)}
    reply = _reply(_call(events.realtime_events, _user_event("message.send", data)))
    assert reply["type"] == "error" and reply["error"]["code"] == "validation_failed"
    assert reply["client_message_id"] == "c-2"
    assert not fake.send_message.calls


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("message.send", {"session_id": "not-a-uuid", "client_message_id": "c", "text": "x"}, "validation_failed"),
        ("message.send", {"session_id": str(SESSION), "text": "x"}, "validation_failed"),
        ("message.send", {"session_id": str(SESSION), "client_message_id": 5, "text": "x"}, "validation_failed"),
        ("message.edit", {"session_id": str(SESSION), "seq": "1", "text": "x"}, "validation_failed"),
        ("read", {"session_id": str(SESSION)}, "validation_failed"),
        ("message.send", ["not", "an", "object"], "malformed_event"),
        ("nope", {"session_id": str(SESSION)}, "unknown_event"),
    ],
)
def test_bad_client_events_get_an_error_reply_with_status_200(fake, name, data, code):
    reply = _reply(_call(events.realtime_events, _user_event(name, data)))
    assert reply["type"] == "error" and reply["event"] == name and reply["error"]["code"] == code
    assert not fake.send_message.calls and not fake.edit_message.calls and not fake.mark_read.calls


def test_non_json_and_oversized_event_data_get_error_replies(fake):
    reply = _reply(_call(events.realtime_events, _event("azure.webpubsub.user.message.send", body=b"{nope")))
    assert reply["error"]["code"] == "malformed_event"
    reply = _reply(_call(events.realtime_events, _event("azure.webpubsub.user.message.send", body=b"\x00\x01",
                                                        content_type="application/octet-stream")))
    assert reply["error"]["code"] == "unsupported_data_type"
    big = json.dumps({"session_id": str(SESSION), "client_message_id": "c", "text": "x" * 70_000}).encode()
    reply = _reply(_call(events.realtime_events, _event("azure.webpubsub.user.message.send", body=big)))
    assert reply["error"]["code"] == "payload_too_large"
    assert not fake.send_message.calls


def test_a_rejected_use_case_becomes_an_error_reply(monkeypatch):
    services = _services(send_message=Recorder(error=errors.RateLimited("slow down", retry_after_seconds=4)))
    monkeypatch.setattr(dependencies, "_provider", lambda: services)
    data = {"session_id": str(SESSION), "client_message_id": "c-9", "text": "hi"}
    reply = _reply(_call(events.realtime_events, _user_event("message.send", data)))
    assert reply == {"type": "error", "event": "message.send", "client_message_id": "c-9",
                     "error": {"code": "rate_limited", "message": "slow down", "details": {"retry_after": 4}}}


def test_an_unexpected_failure_is_an_error_reply_not_a_dropped_connection(monkeypatch):
    services = _services(mark_read=Recorder(error=RuntimeError("boom")))
    monkeypatch.setattr(dependencies, "_provider", lambda: services)
    reply = _reply(_call(events.realtime_events, _user_event("read", {"session_id": str(SESSION), "seq": 2})))
    assert reply["error"]["code"] == "internal_error" and "boom" not in json.dumps(reply)


def test_edit_delete_typing_read_replies(fake):
    s = str(SESSION)
    assert _reply(_call(events.realtime_events, _user_event("message.edit", {"session_id": s, "seq": 1, "text": "e"}))
                  ) == {"type": "message.edit.ok", "message": {"seq": 1, "text": "edited"}}
    assert _reply(_call(events.realtime_events, _user_event("message.delete", {"session_id": s, "seq": 1}))
                  ) == {"type": "message.delete.ok", "session_id": s, "seq": 1}
    assert _reply(_call(events.realtime_events, _user_event("typing", {"session_id": s}))
                  ) == {"type": "typing.ok", "session_id": s}
    assert fake.send_typing.calls == [((USER, SESSION), {"exclude_connection": "conn-1"})]
    assert _reply(_call(events.realtime_events, _user_event("read", {"session_id": s, "seq": 5}))
                  ) == {"type": "read.ok", "session_id": s, "seq": 3}
    assert fake.mark_read.calls == [((USER, SESSION, 5), {})]


def test_a_user_event_without_a_user_is_refused(fake):
    response = _call(events.realtime_events, _user_event("typing", {"session_id": str(SESSION)}, user=None))
    assert response.status_code == 401


# Negotiate and presence


def _bearer(method, url, token="good", route_params=None):
    return func.HttpRequest(method=method, url=url, headers={"Authorization": f"Bearer {token}"}, body=b"",
                            route_params=route_params or {})


def test_negotiate_returns_the_url_for_the_caller(fake):
    response = _call(negotiate.negotiate, _bearer("POST", "http://x/api/negotiate"))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"url": "ws://localhost:8080/client/hubs/chat?access_token=t",
                                               "expires_in": 900}
    assert fake.negotiate.calls == [((USER,), {})]
    assert response.headers["Cache-Control"] == "no-store"


def test_negotiate_needs_a_valid_bearer(fake):
    assert _call(negotiate.negotiate, _bearer("POST", "http://x/api/negotiate", token="bad")).status_code == 401
    assert not fake.negotiate.calls


def test_presence_lists_online_users(fake):
    req = _bearer("GET", f"http://x/api/sessions/{SESSION}/presence", route_params={"session_id": str(SESSION)})
    response = _call(presence.session_presence, req)
    assert json.loads(response.get_body()) == {"online": [str(USER)]}
    assert fake.get_session_presence.calls == [((USER, SESSION), {})]


def test_presence_rejects_a_malformed_session_id(fake):
    req = _bearer("GET", "http://x/api/sessions/nope/presence", route_params={"session_id": "nope"})
    assert _call(presence.session_presence, req).status_code == 400
