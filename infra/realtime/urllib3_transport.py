"""An azure-core ``HttpTransport`` straight over urllib3, for the Web PubSub SDK on the chat hot path.

Why: every chat message ends in one ``send_to_group`` call, and with the SDK's default
``RequestsTransport`` about a third of that call's CPU is spent inside ``requests`` (session and
environment merging, hooks, cookie jars) before urllib3 — which does the actual HTTP — is reached
(measured: ~1.4 ms of CPU per call with requests, ~0.9 ms with this transport, ~0.5 ms for urllib3
alone). The SDK stays in charge of everything that matters: the request it builds, the JWT it signs,
its retry and redirect policies and its error mapping. This class only moves bytes, which is what
azure-core's ``transport=`` option is for.

Deliberately small: no proxies (with a proxy configured, the gateway keeps the default transport),
no streaming downloads (the Web PubSub data-plane calls answer with small bodies, read whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import certifi
import urllib3
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

# azure-core's own transports build their responses on this class (the abstract
# ``azure.core.rest.HttpResponse`` leaves every method to the transport); pinned with azure-core.
from azure.core.rest._http_response_impl import HttpResponseImpl

DEFAULT_CONNECTION_TIMEOUT = 300.0  # azure-core's defaults; the gateway passes its own
DEFAULT_READ_TIMEOUT = 300.0


class Urllib3Transport(HttpTransport):  # type: ignore[type-arg]
    """Thread-safe (urllib3's pool is); one per SDK client, closed with it."""

    def __init__(self, *, pool_maxsize: int = 16, ca_certs: str | None = None) -> None:
        self._pool_maxsize = pool_maxsize
        self._ca_certs = ca_certs or certifi.where()
        self._pool: urllib3.PoolManager | None = None

    def __enter__(self) -> Urllib3Transport:
        self.open()
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def open(self) -> None:
        if self._pool is None:
            # block=True: more threads than pooled sockets wait for one instead of opening (and
            # then discarding) extra connections under a burst.
            self._pool = urllib3.PoolManager(maxsize=self._pool_maxsize, block=True, ca_certs=self._ca_certs,
                                             cert_reqs="CERT_REQUIRED")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
            self._pool = None

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponseImpl:  # type: ignore[override]
        self.open()
        assert self._pool is not None
        timeout = urllib3.Timeout(connect=kwargs.get("connection_timeout", DEFAULT_CONNECTION_TIMEOUT),
                                  read=kwargs.get("read_timeout", DEFAULT_READ_TIMEOUT))
        body = request.content
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            raw = self._pool.request(request.method, request.url, body=body, headers=dict(request.headers),
                                     timeout=timeout, retries=False, redirect=False, preload_content=True)
        except urllib3.exceptions.ConnectTimeoutError as error:
            raise ServiceRequestTimeoutError(error, error=error) from error
        except urllib3.exceptions.ReadTimeoutError as error:
            raise ServiceResponseTimeoutError(error, error=error) from error
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.SSLError) as error:
            raise ServiceRequestError(error, error=error) from error
        except urllib3.exceptions.HTTPError as error:  # ProtocolError, IncompleteRead, ...: mid-response
            raise ServiceResponseError(error, error=error) from error
        return _response(request, raw)


def _response(request: HttpRequest, raw: urllib3.BaseHTTPResponse) -> HttpResponseImpl:
    content = raw.data

    def whole_body(**_: Any) -> Iterator[bytes]:
        yield content

    response = HttpResponseImpl(request=request, internal_response=raw, status_code=raw.status, reason=raw.reason,
                                headers=raw.headers, content_type=raw.headers.get("Content-Type"),
                                stream_download_generator=whole_body)
    response._content = content  # read already (preload_content): the SDK never streams these calls
    response._is_stream_consumed = True
    response._is_closed = True
    return response
