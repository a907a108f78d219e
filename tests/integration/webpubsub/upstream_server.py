"""A small event handler for tests: records every request, verifies the signature, answers by rule."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

from devhost.child_process import free_port


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers.get("ce-eventName", "")


Reply = tuple[int, dict[str, str], bytes]
Rule = Callable[[Recorded], Reply | None]


@dataclass
class RecordingUpstream:
    access_key: str
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    rule: Rule | None = None
    allowed_origin: str | None = "*"
    bad_signatures: int = 0
    hub: str | None = None  # only this hub's events count (a late event of an earlier test is ignored)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events/{{hub}}/{{event}}"

    def events(self, name: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and (name is None or r.event == name)
                and (self.hub is None or r.headers.get("ce-hub") == self.hub)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; recorded: {[(r.method, r.event) for r in self.requests]}")
            time.sleep(0.02)

    def signature_ok(self, request: Recorded) -> bool:
        expected = "sha256=" + hmac.new(self.access_key.encode(), request.headers["ce-connectionId"].encode(),
                                        hashlib.sha256).hexdigest()
        return expected in request.headers.get("ce-signature", "").split(",")

    async def _handle(self, request: web.Request) -> web.Response:
        recorded = Recorded(request.method, request.path, dict(request.headers.items()),
                            await request.read())
        self.requests.append(recorded)
        if request.method == "OPTIONS":
            headers = {"WebHook-Allowed-Origin": self.allowed_origin} if self.allowed_origin else {}
            return web.Response(status=200, headers=headers)
        if not self.signature_ok(recorded):
            self.bad_signatures += 1
            return web.Response(status=401)
        reply = self.rule(recorded) if self.rule else None
        if reply is None:
            return web.Response(status=204)
        status, headers, body = reply
        return web.Response(status=status, headers=headers, body=body)


@contextmanager
def run_upstream(access_key: str) -> Iterator[RecordingUpstream]:
    upstream = RecordingUpstream(access_key=access_key, port=free_port())
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream._handle)
    runner = web.AppRunner(app, access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", upstream.port).start()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield upstream
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
