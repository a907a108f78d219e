"""Chat over HTTP through devhost and the real function_app: sessions, members, messages, catch-up.

Web PubSub is deliberately unreachable here (the connection string points at a closed port), so
every broadcast fails: the requests must still succeed and catch-up must still find every message
— the delivery guarantee "a failed broadcast never loses a message", end to end.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.app_env import migrated_app_env
from tests.e2e.test_app_e2e import call
from tests.e2e.test_tokens_e2e import InProcess, bearer
from tests.fixtures.devhost import free_port

pytestmark = pytest.mark.e2e

APP = "function_app"
_LOCAL_KEY = "dGFnYXJlbGEtbG9jYWwtd2VicHVic3ViLWRldi1rZXk="


@pytest.fixture
def env(tmp_path):
    return migrated_app_env(
        tmp_path,
        WebPubSubConnectionString=f"Endpoint=http://127.0.0.1:{free_port()};AccessKey={_LOCAL_KEY};Version=1.0;",
        CHAT_MESSAGE_MAX_CHARS="1000",
    )


@pytest.fixture
def app_side(env):
    side = InProcess(env)
    yield side
    side.engine.dispose()


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(self, method, path, body=None, *, raw: bytes | None = None, content_type="application/json"):
        headers = bearer(self.token)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        status, response_headers, payload = call(method, f"{self.base}/api{path}", data, headers)
        return status, response_headers, (json.loads(payload) if payload else None)


def test_chat_over_http_with_web_pubsub_down(start_devhost, env, app_side):
    ana, bia, eve = app_side.user("ana@example.com"), app_side.user("bia@example.com"), app_side.user("eve@example.com")
    tokens = {u.id: app_side.sign_in(u).access_token for u in (ana, bia, eve)}

    with start_devhost(APP, env, extra_args=["--no-webpubsub"]) as (base, process):
        as_ana, as_bia, as_eve = (Client(base, tokens[u.id]) for u in (ana, bia, eve))

        status, _, room = as_ana("POST", "/sessions", {"title": "Equipa"})
        assert status == 201, room
        sid = room["id"]
        assert [(m["user_id"], m["role"]) for m in room["members"]] == [(str(ana.id), "owner")]

        status, _, member = as_ana("POST", f"/sessions/{sid}/members", {"user_id": str(bia.id)})
        assert status == 201 and member["role"] == "member", member
        assert as_ana("POST", f"/sessions/{sid}/members", {"user_id": str(bia.id)})[0] == 409
        assert as_bia("POST", f"/sessions/{sid}/members", {"user_id": str(eve.id)})[0] == 403

        # send, then retry with the same client message id
        first = {"client_message_id": "m-1", "text": "olá!"}
        status, headers, sent = as_bia("POST", f"/sessions/{sid}/messages", first)
        assert status == 201 and sent["duplicate"] is False and sent["message"]["seq"] == 1, sent
        status, headers, again = as_bia("POST", f"/sessions/{sid}/messages", first)
        assert status == 200 and again == {"message": sent["message"], "duplicate": True}
        assert headers["Idempotent-Replayed"] == "true"
        for n in range(2, 6):
            assert as_ana("POST", f"/sessions/{sid}/messages", {"client_message_id": f"a-{n}", "text": f"#{n}",
                                                               "reply_to_seq": 1})[0] == 201

        # catch-up in pages, then scrollback
        status, _, page = as_bia("GET", f"/sessions/{sid}/messages?after_seq=0&limit=3")
        assert status == 200 and [m["seq"] for m in page["messages"]] == [1, 2, 3]
        assert page["has_more"] and page["next_after_seq"] == 3 and page["last_seq"] == 5
        status, _, page = as_bia("GET", f"/sessions/{sid}/messages?after_seq=3&limit=3")
        assert [m["seq"] for m in page["messages"]] == [4, 5] and not page["has_more"]
        status, _, back = as_bia("GET", f"/sessions/{sid}/messages?before_seq=4&limit=2")
        assert [m["seq"] for m in back["messages"]] == [2, 3] and back["next_before_seq"] == 2 and back["has_more"]

        # edit (sender only), delete (owner moderates), tombstone in catch-up
        status, _, edited = as_bia("PATCH", f"/sessions/{sid}/messages/1", {"text": "olá, equipa"})
        assert status == 200 and edited["message"]["text"] == "olá, equipa" and edited["message"]["edited_at"]
        assert as_ana("PATCH", f"/sessions/{sid}/messages/1", {"text": "não é tua"})[0] == 403
        assert as_bia("DELETE", f"/sessions/{sid}/messages/2")[0] == 403
        assert as_ana("DELETE", f"/sessions/{sid}/messages/2")[0] == 204
        assert as_ana("DELETE", f"/sessions/{sid}/messages/2")[0] == 204  # idempotent
        assert as_ana("DELETE", f"/sessions/{sid}/messages/99")[0] == 404
        _, _, page = as_bia("GET", f"/sessions/{sid}/messages?after_seq=0")
        assert [(m["seq"], m["deleted"]) for m in page["messages"]][:3] == [(1, False), (2, True), (3, False)]
        assert page["messages"][1]["text"] is None and page["messages"][0]["text"] == "olá, equipa"

        # read receipts: forward only, capped
        assert as_bia("POST", f"/sessions/{sid}/read", {"seq": 3})[2] == {"session_id": sid, "seq": 3}
        assert as_bia("POST", f"/sessions/{sid}/read", {"seq": 1})[2]["seq"] == 3
        assert as_bia("POST", f"/sessions/{sid}/read", {"seq": 500})[2]["seq"] == 5

        # non-members see nothing: 404, as if the session did not exist
        for method, path, body in [("GET", f"/sessions/{sid}", None), ("GET", f"/sessions/{sid}/messages", None),
                                   ("POST", f"/sessions/{sid}/messages", {"client_message_id": "e", "text": "oi"}),
                                   ("PATCH", f"/sessions/{sid}", {"title": "meu"}),
                                   ("GET", f"/sessions/{uuid.uuid4()}", None)]:
            status, _, error = as_eve(method, path, body)
            assert status == 404 and error["error"]["code"] == "session_not_found", (method, path, error)
        _, _, listing = as_eve("GET", "/sessions")
        assert listing == {"sessions": [], "next_cursor": None}

        # bad input: 400 / 413 / 415, nothing written
        bad = [
            (as_bia("GET", "/sessions/not-a-uuid"), 400, "invalid_id"),
            (as_bia("PATCH", f"/sessions/{sid}/messages/abc", {"text": "x"}), 400, "invalid_id"),
            (as_bia("GET", f"/sessions/{sid}/messages?after_seq=-1"), 400, "invalid_query"),
            (as_bia("GET", f"/sessions/{sid}/messages?after_seq=1&before_seq=3"), 400, "invalid_page"),
            (as_bia("GET", "/sessions?cursor=garbage"), 400, "invalid_cursor"),
            (as_bia("POST", f"/sessions/{sid}/messages", raw=b"{nope"), 400, "malformed_json"),
            (as_bia("POST", f"/sessions/{sid}/messages", {"text": "sem id"}), 400, "validation_failed"),
            (as_bia("POST", f"/sessions/{sid}/messages", {"client_message_id": "x y", "text": "a"}), 400,
             "invalid_client_message_id"),
            (as_bia("POST", f"/sessions/{sid}/messages", {"client_message_id": "e1", "text": " \n "}), 400,
             "empty_message"),
            (as_bia("POST", f"/sessions/{sid}/messages", {"client_message_id": "r1", "text": "a",
                                                         "reply_to_seq": 77}), 400, "invalid_reply_to"),
            (as_bia("POST", f"/sessions/{sid}/messages", {"client_message_id": "l1", "text": "x" * 1001}), 413,
             "message_too_long"),
            (as_bia("POST", f"/sessions/{sid}/messages", raw=b"{}" + b" " * 100_000), 413, "payload_too_large"),
            (as_bia("POST", f"/sessions/{sid}/messages", raw=b"text=hi", content_type="text/plain"), 415,
             "unsupported_media_type"),
            (as_ana("DELETE", f"/sessions/{sid}/members/{ana.id}"), 409, "last_owner"),
        ]
        for (status, _, error), expected_status, code in bad:
            assert (status, error["error"]["code"]) == (expected_status, code), error
        assert call("GET", f"{base}/api/sessions")[0] == 401
        _, _, page = as_ana("GET", f"/sessions/{sid}/messages?after_seq=0")
        assert page["last_seq"] == 5 and len(page["messages"]) == 5

        # rename, list, leave (ownership passes to Bia), remove
        status, _, renamed = as_ana("PATCH", f"/sessions/{sid}", {"title": "Equipa B"})
        assert status == 200 and renamed["title"] == "Equipa B"
        _, _, listing = as_bia("GET", "/sessions?limit=10")
        assert [s["id"] for s in listing["sessions"]] == [sid] and listing["next_cursor"] is None
        assert as_ana("POST", f"/sessions/{sid}/leave")[0] == 204
        _, _, room = as_bia("GET", f"/sessions/{sid}")
        assert [(m["user_id"], m["role"]) for m in room["members"]] == [(str(bia.id), "owner")]
        assert as_ana("GET", f"/sessions/{sid}")[0] == 404

    logs = process.output_path.read_text()
    assert "publish of message.created" in logs  # the broadcasts failed, and were only logged
