"""The emulator as a process: standalone (``python -m devhost.webpubsub``) and started by ``python -m devhost``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.child_process import free_port, port_is_open
from tests.fixtures.devhost import PROJECT_ROOT, StartDevhost, stop_process
from tests.fixtures.webpubsub import emulator_connection_string
from tests.integration.webpubsub.clients import sdk_client, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
APP = "tests.e2e.sample_function_app"


def _round_trip(connection_string: str) -> None:
    service = WebPubSubServiceClient.from_connection_string(connection_string, hub="chat")
    client, inbox = sdk_client(service, user_id="e2e")
    with client:
        inbox.connection_id()
        client.join_group("g")
        service.send_to_group("g", "through the process", content_type="text/plain")
        inbox.wait_for(lambda: inbox.data() == ["through the process"])


def test_standalone_process_serves_the_sdks_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    cs = emulator_connection_string(port)
    hubs = json.dumps({"chat": {"url": "http://127.0.0.1:1/{event}", "user_events": "", "system_events": []}})
    output = tmp_path / "emulator.log"
    with output.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "devhost.webpubsub", "--connection-string", cs,
                                    "--hubs", hubs], cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_is_open("127.0.0.1", port) or process.poll() is not None, what="the emulator")
        assert process.poll() is None, output.read_text()
        _round_trip(cs)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert f"Endpoint=http://localhost:{port};AccessKey=" in output.read_text()
    finally:
        stop_process(process)


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "devhost.webpubsub", "--connection-string", "nonsense"],
                            cwd=PROJECT_ROOT, capture_output=True, timeout=30, check=False)
    assert result.returncode == 2 and b"error" in result.stderr


def test_devhost_starts_the_emulator_for_a_loopback_connection_string(start_devhost: StartDevhost) -> None:
    port = free_port()
    cs = emulator_connection_string(port)
    with start_devhost(APP, env={"WebPubSubConnectionString": cs, "WEBPUBSUB_EMULATOR_HUBS": ""}):
        assert port_is_open("127.0.0.1", port)
        _round_trip(cs)
    assert not port_is_open("127.0.0.1", port)


def test_devhost_no_webpubsub_flag_and_remote_endpoints_start_nothing(start_devhost: StartDevhost) -> None:
    port = free_port()
    with start_devhost(APP, env={"WebPubSubConnectionString": emulator_connection_string(port)},
                       extra_args=["--no-webpubsub"]):
        assert not port_is_open("127.0.0.1", port)
    remote = "Endpoint=https://tagarela.webpubsub.azure.com;AccessKey=" + "k" * 44 + ";Version=1.0;"
    with start_devhost(APP, env={"WebPubSubConnectionString": remote}) as (_, process):
        pass
    assert "not starting the Web PubSub emulator" in Path(process.output_path).read_text()  # type: ignore[attr-defined]
