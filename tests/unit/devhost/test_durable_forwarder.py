"""An HTTP worker's forwarding of durable management calls to the primary devhost process."""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web

from devhost.durable.http_api import MOUNT
from devhost.worker_processes import DurableForwarder


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _worker(primary_url: str) -> tuple[web.AppRunner, str]:
    app = web.Application()
    DurableForwarder(primary_url, "Hub").attach(app)
    return await _serve(app)


async def test_requests_and_answers_pass_through_with_repeated_headers_and_the_host() -> None:
    async def echo(request: web.Request) -> web.Response:
        response = web.json_response({"path": request.path_qs, "host": request.host,
                                      "x": request.headers.getall("X-A"), "body": (await request.read()).decode()},
                                     status=202)
        response.headers.add("X-B", "1")
        response.headers.add("X-B", "2")
        return response

    primary = web.Application()
    primary.router.add_route("*", MOUNT + "/{path:.*}", echo)
    primary_runner, primary_url = await _serve(primary)
    worker_runner, worker_url = await _worker(primary_url)
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{worker_url}{MOUNT}/instances/abc?code=x", data=b"payload",
                headers=[("X-A", "1"), ("X-A", "2")]) as resp:
            assert resp.status == 202
            assert resp.headers.getall("X-B") == ["1", "2"]
            got = await resp.json()
        assert got == {"path": f"{MOUNT}/instances/abc?code=x", "host": worker_url.removeprefix("http://"),
                       "x": ["1", "2"], "body": "payload"}
    finally:
        await worker_runner.cleanup()
        await primary_runner.cleanup()


async def test_a_primary_that_is_gone_is_a_json_502() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: nobody listens
    worker_runner, worker_url = await _worker(dead)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{worker_url}{MOUNT}/instances/abc") as resp:
            assert resp.status == 502
            assert (await resp.json())["error"]["code"] == "durable_host_unreachable"
    finally:
        await worker_runner.cleanup()
