"""Azurite started by devhost's helpers, checked with the official azure-storage-blob SDK."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from devhost.azurite import (
    AzuriteSupervisor,
    azurite_blob_executable,
    connection_string_for,
    free_port,
    port_is_open,
)

needs_azurite = pytest.mark.skipif(azurite_blob_executable() is None, reason="Azurite not installed (npm ci)")


def test_session_fixture_serves_blob_storage(azurite: str) -> None:
    assert "BlobEndpoint=http://127.0.0.1:" in azurite
    service = BlobServiceClient.from_connection_string(azurite)
    container = service.create_container(f"t{free_port()}")
    container.upload_blob("hello.txt", b"ol\xc3\xa1")
    assert container.download_blob("hello.txt").readall() == b"ol\xc3\xa1"


@needs_azurite
async def test_supervisor_starts_restarts_and_stops_azurite(tmp_path: Path) -> None:
    port = free_port()
    supervisor = AzuriteSupervisor(connection_string_for(port), data_dir=tmp_path / "azurite", max_restarts=1)
    await supervisor.start()
    try:
        assert supervisor.azurite is not None and port_is_open("127.0.0.1", port)
        assert (tmp_path / "azurite").is_dir()  # on-disk persistence under the data dir
        first = supervisor.azurite.process
        assert first is not None
        first.kill()  # Azurite dies on its own: the supervisor restarts it
        for _ in range(100):
            current = supervisor.azurite.process if supervisor.azurite else None
            if current is not None and current is not first and port_is_open("127.0.0.1", port):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("Azurite was not restarted")
    finally:
        await supervisor.stop()
    assert not port_is_open("127.0.0.1", port)


async def test_supervisor_reuses_whatever_listens_on_the_port(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        supervisor = AzuriteSupervisor(connection_string_for(port))
        with caplog.at_level(logging.INFO, logger="devhost.azurite"):
            await supervisor.start()
        assert supervisor.azurite is None
        assert "already listens" in caplog.text
        await supervisor.stop()


async def test_supervisor_warns_when_azurite_is_not_installed(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    supervisor = AzuriteSupervisor(connection_string_for(free_port()), project_root=tmp_path)
    with caplog.at_level(logging.WARNING, logger="devhost.azurite"):
        await supervisor.start()
    assert supervisor.azurite is None
    assert "npm ci" in caplog.text and "make run" in caplog.text
    await supervisor.stop()


async def test_supervisor_ignores_remote_storage(caplog: pytest.LogCaptureFixture) -> None:
    supervisor = AzuriteSupervisor("DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;"
                                   "EndpointSuffix=core.windows.net")
    await supervisor.start()
    assert supervisor.azurite is None
    await supervisor.stop()
