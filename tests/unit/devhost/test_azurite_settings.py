"""Deciding whether AzureWebJobsStorage points at a local Azurite (pure)."""

from __future__ import annotations

import pytest

from devhost.azurite import (
    DEV_ACCOUNT_KEY,
    AzuriteProcess,
    BlobEndpoint,
    connection_string_for,
    local_blob_endpoint,
    parse_connection_string,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("UseDevelopmentStorage=true", BlobEndpoint("127.0.0.1", 10000)),
    ("usedevelopmentstorage=TRUE;", BlobEndpoint("127.0.0.1", 10000)),
    ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;"
     "BlobEndpoint=http://127.0.0.1:10123/devstoreaccount1;", BlobEndpoint("127.0.0.1", 10123)),
    ("BlobEndpoint=http://localhost:10001/devstoreaccount1", BlobEndpoint("127.0.0.1", 10001)),
    ("BlobEndpoint=http://[::1]:10002/devstoreaccount1", BlobEndpoint("::1", 10002)),
    ("DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=k;EndpointSuffix=core.windows.net", None),
    ("BlobEndpoint=https://prod.blob.core.windows.net/", None),
    ("", None),
    (None, None),
])
def test_local_blob_endpoint(value: str | None, expected: BlobEndpoint | None) -> None:
    assert local_blob_endpoint(value) == expected


def test_connection_string_round_trip() -> None:
    value = connection_string_for(12345)
    parts = parse_connection_string(value)
    assert parts["accountname"] == "devstoreaccount1"
    assert parts["accountkey"] == DEV_ACCOUNT_KEY  # keys keep their '=' padding
    assert parts["blobendpoint"] == "http://127.0.0.1:12345/devstoreaccount1"
    assert value.endswith(";")


def test_command_flags(tmp_path: object) -> None:
    from pathlib import Path
    root = Path(str(tmp_path))
    (root / "node_modules" / ".bin").mkdir(parents=True)
    (root / "node_modules" / ".bin" / "azurite-blob").write_text("")
    in_memory = AzuriteProcess(port=1, project_root=root).command()
    assert "--inMemoryPersistence" in in_memory and "--skipApiVersionCheck" in in_memory
    assert "--disableTelemetry" in in_memory and "--silent" in in_memory
    on_disk = AzuriteProcess(port=1, project_root=root, location=root / "data").command()
    assert on_disk[-2:] == ["--location", str(root / "data")]
