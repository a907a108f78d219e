"""Translation between aiohttp's HTTP objects and ``azure.functions`` ones, as the host + worker do it.

On Azure a request travels ASP.NET → gRPC ``RpcHttp`` → the Python worker → ``func.HttpRequest``,
and each hop shapes it. The rules copied here come from the host's ``ToRpcHttp``
(``GrpcMessageConversionExtensions.cs``) and the worker's ``HttpResponseConverter``:

* repeated query keys and repeated headers arrive as ONE value joined with ``","``
  (ASP.NET ``StringValues.ToString()``), so ``req.params["tag"]`` for ``?tag=a&tag=b`` is ``"a,b"``;
* query parameters with an empty value are dropped (the Python worker does not announce the
  ``UseNullableValueDictionaryForHttp`` capability);
* header names are lower-cased; the URL is ``scheme://host/path?query`` as the client sent it;
* the body is passed as raw bytes (the worker announces ``RawHttpBodyBytes``);
* a response without ``Content-Type`` gets ``mimetype[; charset=...]`` (``charset`` only for
  ``text/*``); several ``Set-Cookie`` headers are all sent (the worker turns them into cookies).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

log = logging.getLogger("devhost.http")

# Headers aiohttp computes itself from the body; copying the function's would corrupt framing.
_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}
_NO_BODY_STATUSES = {204, 304}


def join_multi(values: MultiMapping[str], *, lower_keys: bool = False, drop_empty: bool = False) -> dict[str, str]:
    """Collapse a multi-valued mapping the ASP.NET way: one key, values joined with ``,``."""
    joined: dict[str, list[str]] = {}
    for key, value in values.items():
        k = key.lower() if lower_keys else key
        joined.setdefault(k, []).append(value)
    result = {k: ",".join(v) for k, v in joined.items()}
    if drop_empty:
        result = {k: v for k, v in result.items() if v != ""}
    return result


def to_function_request(request: web.BaseRequest, body: bytes, route_params: Mapping[str, str]) -> func.HttpRequest:
    """Build the ``func.HttpRequest`` the worker would hand to the function.

    Like Azure's front end, the peer address is appended to ``X-Forwarded-For`` (as ``ip:port``):
    functions see the caller's address only through that header, and only its last entry is
    trustworthy (earlier ones are whatever the client sent).
    """
    headers = join_multi(request.headers, lower_keys=True)
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    if peer:
        host, port = peer[0], peer[1]
        hop = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        previous = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{previous},{hop}" if previous else hop
    return func.HttpRequest(
        method=request.method.upper(),
        url=str(request.url),
        headers=headers,
        params=join_multi(request.query, drop_empty=True),
        route_params=dict(route_params),
        body=body,
    )


class UnsupportedReturnValue(TypeError):
    """The function returned something the HTTP output binding cannot carry."""


def _default_content_type(mimetype: str, charset: str) -> str:
    return f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype


def from_function_response(response: func.HttpResponse) -> web.Response:
    """Turn a ``func.HttpResponse`` into an aiohttp response, keeping repeated headers."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in response.headers.items():
        if name.lower() in _FRAMING_HEADERS:
            continue
        headers.add(name, value)
    if "content-type" not in headers:
        headers["Content-Type"] = _default_content_type(response.mimetype, response.charset)
    status = int(response.status_code)
    body = response.get_body() or b""
    if status in _NO_BODY_STATUSES:
        headers.popall("Content-Type", None)
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, body=body, headers=headers)


_warned_json_returns: set[str] = set()


def from_return_value(value: Any, function_name: str) -> web.Response:
    """Map any value an HTTP function returned to a response.

    ``HttpResponse``, ``str`` and ``bytes`` are what the real worker accepts. ``dict``/``list`` are
    a devhost convenience (sent as JSON) and are logged once per function, because the real
    worker refuses them and the function would fail on Azure. ``None`` (no response set) gives an
    empty 204 here; do not rely on what Azure answers in that case.
    """
    if isinstance(value, func.HttpResponse):
        return from_function_response(value)
    if isinstance(value, str):
        return web.Response(status=200, body=value.encode("utf-8"),
                            headers={"Content-Type": "text/plain; charset=utf-8"})
    if isinstance(value, (bytes, bytearray, memoryview)):
        return web.Response(status=200, body=bytes(value), headers={"Content-Type": "application/octet-stream"})
    if isinstance(value, (dict, list)):
        if function_name not in _warned_json_returns:
            _warned_json_returns.add(function_name)
            log.warning("function %s returned a %s: devhost sends it as JSON, but the Azure Python worker "
                        "only accepts func.HttpResponse, str or bytes", function_name, type(value).__name__)
        return web.Response(status=200, body=json.dumps(value).encode("utf-8"),
                            headers={"Content-Type": "application/json; charset=utf-8"})
    if value is None:
        return web.Response(status=204)
    raise UnsupportedReturnValue(f"function {function_name} returned {type(value).__name__}, which an HTTP "
                                 "output binding cannot send")


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """The project's error shape, ``{"error": {"code", "message"}}``, for errors devhost itself raises."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return web.Response(status=status, body=body, headers=all_headers)
