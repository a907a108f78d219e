"""A bare aiohttp WebSocket client, for protocol details the SDKs hide (frames, close codes, replay)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from azure.messaging.webpubsubservice import WebPubSubServiceClient

RELIABLE = "json.reliable.webpubsub.azure.v1"
JSON = "json.webpubsub.azure.v1"


def client_url(service: WebPubSubServiceClient, **token_args: Any) -> str:
    return str(service.get_client_access_token(**token_args)["url"])


@asynccontextmanager
async def raw_socket(url: str, protocols: tuple[str, ...] = (RELIABLE,),
                     **kwargs: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url, protocols=protocols, **kwargs) as ws:
        yield ws


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> dict[str, Any]:
    msg = await ws.receive(timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {msg.type} {msg.data!r} {msg.extra!r}"
    data = json.loads(msg.data)
    assert isinstance(data, dict)
    return data


async def receive_close(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> int | None:
    """Skip text frames until the socket closes; returns the close code."""
    while True:
        msg = await ws.receive(timeout)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return ws.close_code
        if msg.type == aiohttp.WSMsgType.ERROR:
            return ws.close_code
