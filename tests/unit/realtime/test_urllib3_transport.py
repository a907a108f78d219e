"""The azure-core transport over urllib3: bytes in and out, failures as azure-core's exceptions."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from infra.realtime.urllib3_transport import Urllib3Transport


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/cut":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
            self.close_connection = True
            return
        if self.path == "/slow":
            threading.Event().wait(1.0)
        reply = json.dumps({"got": json.loads(body), "auth": self.headers.get("Authorization")}).encode()
        self.send_response(202 if self.path == "/accepted" else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_sends_the_request_and_returns_a_read_response(server: str) -> None:
    with Urllib3Transport() as transport:
        request = HttpRequest("POST", f"{server}/accepted", json={"a": "ção"}, headers={"Authorization": "Bearer t"})
        response = transport.send(request)
        assert response.status_code == 202
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"got": {"a": "ção"}, "auth": "Bearer t"}
        assert response.read() == response.content and response.is_closed


def test_an_error_status_is_a_response_not_an_exception(server: str) -> None:
    with Urllib3Transport() as transport:
        assert transport.send(HttpRequest("POST", f"{server}/other", json={})).status_code == 400


def test_nobody_listening_is_a_service_request_error_not_a_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with Urllib3Transport() as transport, pytest.raises(ServiceRequestError) as caught:
        transport.send(HttpRequest("POST", f"http://127.0.0.1:{port}/x", json={}), connection_timeout=1)
    assert not isinstance(caught.value, ServiceRequestTimeoutError)


def test_a_slow_answer_is_a_response_timeout(server: str) -> None:
    with Urllib3Transport() as transport, pytest.raises(ServiceResponseTimeoutError):
        transport.send(HttpRequest("POST", f"{server}/slow", json={}), read_timeout=0.2)


def test_a_cut_response_is_a_service_response_error(server: str) -> None:
    with Urllib3Transport() as transport, pytest.raises(ServiceResponseError):
        transport.send(HttpRequest("POST", f"{server}/cut", json={}))


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (a hung service)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    listener.close()


def test_the_sdk_gets_the_transports_own_timeouts(silent_server: str) -> None:
    """azure-core passes a given transport none of the client's timeout options: ours must apply."""
    key = "a2V5LWZvci10aGUtdHJhbnNwb3J0LXRlc3QtMDEyMzQ1Njc4OQ=="
    client = WebPubSubServiceClient.from_connection_string(
        f"Endpoint={silent_server};AccessKey={key};Version=1.0;", hub="chat", retry_total=0,
        transport=Urllib3Transport(connection_timeout=0.5, read_timeout=0.5))
    started = time.monotonic()
    with pytest.raises(ServiceResponseTimeoutError):
        client.send_to_group("g", {"a": 1}, content_type="application/json")
    assert time.monotonic() - started < 5


def test_a_thread_waiting_for_a_pooled_socket_gives_up_with_the_connect_timeout(silent_server: str) -> None:
    transport = Urllib3Transport(connection_timeout=0.3, read_timeout=3, pool_maxsize=1)
    outcome: list[BaseException] = []

    def hold_the_only_socket() -> None:
        try:
            transport.send(HttpRequest("POST", f"{silent_server}/x", json={}))
        except Exception as error:
            outcome.append(error)

    busy = threading.Thread(target=hold_the_only_socket)
    busy.start()
    time.sleep(0.2)  # the only pooled socket is now waiting for an answer that never comes
    started = time.monotonic()
    with pytest.raises(ServiceRequestTimeoutError):
        transport.send(HttpRequest("POST", f"{silent_server}/y", json={}))
    assert time.monotonic() - started < 2
    busy.join()
    assert len(outcome) == 1 and isinstance(outcome[0], ServiceResponseTimeoutError)
    transport.close()


def test_the_gateway_gives_its_transport_the_hot_path_timeouts(monkeypatch) -> None:
    from infra.realtime import webpubsub

    monkeypatch.setattr("urllib.request.getproxies", dict)
    transport = webpubsub._transport_options()["transport"]
    assert transport.connection_config.timeout == webpubsub.CONNECTION_TIMEOUT_SECONDS
    assert transport.connection_config.read_timeout == webpubsub.READ_TIMEOUT_SECONDS
