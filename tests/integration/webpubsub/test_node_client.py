"""The official JS client (``@azure/web-pubsub-client``, run with node) against the emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.webpubsub import BackgroundEmulator
from tests.integration.webpubsub.clients import wait_until
from tests.integration.webpubsub.upstream_server import RecordingUpstream

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("node_client.mjs")
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _node_client_installed() -> None:
    """Skipped locally without ``npm ci``; in CI (``CI=true``) a missing client is a failure, never less testing."""
    if shutil.which("node") is None or not (PROJECT_ROOT / "node_modules/@azure/web-pubsub-client").exists():
        message = "node or @azure/web-pubsub-client missing: run npm ci"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


def _read_event(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise AssertionError(f"node exited early: {process.wait(5)} {process.stderr.read() if process.stderr else ''}")
    return dict(json.loads(line))


def test_js_client_joins_sends_gets_event_replies_and_recovers_exactly_once(
        service: WebPubSubServiceClient, upstream: RecordingUpstream, webpubsub_emulator: BackgroundEmulator,
        hub: str) -> None:
    upstream.rule = lambda r: (200, {"Content-Type": "text/plain"}, b"echo " + r.body) if r.event == "hello" else None
    url = service.get_client_access_token(user_id="js-user",
                                          roles=["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"])["url"]
    env = {**os.environ, "WPS_CLIENT_URL": url, "WPS_EXPECTED_GROUP_MESSAGES": "11"}
    process = subprocess.Popen(["node", str(SCRIPT)], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        connected = _read_event(process)
        assert connected["event"] == "connected" and connected["userId"] == "js-user"
        ready = _read_event(process)
        assert ready["event"] == "ready", ready
        connection_id = connected["connectionId"]
        assert webpubsub_emulator.cut(hub, connection_id)
        for i in range(10):
            service.send_to_group("room", f"m{i}", content_type="text/plain")
        done = _read_event(process)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert done["event"] == "done" and "timeout" not in done, done
    assert [m["data"] for m in done["groupMessages"]] == [{"from": "js"}, *[f"m{i}" for i in range(10)]]
    sequence_ids = [m["sequenceId"] for m in done["groupMessages"]]
    assert sequence_ids == sorted(set(sequence_ids)) and sequence_ids[-1] == 12  # 11 group + 1 server message
    assert done["groupMessages"][0]["fromUserId"] == "js-user"
    assert done["serverMessages"] == ["echo from js"]
    assert done["connectedCount"] == 1  # recovered, not reconnected
    [hello] = upstream.events("hello")
    assert hello.body == b"from js"
    wait_until(lambda: len(upstream.events("disconnected")) == 1, what="disconnected after stop")
