"""Builds a ``BlobServiceClient`` from the forms an Azure Functions storage setting can take.

- ``UseDevelopmentStorage=true``: the Azurite/emulator account on 127.0.0.1:10000.
- a connection string (``DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...``).
- a bare ``https://<account>.blob.core.windows.net`` URI: identity-based, authenticated with
  ``DefaultAzureCredential`` (managed identity on Azure) — what production should use.
"""

from __future__ import annotations

from typing import Any

# The storage emulator's well-known, public development account (documented by Microsoft).
DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
# Azurite accepts any API version with --skipApiVersionCheck; pinning one the emulator knows
# keeps the client working against a stock Azurite as well.
_EMULATOR_API_VERSION = "2025-01-05"


def blob_service_client(connection: str, *, timeout_seconds: float = 10.0) -> Any:
    from azure.storage.blob import BlobServiceClient

    options: dict[str, Any] = {
        "connection_timeout": timeout_seconds,
        "read_timeout": timeout_seconds,
        "retry_total": 1,
    }
    value = connection.strip()
    if value.lower().replace(" ", "") == "usedevelopmentstorage=true":
        value = DEVELOPMENT_STORAGE
    if value.lower().startswith("https://") and ";" not in value:
        from azure.identity import DefaultAzureCredential

        return BlobServiceClient(value, credential=DefaultAzureCredential(), **options)
    if "devstoreaccount1" in value:
        options["api_version"] = _EMULATOR_API_VERSION
    return BlobServiceClient.from_connection_string(value, **options)
