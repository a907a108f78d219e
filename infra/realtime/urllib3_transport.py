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

Timeouts belong to the transport: azure-core hands a client's ``connection_timeout`` and
``read_timeout`` options only to the transport it builds itself, so a transport passed with
``transport=`` must carry its own (a per-request option still wins). Waiting for a pooled socket is
bounded by the connection timeout too, so a hung service cannot park every publishing thread.
"""

from __future__ import annotations

import threading
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
# ``azure.core.rest.HttpResponse`` leaves every method to the transport): azure-core is pinned in
# requirements.txt, and tests/unit/realtime/test_urllib3_transport.py drives it through the SDK.
from azure.core.rest._http_response_impl import HttpResponseImpl

DEFAULT_CONNECTION_TIMEOUT = 300.0  # azure-core's defaults; the gateway sets its own
DEFAULT_READ_TIMEOUT = 300.0


class _ConnectionConfig:
    """The attribute azure-core's pipeline reads from a transport (``connection_config.timeout``)."""

    def __init__(self, timeout: float, read_timeout: float) -> None:
        self.timeout = timeout
        self.read_timeout = read_timeout


class Urllib3Transport(HttpTransport):  # type: ignore[type-arg]
    """Thread-safe (urllib3's pool is); one per SDK client, closed with it."""

    def __init__(self, *, connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
                 read_timeout: float = DEFAULT_READ_TIMEOUT, pool_maxsize: int = 16,
                 ca_certs: str | None = None) -> None:
        self.connection_config = _ConnectionConfig(connection_timeout, read_timeout)
        self._pool_maxsize = pool_maxsize
        self._ca_certs = ca_certs or certifi.where()
        self._pool: urllib3.PoolManager | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Urllib3Transport:
        self.open()
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def open(self) -> None:
        self._open_pool()

    def _open_pool(self) -> urllib3.PoolManager:
        with self._lock:
            if self._pool is None:
                # block=True: more threads than pooled sockets wait (bounded, see send) for one
                # instead of opening and then discarding extra connections under a burst.
                self._pool = urllib3.PoolManager(maxsize=self._pool_maxsize, block=True, ca_certs=self._ca_certs,
                                                 cert_reqs="CERT_REQUIRED")
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.clear()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponseImpl:  # type: ignore[override]
        pool = self._open_pool()
        connect = kwargs.get("connection_timeout", self.connection_config.timeout)
        timeout = urllib3.Timeout(connect=connect, read=kwargs.get("read_timeout", self.connection_config.read_timeout))
        body = request.content
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            raw = pool.request(request.method, request.url, body=body, headers=dict(request.headers), timeout=timeout,
                               retries=False, redirect=False, preload_content=True, pool_timeout=connect)
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.SSLError) as error:
            # Before ConnectTimeoutError: in urllib3 2 a refused connection is a subclass of it.
            raise ServiceRequestError(error, error=error) from error
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.EmptyPoolError) as error:
            raise ServiceRequestTimeoutError(error, error=error) from error
        except urllib3.exceptions.ReadTimeoutError as error:
            raise ServiceResponseTimeoutError(error, error=error) from error
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
