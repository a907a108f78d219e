"""The real-time ports over ``azure-messaging-webpubsubservice`` (Azure Web PubSub or devhost's emulator).

One SDK client per process (the composition root keeps this adapter), built on first use so the
SDK stays out of the cold start. Chat sessions map to groups ``session.<uuid>``; users map to Web
PubSub user ids (our user id as text). Every SDK failure is logged and raised as
``RealtimeUnavailable``: callers publish after their commit, so a failure never loses a message.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from application.ports.realtime import RealtimeUnavailable
from application.realtime.ports import ClientAccess

if TYPE_CHECKING:
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

log = logging.getLogger(__name__)

# Publishing sits on the chat hot path: fail fast rather than hold the event handler for long.
CONNECTION_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
_SDK_OPTIONS: dict[str, Any] = {"retry_total": 1, "connection_timeout": CONNECTION_TIMEOUT_SECONDS,
                                "read_timeout": READ_TIMEOUT_SECONDS}


def _transport_options() -> dict[str, Any]:
    """Without any proxy configured in the environment, the SDK gets our urllib3 transport (see
    ``urllib3_transport``: the default requests transport costs about a third of each call's CPU,
    and re-reads the proxy variables on every call). A CA bundle named the way requests reads it
    (``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``) is honoured. With a proxy configured, the default
    transport is kept: it knows how to use one."""
    import urllib.request

    if urllib.request.getproxies():
        return {}
    from infra.realtime.urllib3_transport import Urllib3Transport

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    # The transport carries the timeouts: azure-core gives a passed-in transport none of its options.
    return {"transport": Urllib3Transport(connection_timeout=CONNECTION_TIMEOUT_SECONDS,
                                          read_timeout=READ_TIMEOUT_SECONDS, ca_certs=bundle or None)}


def session_group(session_id: uuid.UUID) -> str:
    return f"session.{session_id}"


class WebPubSubGateway:
    """``RealtimePublisher`` + ``RealtimeMembership`` + ``RealtimeLiveness`` + ``ClientAccessIssuer``
    for one hub."""

    def __init__(self, *, hub: str, connection_string: str | None = None, endpoint: str | None = None) -> None:
        if not (connection_string or endpoint):
            raise ValueError("a connection string or an endpoint is required")
        self._hub = hub
        self._connection_string = connection_string
        self._endpoint = endpoint
        self._client: WebPubSubServiceClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> WebPubSubServiceClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _build_client(self) -> WebPubSubServiceClient:
        from azure.messaging.webpubsubservice import WebPubSubServiceClient

        if self._endpoint:  # identity-based (managed identity in Azure): wins over the connection string
            from azure.identity import DefaultAzureCredential

            return WebPubSubServiceClient(
                endpoint=self._endpoint, hub=self._hub, credential=DefaultAzureCredential(), **_SDK_OPTIONS,
                **_transport_options()
            )
        assert self._connection_string is not None
        return WebPubSubServiceClient.from_connection_string(self._connection_string, hub=self._hub, **_SDK_OPTIONS,
                                                             **_transport_options())

    def _fail(self, what: str, error: Exception) -> RealtimeUnavailable:
        log.warning("web pubsub %s failed: %s: %s", what, type(error).__name__, error)
        return RealtimeUnavailable("The real-time service is unavailable right now.")

    # RealtimePublisher

    def publish_to_session(
        self, session_id: uuid.UUID, event: str, data: Mapping[str, object], *, exclude_connection: str | None = None
    ) -> None:
        excluded = [exclude_connection] if exclude_connection else None
        try:
            self.client.send_to_group(
                session_group(session_id), _envelope(event, data), content_type="application/json", excluded=excluded
            )
        except Exception as error:  # any SDK/transport failure is the same to callers
            raise self._fail(f"publish {event} to session {session_id}", error) from error

    def publish_to_user(self, user_id: uuid.UUID, event: str, data: Mapping[str, object]) -> None:
        try:
            self.client.send_to_user(str(user_id), _envelope(event, data), content_type="application/json")
        except Exception as error:
            raise self._fail(f"publish {event} to user {user_id}", error) from error

    # RealtimeLiveness

    def connection_exists(self, connection_id: str) -> bool:
        try:
            return bool(self.client.connection_exists(connection_id))
        except Exception as error:
            raise self._fail(f"check connection {connection_id}", error) from error

    # RealtimeMembership

    def add_user_to_sessions(self, user_id: uuid.UUID, session_ids: Sequence[uuid.UUID]) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        for session_id in session_ids:
            try:
                self.client.add_user_to_group(session_group(session_id), str(user_id))
            except ResourceNotFoundError:
                continue  # the user has no live connection: their next "connected" joins the group
            except Exception as error:
                raise self._fail(f"add user {user_id} to session {session_id}", error) from error

    def add_connection_to_sessions(self, connection_id: str, session_ids: Sequence[uuid.UUID]) -> None:
        failed: Exception | None = None
        for session_id in session_ids:
            try:
                self.client.add_connection_to_group(session_group(session_id), connection_id)
            except Exception as error:  # try every session, then report once
                failed = error
        if failed is not None:
            raise self._fail(f"add connection {connection_id} to {len(session_ids)} sessions", failed)

    def remove_user_from_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        try:
            self.client.remove_user_from_group(session_group(session_id), str(user_id))
        except Exception as error:
            raise self._fail(f"remove user {user_id} from session {session_id}", error) from error

    # ClientAccessIssuer

    def client_access(self, user_id: uuid.UUID, *, minutes: int) -> ClientAccess:
        try:
            # No roles and no groups: the connection may only send events to our event handler.
            token = self.client.get_client_access_token(user_id=str(user_id), minutes_to_expire=minutes)
        except Exception as error:
            raise self._fail(f"client access token for user {user_id}", error) from error
        return ClientAccess(url=str(token["url"]), expires_in_seconds=minutes * 60)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _envelope(event: str, data: Mapping[str, object]) -> dict[str, Any]:
    """``{"type": event, **data}`` made JSON-safe (UUIDs, datetimes as text): the SDK JSON-encodes a
    mapping itself for ``application/json`` (a ``str`` would be encoded twice, as a JSON string)."""
    loaded: dict[str, Any] = json.loads(json.dumps({"type": event, **data}, default=str))
    return loaded
