"""Request and response conversion between aiohttp and azure.functions (pure, no sockets)."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from devhost.functions_host.conversion import (
    UnsupportedReturnValue,
    error_response,
    from_function_response,
    from_return_value,
    join_multi,
    to_function_request,
)


def test_request_conversion_joins_repeats_and_drops_empty_query_values() -> None:
    headers = CIMultiDict([("Host", "localhost:7071"), ("X-Multi", "a"), ("X-Multi", "b"),
                           ("Content-Type", "application/json")])
    request = make_mocked_request("post", "/api/hello/Ada?tag=x&tag=y&empty=&n=1", headers=headers)
    fn_request = to_function_request(request, b'{"k": 1}', {"name": "Ada"})
    assert fn_request.method == "POST"
    assert fn_request.url == "http://localhost:7071/api/hello/Ada?tag=x&tag=y&empty=&n=1"
    assert dict(fn_request.params) == {"tag": "x,y", "n": "1"}
    assert fn_request.headers["x-multi"] == "a,b"
    assert fn_request.headers["X-MULTI"] == "a,b"  # case-insensitive, as in the SDK
    assert dict(fn_request.route_params) == {"name": "Ada"}
    assert fn_request.get_json() == {"k": 1}
    assert fn_request.get_body() == b'{"k": 1}'


def test_join_multi_keeps_key_case_unless_asked() -> None:
    from multidict import MultiDict
    assert join_multi(MultiDict([("A", "1"), ("A", "2")])) == {"A": "1,2"}
    assert join_multi(MultiDict([("A", "1")]), lower_keys=True) == {"a": "1"}


def test_http_response_headers_status_and_default_content_type() -> None:
    response = func.HttpResponse("olá", status_code=418, headers={"X-Request-Id": "r1"})
    response.headers.add_header("Set-Cookie", "a=1")
    response.headers.add_header("Set-Cookie", "b=2")
    converted = from_function_response(response)
    assert converted.status == 418
    assert converted.headers["X-Request-Id"] == "r1"
    assert converted.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert converted.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert converted.body == "olá".encode()


def test_non_text_mimetype_has_no_charset_and_explicit_content_type_wins() -> None:
    assert from_function_response(func.HttpResponse(b"{}", mimetype="application/json")).headers[
        "Content-Type"] == "application/json"
    explicit = func.HttpResponse("x", headers={"Content-Type": "application/problem+json"})
    assert from_function_response(explicit).headers["Content-Type"] == "application/problem+json"


def test_framing_headers_from_the_function_are_dropped() -> None:
    converted = from_function_response(func.HttpResponse("abc", headers={"Content-Length": "999",
                                                                        "Transfer-Encoding": "chunked"}))
    assert "Transfer-Encoding" not in converted.headers
    assert converted.body == b"abc"


def test_no_body_statuses() -> None:
    converted = from_function_response(func.HttpResponse("ignored", status_code=304))
    assert converted.status == 304
    assert converted.body is None or converted.body == b""


def test_plain_return_values(caplog: pytest.LogCaptureFixture) -> None:
    text = from_return_value("hi", "f")
    assert (text.status, text.headers["Content-Type"], text.body) == (200, "text/plain; charset=utf-8", b"hi")
    raw = from_return_value(b"\x00\x01", "f")
    assert (raw.headers["Content-Type"], raw.body) == ("application/octet-stream", b"\x00\x01")
    with caplog.at_level(logging.WARNING, logger="devhost.http"):
        data = from_return_value({"a": [1]}, "json_fn")
        from_return_value([1], "json_fn")
    assert json.loads(data.body) == {"a": [1]}  # type: ignore[arg-type]
    assert data.headers["Content-Type"] == "application/json; charset=utf-8"
    assert len([r for r in caplog.records if "json_fn" in r.getMessage()]) == 1  # warned once
    assert from_return_value(None, "f").status == 204
    with pytest.raises(UnsupportedReturnValue):
        from_return_value(object(), "f")


def test_error_response_shape() -> None:
    response = error_response(405, "method_not_allowed", "nope", headers={"Allow": "GET"})
    assert response.status == 405
    assert response.headers["Allow"] == "GET"
    assert json.loads(response.body) == {"error": {"code": "method_not_allowed", "message": "nope"}}  # type: ignore[arg-type]
