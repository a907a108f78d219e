"""Per-test hub names and an upstream bound to the session emulator."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.webpubsub import BackgroundEmulator, EventHandler
from tests.fixtures.webpubsub import TEST_ACCESS_KEY
from tests.integration.webpubsub.upstream_server import RecordingUpstream, run_upstream

_hub_numbers = itertools.count(1)


@pytest.fixture
def hub() -> str:
    """A fresh hub per test, so groups and connections never leak between tests."""
    return f"hub{next(_hub_numbers)}"


@pytest.fixture
def service(webpubsub_emulator: BackgroundEmulator, hub: str) -> WebPubSubServiceClient:
    return WebPubSubServiceClient.from_connection_string(webpubsub_emulator.connection_string, hub=hub)


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[RecordingUpstream]:
    with run_upstream(TEST_ACCESS_KEY) as upstream:
        yield upstream


@pytest.fixture
def upstream(_upstream_server: RecordingUpstream, webpubsub_emulator: BackgroundEmulator,
             hub: str) -> RecordingUpstream:
    """The test upstream, reset, as every event handler of this test's hub."""
    _upstream_server.requests.clear()
    _upstream_server.rule = None
    _upstream_server.allowed_origin = "*"
    _upstream_server.bad_signatures = 0
    _upstream_server.hub = hub
    webpubsub_emulator.set_hub(hub, (EventHandler(url=_upstream_server.url),))
    return _upstream_server
