"""Storage health probe: lists one container page of the account behind AzureWebJobsStorage.

The Functions runtime and Durable Functions cannot work without that account, so the health
endpoint reports it. The SDK is imported on first check, not at cold start (~0.6 s import).
"""

from __future__ import annotations

from typing import Any

from infra.blob.connection import blob_service_client


class StorageProbe:
    name = "storage"

    def __init__(self, connection: str, *, timeout_seconds: float) -> None:
        self._connection = connection
        self._timeout = timeout_seconds
        self._client: Any = None

    def check(self) -> None:
        if self._client is None:
            self._client = blob_service_client(self._connection, timeout_seconds=self._timeout)
        pages = self._client.list_containers(results_per_page=1, timeout=max(1, int(self._timeout))).by_page()
        next(iter(pages), None)
