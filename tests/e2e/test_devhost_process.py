"""``python -m devhost`` as a real process: starts, serves, prints its URLs, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.devhost import PROJECT_ROOT, StartDevhost

pytestmark = pytest.mark.e2e

APP = "tests.e2e.sample_function_app"


def _get(url: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback http only
        return resp.status, dict(resp.headers), resp.read()


def _wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int:
    return int(process.wait(timeout=timeout))


def test_serves_then_exits_zero_on_sigterm(start_devhost: StartDevhost) -> None:
    with start_devhost(APP, env={"DEVHOST_E2E_SETTING": "from-env"}) as (base_url, process):
        status, headers, body = _get(f"{base_url}/api/ping/Ada")
        assert status == 200
        assert json.loads(body) == {"pong": "Ada", "setting": "from-env"}
        assert headers["X-Request-Id"] == "e2e-1"

        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert _wait_exit(process, timeout=5) == 0
        assert time.monotonic() - started < 5

        output = Path(process.output_path).read_text()  # type: ignore[attr-defined]
    port = base_url.rsplit(":", 1)[1]
    # func start style listing, and one log line per request
    assert f"ping: [GET] http://127.0.0.1:{port}/api/ping/{{name?}}" in output
    assert "GET /api/ping/Ada -> 200" in output and "function=ping" in output and "request_id=e2e-1" in output
    assert "Traceback" not in output


def test_in_flight_request_finishes_on_sigint(start_devhost: StartDevhost) -> None:
    with start_devhost(APP) as (base_url, process):
        result: dict[str, object] = {}

        def call() -> None:
            result["response"] = _get(f"{base_url}/api/slow?seconds=1")

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        caller.join(10)
        assert result["response"][0] == 200  # type: ignore[index]
        assert result["response"][2] == b"done"  # type: ignore[index]
        assert _wait_exit(process, timeout=5) == 0


def test_port_in_use_is_a_clean_failure(start_devhost: StartDevhost) -> None:
    with start_devhost(APP) as (base_url, _process):
        port = base_url.rsplit(":", 1)[1]
        completed = subprocess.run([sys.executable, "-m", "devhost", "--app", APP, "--port", port, "--no-azurite"],
                                   cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert completed.returncode == 1
    assert "cannot listen" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_orchestration_through_the_launched_durable_host(start_devhost: StartDevhost) -> None:
    with start_devhost(APP) as (base_url, _process):
        request = urllib.request.Request(f"{base_url}/api/start/shout", data=b'"hey"', method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback http only
            assert resp.status == 202
            links = json.loads(resp.read())
        status: dict[str, object] = {}
        for _ in range(100):
            status = json.loads(_get(links["statusQueryGetUri"])[2])
            if status.get("runtimeStatus") == "Completed":
                break
            time.sleep(0.05)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == "HEY"


def test_worker_processes_never_join_a_port_someone_else_holds(start_devhost: StartDevhost) -> None:
    """With SO_REUSEPORT a second devhost could otherwise share the port and take half the traffic."""
    env = {**os.environ, "FUNCTIONS_WORKER_PROCESS_COUNT": "2"}
    with start_devhost(APP, env={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}) as (base_url, _process):
        port = base_url.rsplit(":", 1)[1]
        completed = subprocess.run([sys.executable, "-m", "devhost", "--app", APP, "--port", port, "--no-azurite"],
                                   cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30, env=env)
    assert completed.returncode == 1
    assert "cannot listen" in completed.stderr
    assert "Traceback" not in completed.stderr


def _fresh_get(base_url: str, path: str) -> bytes:
    """One request on its own connection (SO_REUSEPORT balances connections, not requests)."""
    request = urllib.request.Request(f"{base_url}{path}", headers={"Connection": "close"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback http only
        return bytes(resp.read())


def test_worker_process_count_spreads_requests_and_keeps_orchestrations_in_one_place(
    start_devhost: StartDevhost,
) -> None:
    with start_devhost(APP, env={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}) as (base_url, process):
        pids = {int(_fresh_get(base_url, "/api/pid")) for _ in range(80)}
        assert process.pid in pids and len(pids) == 2  # the primary and one HTTP worker both serve
        worker_pid = (pids - {process.pid}).pop()
        # Orchestrations started through either process run in the primary's durable host, and
        # their status links answer through either process too.
        for n in range(6):
            request = urllib.request.Request(  # noqa: S310 - loopback http only
                f"{base_url}/api/start/shout", data=json.dumps(f"hey {n}").encode(), method="POST",
                headers={"Content-Type": "application/json", "Connection": "close"})
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback http only
                assert resp.status == 202
                links = json.loads(resp.read())
            assert links["statusQueryGetUri"].startswith(base_url)
            status: dict[str, object] = {}
            for _ in range(100):
                status = json.loads(_fresh_get(base_url, links["statusQueryGetUri"][len(base_url):]))
                if status.get("runtimeStatus") == "Completed":
                    break
                time.sleep(0.05)
            assert status["output"] == f"HEY {n}".upper()

        process.send_signal(signal.SIGTERM)
        assert _wait_exit(process, 30) == 0
        output = Path(process.output_path).read_text()  # type: ignore[attr-defined]
        # The public port is the one announced (not the primary's private listener), once.
        assert f"devhost listening on {base_url} " in output and f"ping: [GET] {base_url}/api/ping" in output
        assert "[worker 1]" in output and "Traceback" not in output
        for _ in range(50):  # the worker went with it
            if not Path(f"/proc/{worker_pid}").exists():
                break
            time.sleep(0.1)
        assert not Path(f"/proc/{worker_pid}").exists()
