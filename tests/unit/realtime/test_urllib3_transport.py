"""The azure-core transport over urllib3: bytes in and out, failures as azure-core's exceptions."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError, ServiceResponseTimeoutError
from azure.core.rest import HttpRequest

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


def test_nobody_listening_is_a_service_request_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with Urllib3Transport() as transport, pytest.raises(ServiceRequestError):
        transport.send(HttpRequest("POST", f"http://127.0.0.1:{port}/x", json={}), connection_timeout=1)


def test_a_slow_answer_is_a_response_timeout(server: str) -> None:
    with Urllib3Transport() as transport, pytest.raises(ServiceResponseTimeoutError):
        transport.send(HttpRequest("POST", f"{server}/slow", json={}), read_timeout=0.2)


def test_a_cut_response_is_a_service_response_error(server: str) -> None:
    with Urllib3Transport() as transport, pytest.raises(ServiceResponseError):
        transport.send(HttpRequest("POST", f"{server}/cut", json={}))
