"""Message search over HTTP through devhost and the real function_app (SQLite)."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.test_app_e2e import call
from tests.e2e.test_chat_e2e import APP, Client, app_side, env  # noqa: F401 (fixtures)
from tests.e2e.test_tokens_e2e import bearer

pytestmark = pytest.mark.e2e


def test_search_over_http(start_devhost, env, app_side):  # noqa: F811
    ana, eve = app_side.user("ana@example.com"), app_side.user("eve@example.com")
    tokens = {u.id: app_side.sign_in(u).access_token for u in (ana, eve)}
    with start_devhost(APP, env, extra_args=["--no-webpubsub"]) as (base, _process):
        as_ana, as_eve = Client(base, tokens[ana.id]), Client(base, tokens[eve.id])
        sid = as_ana("POST", "/sessions", {"title": "Equipa <1>"})[2]["id"]
        secret = as_eve("POST", "/sessions", {"title": "Eve"})[2]["id"]
        for i, text in enumerate(["Reunião às 10h", "não há <b>reunião</b> hoje", "bom dia"]):
            assert as_ana("POST", f"/sessions/{sid}/messages", {"client_message_id": f"m{i}", "text": text})[0] == 201
        as_eve("POST", f"/sessions/{secret}/messages", {"client_message_id": "e", "text": "reunião secreta"})

        def search(**params):
            return as_ana("GET", "/messages/search?" + urllib.parse.urlencode(params))

        status, headers, page = search(q="reuniao", sort="date", limit=1)
        assert status == 200, page
        assert headers.get("Cache-Control") == "no-store"
        (hit,) = page["results"]
        assert hit["message"]["text"] == "não há <b>reunião</b> hoje"
        assert hit["session"] == {"id": sid, "title": "Equipa <1>"}
        assert hit["snippet"] == "não há &lt;b&gt;<mark>reunião</mark>&lt;/b&gt; hoje"
        status, _, second = search(q="reuniao", sort="date", limit=1, cursor=page["next_cursor"])
        assert [r["message"]["text"] for r in second["results"]] == ["Reunião às 10h"]
        assert second["next_cursor"] is None

        status, _, page = search(q='"bom dia" from:me')
        assert status == 200 and page["results"][0]["rank"] > 0
        assert search(q=f"reuniao in:{secret}")[2]["results"] == []

        # 10 KB: the HTTP server's request-line limit (8 KB in devhost's aiohttp) answers 400 before the app.
        status, _, raw = call("GET", f"{base}/api/messages/search?q={'x' * 10_000}", None, bearer(tokens[ana.id]))
        assert status == 400, raw[:200]
        status, _, error = search(q="x" * 6_000)
        assert (status, error["error"]["code"]) == (400, "query_too_long"), error
        for bad in ({"q": "-solo"}, {"q": "a", "sort": "x"}, {"q": "a", "cursor": "@@"},
                    {"q": "a", "limit": "-1"}, {"q": "after:2026-02-30 a"}):
            status, _, error = search(**bad)
            assert status == 400, (bad, error)
        for odd in ('"unbalanced', "a' OR 1=1; --", "NEAR(a b) AND *", "reuni*:"):
            assert search(q=odd)[0] == 200, odd
        assert as_ana("GET", "/messages/search?q=a", None)[0] == 200
        assert Client(base, "bad-token")("GET", "/messages/search?q=a")[0] == 401
