"""Helpers to open official-SDK clients and raw sockets against the emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.messaging.webpubsubclient import WebPubSubClient, WebPubSubClientCredential
from azure.messaging.webpubsubclient.models import CallbackType
from azure.messaging.webpubsubservice import WebPubSubServiceClient

ALL_ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]


class Inbox:
    """Everything one SDK client received, as (kind, group, data, sequence_id)."""

    def __init__(self, client: WebPubSubClient) -> None:
        self.items: list[tuple[str, str | None, Any, int | None]] = []
        self.connected: list[str] = []
        self.disconnected: list[Any] = []
        client.subscribe(CallbackType.GROUP_MESSAGE,
                         lambda e: self.items.append(("group", e.group, e.data, e.sequence_id)))
        client.subscribe(CallbackType.SERVER_MESSAGE,
                         lambda e: self.items.append(("server", None, e.data, e.sequence_id)))
        client.subscribe(CallbackType.CONNECTED, lambda e: self.connected.append(e.connection_id))
        client.subscribe(CallbackType.DISCONNECTED, lambda e: self.disconnected.append(e))

    def connection_id(self, timeout: float = 10) -> str:
        """Wait for the ``connected`` callback (``open()`` returns at the handshake, before it)."""
        self.wait_for(lambda: bool(self.connected), timeout)
        return self.connected[-1]

    def data(self) -> list[Any]:
        return [item[2] for item in self.items]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {self.items}")
            time.sleep(0.02)


def sdk_client(service: WebPubSubServiceClient, *, user_id: str = "alice", roles: list[str] | None = None,
               groups: list[str] | None = None, **kwargs: Any) -> tuple[WebPubSubClient, Inbox]:
    """A ``WebPubSubClient`` whose credential negotiates a URL through the server SDK, like an app does."""
    def negotiate() -> str:
        return str(service.get_client_access_token(user_id=user_id, roles=ALL_ROLES if roles is None else roles,
                                                   groups=groups)["url"])

    # The SDK 1.1.0 waits for an ack on a condition variable it enters only after sending; an ack that
    # arrives first (a local service answers in microseconds) is a lost wake-up and the call sleeps for
    # the whole ack_timeout, then returns the right result. A short timeout keeps that cheap.
    kwargs.setdefault("ack_timeout", 2.0)
    client = WebPubSubClient(credential=WebPubSubClientCredential(negotiate), **kwargs)
    return client, Inbox(client)


def wait_until(predicate: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
